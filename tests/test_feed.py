"""lob.feed: MoldUDP64 over loopback with lossless recovery, backpressure,
a publisher killed mid-stream, malformed datagrams, and the CLI pair.

Every run is bounded (timeouts of a few seconds) and uses 127.0.0.1 only.
The reference is lob.io.replay_itch of the same file: the books the feed
builds must be byte-for-byte the same (OrderBook.snapshot)."""
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import lob
import lob.io
from lob.errors import ParseError
from lob.feed import TOP_HEADER, Listener, Publisher, parse_session

SESSION = b"TEST000001"
LOB = [sys.executable, "-m", "lob"]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def itch_file(tmp_path_factory):
    """Three stocks, every book message type (A, E, X, D, U, P), ~12k messages."""
    streams = {
        "AAPL": lob.synth.generate(6000, seed=1, target_orders=300, p_reduce=0.1, p_modify=0.05, p_trade=0.03),
        "MSFT": lob.synth.generate(4000, seed=2, target_orders=300, p_modify=0.1, first_id=10**7),
        "NVDA": lob.synth.generate(2000, seed=3, target_orders=200, first_id=2 * 10**7),
    }
    path = tmp_path_factory.mktemp("feed") / "day.itch"
    lob.synth.write_itch(streams, path)
    return path


@pytest.fixture(scope="module")
def reference(itch_file):
    books, rejected = lob.io.replay_itch(itch_file)
    assert not rejected
    return {symbol: book.snapshot().tobytes() for symbol, book in books.items()}


def messages_of(path):
    blob = path.read_bytes()
    out, pos = [], 0
    while pos < len(blob):
        (n,) = struct.unpack_from(">H", blob, pos)
        out.append(blob[pos:pos + 2 + n])
        pos += 2 + n
    return out


def assert_same_books(listener, reference):
    books = listener.books
    assert sorted(books) == sorted(reference)
    for symbol, book in books.items():
        book.check()
        assert book.snapshot().tobytes() == reference[symbol], symbol


def assert_lossless(stats, n_messages):
    assert stats.done and stats.lost == 0
    assert stats.messages == n_messages and stats.next_seq == n_messages + 1
    assert stats.gap_messages == stats.recovered          # every hole filled, none given up
    assert sum(stats.malformed.values()) == 0 and stats.bad_messages == 0 and not stats.rejected


@pytest.mark.parametrize("drop", [0.01, 0.05])
def test_lossless_under_drops_reordering_and_duplicates(itch_file, reference, drop):
    n = len(messages_of(itch_file))
    with Listener(0, free_port(), session="TEST000001", reorder_grace=0.0005, request_timeout=0.01,
                  give_up=5.0) as lst, \
            Publisher(itch_file, lst.port, lst.request_port, session="TEST000001", rate=400_000, drop=drop,
                      reorder=0.03, duplicate=0.03, seed=7, packet_size=600, linger=0.3) as pub:
        assert lst.run(timeout=20, idle_timeout=5)
        sent = pub.stats()
    stats = lst.stats()
    assert_lossless(stats, n)
    assert sent["dropped"] > 0 and sent["reordered"] > 0 and sent["duplicated"] > 0
    assert stats.gaps > 0 and stats.recovered > 0 and stats.duplicates > 0 and stats.requests > 0
    assert stats.latency_ns["count"] == n
    assert 0 < stats.latency_ns["p50"] <= stats.latency_ns["p99"] <= stats.latency_ns["max"]
    assert lst.summary() == f"messages {n}, gaps {stats.gaps}, recovered {stats.recovered}, lost 0"
    assert_same_books(lst, reference)


def test_drops_are_seeded(itch_file):
    # the same seed drops the same packets: the counts repeat, timing aside
    counts = []
    for _ in range(2):
        with Publisher(itch_file, free_port(), 0, drop=0.2, reorder=0.1, duplicate=0.1, seed=3,
                       linger=0.0) as pub:
            assert pub.wait(10)
            s = pub.stats()
        counts.append((s["packets"], s["dropped"], s["reordered"], s["duplicated"]))
    assert counts[0] == counts[1] and counts[0][1] > 0


def test_producer_ten_times_faster_than_consumer(itch_file, reference):
    """A ring of 1,024 messages and a consumer at a tenth of the publisher's
    rate: the ring fills, the receive thread waits (never drops), the
    consumer catches up, nothing is lost."""
    n = len(messages_of(itch_file))
    rate = 60_000
    with Listener(0, free_port(), ring_size=1024, max_batch=256) as lst, \
            Publisher(itch_file, lst.port, lst.request_port, rate=rate, linger=0.3) as pub:
        def slow(listener, applied):     # the strategy takes 10x longer than the feed
            time.sleep(applied / (rate / 10))
        t0 = time.monotonic()
        assert lst.run(slow, timeout=30, idle_timeout=10)
        elapsed = time.monotonic() - t0
        pub_stats = pub.stats()
    stats = lst.stats()
    assert_lossless(stats, n)
    assert stats.high_water == stats.ring_size == 1024
    assert stats.blocked_s > 0
    assert elapsed > 5 * n / rate                     # the consumer really was the slow side
    assert pub_stats["dropped"] == 0
    assert_same_books(lst, reference)


def test_ring_overflow_with_holes_is_requested_again(itch_file, reference):
    """A tiny ring, drops, and a fast publisher: packets that land past the
    ring while it has a hole are discarded and requested later, not lost."""
    n = len(messages_of(itch_file))
    with Listener(0, free_port(), ring_size=256, max_batch=64, reorder_grace=0.0, request_timeout=0.005,
                  give_up=10.0) as lst, \
            Publisher(itch_file, lst.port, lst.request_port, rate=300_000, drop=0.05, seed=11,
                      packet_size=400, linger=0.5) as pub:
        def slow(listener, applied):
            time.sleep(applied * 2e-5)
        assert lst.run(slow, timeout=30, idle_timeout=10)
        del pub
    stats = lst.stats()
    assert_lossless(stats, n)
    assert stats.overflow > 0 and stats.high_water <= 256
    assert_same_books(lst, reference)


def test_late_join_recovers_the_start(itch_file, reference):
    """The listener starts after the publisher: everything before its first
    packet is a gap, requested from the server (start_seq=1)."""
    n = len(messages_of(itch_file))
    req = free_port()
    port = free_port()
    with Publisher(itch_file, port, req, rate=40_000, linger=0.5) as pub:
        time.sleep(0.1)
        assert 0 < pub.next_seq < n
        with Listener(port, req) as lst:
            assert lst.run(timeout=20, idle_timeout=5)
    stats = lst.stats()
    assert_lossless(stats, n)
    assert stats.gaps >= 1 and stats.recovered > 0
    assert_same_books(lst, reference)


def test_start_from_first_packet_seen(itch_file):
    n = len(messages_of(itch_file))
    req, port = free_port(), free_port()
    with Publisher(itch_file, port, req, rate=40_000, linger=0.2) as pub:
        time.sleep(0.1)
        with Listener(port, req, start_seq=0) as lst:
            assert lst.run(timeout=20, idle_timeout=5)
    stats = lst.stats()
    assert stats.lost == 0 and stats.recovered == stats.gap_messages
    first = n + 1 - stats.messages
    assert 1 < first <= n and stats.next_seq == n + 1


def wait_for(predicate, timeout, what):
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def test_publisher_killed_and_restarted(itch_file, reference):
    """`lob feed serve` is killed (SIGKILL) mid-stream and restarted at a
    later sequence number: the listener recovers the messages in between
    from the new server, by sequence number, and loses none."""
    n = len(messages_of(itch_file))
    req = free_port()
    with Listener(0, req, request_timeout=0.02, give_up=10.0) as lst:
        serve = [*LOB, "feed", "serve", str(itch_file), "--port", str(lst.port), "--request-port", str(req),
                 "--rate", "20000", "--linger", "0.3"]
        first = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            t0 = time.monotonic()
            while lst.next_seq < n // 4:
                lst.poll(0.01)
                assert time.monotonic() - t0 < 15, "the first publisher never got going"
            first.send_signal(signal.SIGKILL)
            first.wait(5)
        finally:
            if first.poll() is None:
                first.kill()
        # what the first one sent may still sit in the socket buffer: apply it
        # until nothing moves for 10 polls, so `seen` is all it delivered
        seen, still = lst.next_seq, 0
        while still < 10:
            lst.poll(0.01)
            still = still + 1 if lst.next_seq == seen else 0
            seen = lst.next_seq
        restart_at = seen + n // 4       # beyond what the first one sent: a gap to request
        second = subprocess.run(serve + ["--start-seq", str(restart_at)], capture_output=True, text=True,
                                timeout=30, check=False)
        # the listener's socket buffer holds the second run's stream; apply it
        assert lst.run(timeout=10, idle_timeout=3)
    assert second.returncode == 0, second.stderr
    stats = lst.stats()
    assert_lossless(stats, n)
    assert stats.gaps >= 1 and stats.recovered >= restart_at - seen - 1
    answered = int(re.search(r"answered ([\d,]+) requests", second.stdout).group(1).replace(",", ""))
    assert answered > 0
    assert_same_books(lst, reference)


def datagram(seq, blocks, session=SESSION, count=None):
    body = b"".join(blocks)
    return session + struct.pack(">QH", seq, len(blocks) if count is None else count) + body


def test_malformed_datagrams_are_counted_and_skipped(itch_file, reference):
    msgs = messages_of(itch_file)
    n = len(msgs)
    with Listener(0, free_port(), session=SESSION, give_up=5.0) as lst, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        to = ("127.0.0.1", lst.port)
        bad = [
            b"short",                                                      # short header
            SESSION[:5],                                                   # short header
            datagram(1, msgs[0:3], session=b"OTHERSESS1"),                 # wrong session
            datagram(1, msgs[0:3], count=5),                               # count past the end
            datagram(1, msgs[0:3], count=3)[:-4],                          # last block cut short
            datagram(1, msgs[0:3]) + b"\x00",                              # trailing byte
            datagram(0, msgs[0:3]),                                        # sequence 0
            SESSION + struct.pack(">QH", 1, 1) + b"\xff\xff" + b"x" * 10,  # block length past the end
            datagram(2**40, msgs[0:3]),                                    # a jump no feed makes
        ]
        step = 20
        for k, start in enumerate(range(0, n, step)):
            tx.sendto(datagram(start + 1, msgs[start:start + step]), to)
            if k < len(bad):
                tx.sendto(bad[k], to)
        tx.sendto(datagram(n + 1, [], count=0xFFFF), to)                  # end of session
        assert lst.run(timeout=10, idle_timeout=3)
    stats = lst.stats()
    assert stats.malformed == {"short": 2, "wrong_session": 1, "truncated": 3, "trailing": 1,
                               "bad_sequence": 2}
    assert stats.lost == 0 and stats.messages == n and stats.bad_messages == 0
    assert_same_books(lst, reference)


def test_bad_itch_messages_in_sequence_are_skipped(itch_file):
    """Messages the ITCH parser would refuse (unknown type, wrong length, bad
    side) take their sequence number and are counted, not applied."""
    msgs = messages_of(itch_file)[:200]
    bad_side = bytearray(next(m for m in msgs if m[2:3] == b"A"))
    bad_side[2 + 19] = ord("X")
    extra = [b"\x00\x05Zabcd", struct.pack(">H", 3) + b"A\x00\x01", bytes(bad_side)]
    with Listener(0, free_port(), session=SESSION) as lst, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        stream = msgs[:100] + extra + msgs[100:]
        tx.sendto(datagram(1, stream[:60]), ("127.0.0.1", lst.port))
        tx.sendto(datagram(61, stream[60:]), ("127.0.0.1", lst.port))
        tx.sendto(datagram(len(stream) + 1, [], count=0xFFFF), ("127.0.0.1", lst.port))
        assert lst.run(timeout=10, idle_timeout=3)
    stats = lst.stats()
    assert stats.bad_messages == 3 and stats.messages == len(msgs) and stats.lost == 0


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), window=st.integers(1, 12), dup=st.floats(0, 0.5))
def test_any_arrival_order_gives_the_same_books(itch_file, reference, seed, window, dup):
    """Every packet arrives (some twice), in an order shuffled within a
    window: with no request server at all, the books equal the replay."""
    msgs = messages_of(itch_file)
    rng = random.Random(seed)
    packets, seq = [], 1
    while seq <= len(msgs):
        k = rng.randint(1, 40)
        packets.append(datagram(seq, msgs[seq - 1:seq - 1 + k]))
        seq += len(msgs[seq - 1:seq - 1 + k])
    order = []
    for i in range(0, len(packets), window):
        chunk = packets[i:i + window]
        rng.shuffle(chunk)
        order += chunk + [p for p in chunk if rng.random() < dup]
    with Listener(0, free_port(), session=SESSION, reorder_grace=1.0) as lst, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for p in order:
            tx.sendto(p, ("127.0.0.1", lst.port))
        tx.sendto(datagram(len(msgs) + 1, [], count=0xFFFF), ("127.0.0.1", lst.port))
        assert lst.run(timeout=10, idle_timeout=3)
    stats = lst.stats()
    assert stats.lost == 0 and stats.messages == len(msgs) and stats.recovered == stats.gap_messages
    assert stats.duplicates == sum(len(messages_of_packet(p)) for p in order) - len(msgs)
    assert_same_books(lst, reference)


def messages_of_packet(packet):
    return [None] * struct.unpack_from(">H", packet, 18)[0]


def test_unanswered_gap_is_given_up_and_counted_lost(itch_file):
    msgs = messages_of(itch_file)[:50]
    with Listener(0, free_port(), session=SESSION, request_timeout=0.02, give_up=0.2) as lst, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        to = ("127.0.0.1", lst.port)
        tx.sendto(datagram(1, msgs[:20]), to)
        tx.sendto(datagram(25, msgs[24:]), to)                    # 21..24 never come
        tx.sendto(datagram(51, [], count=0xFFFF), to)
        assert lst.run(timeout=10, idle_timeout=3)
    stats = lst.stats()
    assert stats.lost == 4 and stats.messages == 46 and stats.gaps == 1 and stats.gap_messages == 4
    assert stats.requests >= 2 and stats.recovered == 0
    assert lst.summary() == "messages 46, gaps 1, recovered 0, lost 4"


def test_stop_before_the_end_counts_the_missing_as_lost(itch_file):
    """Stopping early (what `lob feed listen` does after its time-out) applies
    what is ready and counts every message known to exist and not applied as
    lost; a message given up earlier is not counted twice."""
    msgs = messages_of(itch_file)[:40]
    with Listener(0, free_port(), session=SESSION, request_timeout=0.01, give_up=0.05) as lst, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        to = ("127.0.0.1", lst.port)
        tx.sendto(datagram(1, msgs[:10]), to)
        tx.sendto(datagram(12, msgs[11:20]), to)          # 11 is missing: given up after 0.05 s
        wait_for(lambda: lst.poll(0.01) >= 0 and lst.next_seq == 21, 5, "the first 20 messages")
        tx.sendto(datagram(41, [], count=0), to)          # a heartbeat: 21..40 exist
        wait_for(lambda: lst.stats().packets == 3, 5, "the heartbeat")
        assert not lst.run(timeout=0.2, idle_timeout=5)
        lst.stop(give_up=True)
    stats = lst.stats()
    assert not stats.done and stats.messages == 19 and stats.lost == 1 + 20
    assert lst.summary() == "messages 19, gaps 2, recovered 0, lost 21"


def test_callback_sees_every_message_and_the_books(itch_file):
    n = len(messages_of(itch_file))
    seen = []
    with Listener(0, free_port()) as lst, Publisher(itch_file, lst.port, lst.request_port, linger=0.2):
        def on_batch(listener, applied):
            seen.append(applied)
            for symbol in listener.last_symbols:
                listener.book(symbol).microprice()
        assert lst.run(on_batch, timeout=10, idle_timeout=5)
        assert lst.directory and set(lst.directory.values()) == {"AAPL", "MSFT", "NVDA"}
        assert lst.session == "0000000001"
    assert sum(seen) == n


def test_symbols_filter(itch_file, reference):
    with Listener(0, free_port(), symbols=["MSFT"]) as lst, \
            Publisher(itch_file, lst.port, lst.request_port, linger=0.2):
        assert lst.run(timeout=10, idle_timeout=5)
    assert list(lst.books) == ["MSFT"] and lst.books["MSFT"].snapshot().tobytes() == reference["MSFT"]
    with pytest.raises(KeyError, match="AAPL"):
        lst.book("AAPL")


def test_bad_arguments():
    with pytest.raises(ValueError, match="session"):
        parse_session("ELEVENCHARS")
    with pytest.raises(ValueError, match="session"):
        parse_session("")
    assert parse_session("AB") == b"AB        "
    with pytest.raises(ValueError, match="port"):
        Listener(70000, 1)
    with pytest.raises(ValueError, match="request_port"):
        Listener(0, 0)
    with pytest.raises(ValueError, match="ring_size"):
        Listener(0, 1, ring_size=4)
    with pytest.raises(TypeError, match="port"):
        Listener("1", 1)
    with pytest.raises(ValueError, match="give_up"):
        Listener(0, 1, give_up=-1)
    with pytest.raises(ValueError, match="drop"):
        Publisher(b"", 1, drop=1.5)
    with pytest.raises(ValueError, match="start_seq"):
        Publisher(b"\x00\x01S", 1, start_seq=3)
    with pytest.raises(OSError, match="cannot bind"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            Listener(s.getsockname()[1], 1)


def test_truncated_file_names_the_offset(tmp_path):
    path = tmp_path / "cut.itch"
    path.write_bytes(b"\x00\x02ab\x00\x05abc")
    with pytest.raises(ParseError, match=r"cut.itch: byte offset 4") as info:
        Publisher(path, 1)
    assert info.value.offset == 4


# -- the CLI ------------------------------------------------------------------

def run_lob(*args, timeout=30):
    return subprocess.run([*LOB, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_cli_serve_and_listen(itch_file, tmp_path):
    n = len(messages_of(itch_file))
    port, req = free_port(), free_port()
    top = tmp_path / "top.csv"
    listen = subprocess.Popen([*LOB, "feed", "listen", "--port", str(port), "--request-port", str(req),
                               "--top", str(top), "--timeout", "30"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.7)                  # the listener binds before the stream starts (else: a late join)
        served = run_lob("feed", "serve", itch_file, "--port", port, "--request-port", req, "--drop", "0.05",
                         "--rate", "100000", "--linger", "0.5")
        out, err = listen.communicate(timeout=30)
    finally:
        if listen.poll() is None:
            listen.kill()
    assert served.returncode == 0, served.stderr
    assert re.fullmatch(r"sent [\d,]+ messages in [\d,]+ packets \([\d,]+ dropped on purpose\), answered "
                        r"[\d,]+ requests \([\d,]+ messages resent\)\n", served.stdout)
    assert listen.returncode == 0, err
    match = re.fullmatch(r"messages (\d+), gaps (\d+), recovered (\d+), lost (\d+)\n", out)
    assert match, out
    assert int(match[1]) == n and int(match[2]) > 0 and int(match[3]) > 0 and match[4] == "0"
    books, _ = lob.io.replay_itch(itch_file)
    expected = [TOP_HEADER] + [
        f"{s},{'' if b.best_bid is None else b.best_bid},{b.best_bid_qty},"
        f"{'' if b.best_ask is None else b.best_ask},{b.best_ask_qty}" for s, b in sorted(books.items())]
    assert top.read_text().splitlines() == expected


def test_cli_listen_exits_nonzero_when_messages_are_lost(itch_file, tmp_path):
    msgs = messages_of(itch_file)[:30]
    port, req = free_port(), free_port()
    listen = subprocess.Popen([*LOB, "feed", "listen", "--port", str(port), "--request-port", str(req),
                               "--session", SESSION.decode(), "--give-up", "0.2", "--timeout", "10",
                               "--top", str(tmp_path / "top.csv")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.7)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            tx.sendto(datagram(1, msgs[:10]), ("127.0.0.1", port))
            tx.sendto(datagram(15, msgs[14:]), ("127.0.0.1", port))
            for _ in range(3):
                tx.sendto(datagram(31, [], count=0xFFFF), ("127.0.0.1", port))
        out, err = listen.communicate(timeout=20)
    finally:
        if listen.poll() is None:
            listen.kill()
    assert out == "messages 26, gaps 1, recovered 0, lost 4\n"
    assert listen.returncode == 1 and "Traceback" not in err
    assert (tmp_path / "top.csv").read_text().startswith(TOP_HEADER + "\n")


def test_cli_listen_stops_when_the_stream_is_silent():
    done = run_lob("feed", "listen", "--port", free_port(), "--request-port", free_port(), "--idle-timeout", "0.3")
    assert done.stdout == "messages 0, gaps 0, recovered 0, lost 0\n"
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "before the end of session" in done.stderr


@pytest.mark.parametrize("args, message", [
    (["feed", "serve", "missing.itch", "--port", "1", "--request-port", "2"], "no such file"),
    (["feed", "serve", "{empty}", "--port", "1", "--request-port", "2"], "the file is empty"),
    (["feed", "serve", "{itch}", "--port", "99999", "--request-port", "2"], "port must be in"),
    (["feed", "serve", "{itch}", "--port", "1", "--request-port", "2", "--drop", "2"], "drop must be in"),
    (["feed", "serve", "{itch}", "--port", "1", "--request-port", "2", "--rate", "x"], "not a number"),
    (["feed", "listen", "--port", "1", "--request-port", "2", "--session", "ELEVENCHARS"], "session must be"),
    (["feed", "listen", "--port", "x", "--request-port", "2"], "not an integer"),
    (["feed", "listen", "--request-port", "2"], "--port"),
    (["feed", "listen", "--port", "1", "--request-port", "2", "--timeout", "0"], "--timeout must be > 0"),
])
def test_cli_bad_input_one_line(itch_file, args, message, tmp_path):
    empty = tmp_path / "empty.itch"
    empty.write_bytes(b"")
    done = run_lob(*[a.format(itch=itch_file, empty=empty) for a in args])
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"lob feed {args[1]}")          # the subcommand is named
