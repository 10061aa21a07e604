"""lob.feed: a live ITCH 5.0 feed over MoldUDP64, with lossless recovery.

    from lob.feed import Listener
    with Listener(port=30001, request_port=30002) as feed:
        feed.run(on_batch=lambda f, n: print(f.books["AAPL"].microprice()))
        print(feed.summary())        # messages M, gaps G, recovered R, lost L

`Listener` joins a MoldUDP64 stream (NASDAQ's protocol specification V 1.00:
a 20-byte header of session, sequence number of the first message and
message count; 0 = heartbeat, 0xFFFF = end of session; each message a u16
big-endian length + payload), applies every message once, in sequence order,
to one OrderBook per stock, and asks the re-request server for whatever the
network lost.  `Publisher` sends an ITCH file that way, answers requests, and
drops, reorders or duplicates packets on purpose for tests.

Threads: the listener's receive thread and the publisher's two threads are C
(lob._feed: src/lob_moldrx.h, src/lob_moldtx.h) and never hold the GIL.  The
books are applied in the thread that calls Listener.poll / run, so strategy
code reads them there with no lock.

Lossless: a message is stored in a bounded, preallocated ring at its
sequence number (duplicates and reordered packets are harmless); holes are
requested after `reorder_grace`, again every `request_timeout`, and given up
(counted as lost) only after `give_up` seconds of unanswered requests.  A
full ring never drops what it holds: the receive thread waits for the
consumer while the socket buffer takes the burst (if that overflows, the
kernel drops and the holes are requested).  Messages that arrive past the end
of the ring while it still has a hole cannot wait there: they are discarded,
counted as `overflow`, and requested again once the ring reaches them.

SoupBinTCP (NASDAQ's TCP session protocol: login with session and sequence
number, sequenced data packets, heartbeats, end of session) carries the same
ITCH messages in order over TCP, so it needs no ring window, gap detection or
requests: a SoupBinTCP source would fill the same ring in sequence order from
its own receive thread (login at `next_seq` after a reconnect is its
recovery), and everything from `poll` on (the ITCH checks, feed_books, books,
latency, counters, callbacks) is shared; only the receive thread differs.
"""
from __future__ import annotations

import dataclasses
import gzip
import ipaddress
import math
import mmap
import os
import socket
import sys
import time
from typing import Callable, Optional

from lob.errors import error

try:
    from lob import _feed
except ImportError as exc:   # not built on this platform (Windows)
    _feed = None  # type: ignore[assignment]   # every use checks _IMPORT_ERROR first
    _IMPORT_ERROR = exc

__all__ = ["Listener", "Publisher", "FeedStats", "TOP_HEADER", "parse_session"]

#: the header line of Listener.write_top / `lob feed listen --top`
TOP_HEADER = "symbol,best_bid,best_bid_qty,best_ask,best_ask_qty"

# SO_TIMESTAMPNS: the kernel's receive time of each datagram (Linux)
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform.startswith("linux") else None)
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33 if sys.platform.startswith("linux") else None)
_SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32 if sys.platform.startswith("linux") else None)


def _need_feed():
    if _feed is None:
        raise ImportError(f"lob.feed needs the compiled lob._feed (POSIX only): {_IMPORT_ERROR}")


def parse_session(session) -> bytes:
    """A MoldUDP64 session as its 10 wire bytes: ASCII, 1 to 10 printable
    characters, left-justified and padded with spaces (as NASDAQ's alpha
    fields are)."""
    raw = session.encode("ascii", "replace") if isinstance(session, str) else bytes(session)
    if not 1 <= len(raw) <= 10 or any(not 32 <= b < 127 for b in raw):
        raise ValueError(f"session must be 1 to 10 printable ASCII characters, got {session!r}")
    return raw.ljust(10)


def _port(name, value, allow_zero=True):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not (0 if allow_zero else 1) <= value <= 65535:
        raise ValueError(f"{name} must be in {'0' if allow_zero else '1'}..65535, got {value}")
    return value


def _positive(name, value, *, zero=False, integer=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if integer and not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if math.isnan(value) or value < 0 or (value == 0 and not zero):
        raise ValueError(f"{name} must be {'>= 0' if zero else '> 0'}, got {value!r}")
    return value


def _fraction(name, value):
    _positive(name, value, zero=True)
    if value > 1:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _resolve(host, port):
    try:
        family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ValueError(f"host {host!r} is not an address this machine can resolve ({exc})") from None
    return family, addr


def _set_buffer(sock, force, plain, size):
    """Ask for a socket buffer of `size` bytes: past the system cap when
    allowed (CAP_NET_ADMIN), else up to it; returns what the kernel gave."""
    if force is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, size)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, plain, size)
    else:
        sock.setsockopt(socket.SOL_SOCKET, plain, size)
    option = socket.SO_RCVBUF if plain == socket.SO_RCVBUF else socket.SO_SNDBUF
    return sock.getsockopt(socket.SOL_SOCKET, option)


@dataclasses.dataclass(frozen=True)
class FeedStats:
    """The listener's counters at one moment (Listener.stats()).

    messages: applied to the books, once each, in sequence order.
    packets: valid downstream packets received (data, heartbeats, end of session).
    gaps: holes in the sequence (a packet or heartbeat past the next expected
        number, from loss or reordering; or a packet cut at the ring's end).
    gap_messages: the messages those holes held.
    recovered: messages that filled a hole (retransmitted, or a late packet).
    lost: messages given up (requests unanswered for `give_up` seconds, or
        still missing when the listener stopped).  gap_messages == recovered
        + lost once the session is complete.
    duplicates: messages received again (harmless).  overflow: messages
        discarded past the end of the ring (requested again later).
    requests / requested: request packets sent, messages asked for.
    malformed: datagrams refused, by reason (short, wrong_session,
        truncated, trailing, bad_sequence).
    bad_messages: messages in sequence the ITCH parser would refuse
        (unknown type, wrong length, bad side): skipped, not applied.
    rejected: events the books refused, by reason (as replay_itch).
    high_water / ring_size: most messages held in the ring at once.
    blocked_s: time the receive thread waited for a full ring to drain.
    latency_ns: percentiles (p50, p99, p99.9, max, mean) of the time from a
        datagram's arrival (kernel timestamp) to its messages applied.
    receive_ns: p50, p99, p99.9 of arrival to the receive thread reading the
        datagram (per datagram; the rest of latency_ns is the ring and the books).
    """

    messages: int
    packets: int
    heartbeats: int
    eos_packets: int
    gaps: int
    gap_messages: int
    recovered: int
    lost: int
    duplicates: int
    overflow: int
    requests: int
    requested: int
    malformed: dict
    bad_messages: int
    rejected: dict
    high_water: int
    ring_size: int
    blocked_s: float
    next_seq: int
    end_seq: Optional[int]
    done: bool
    latency_ns: dict
    receive_ns: dict

    def summary(self) -> str:
        """`messages M, gaps G, recovered R, lost L` (the line of `lob feed listen`)."""
        return f"messages {self.messages}, gaps {self.gaps}, recovered {self.recovered}, lost {self.lost}"


class Listener:
    """Join a MoldUDP64 stream of ITCH 5.0 messages and keep one OrderBook per
    stock up to date, losing nothing.

    port: UDP port the stream is sent to (0: any free port, see .port).
    request_port: the re-request server's UDP port.
    host: the address the stream is sent to: a local address to bind, or a
        multicast group to join (on `interface`).
    session: the MoldUDP64 session to accept (<= 10 characters); None takes
        the first valid packet's session.  Packets of another session are
        counted as malformed and skipped.
    request_host: where requests go; None: the source address of the stream.
    symbols: keep books for these stocks only (None: every stock).
    allow_cross: passed to each OrderBook (venues' books may lock briefly).
    start_seq: the first sequence number wanted (1: the whole session, so a
        late join recovers the start by requests; 0: from the first packet).
    ring_size: messages the ring holds (rounded up to a power of two; 112
        bytes each, so the default 2**18 is 29 MB).
    max_batch: most messages applied per poll (<= 65535).
    reorder_grace, request_timeout, give_up (seconds): a hole is requested
        once open for reorder_grace, again every request_timeout, and given
        up after give_up seconds of requests.
    rcvbuf: socket receive buffer asked for, bytes.
    spin: seconds the receive thread and poll() busy-wait for the next
        datagram / message before sleeping (lower latency, at the price of a
        core each while the stream flows).

    Use as a context manager (or call close()).  The receive thread starts at
    the first poll/run (or start()).  Strategy code reads `books` between
    polls, or in the `on_batch` callback of run().
    """

    def __init__(self, port: int, request_port: int, host: str = "127.0.0.1", session=None, *,
                 request_host: Optional[str] = None, symbols=None, allow_cross: bool = False,
                 start_seq: int = 1, ring_size: int = 1 << 18, max_batch: int = 4096,
                 reorder_grace: float = 0.001, request_timeout: float = 0.02, give_up: float = 5.0,
                 rcvbuf: int = 64 << 20, spin: float = 0.0, interface: str = "0.0.0.0") -> None:
        _need_feed()
        from lob._book import OrderBook
        from lob.io.itch import MESSAGE_LENGTHS, ItchParser

        _port("port", port)
        _port("request_port", request_port, allow_zero=False)
        self._session = None if session is None else parse_session(session)
        if isinstance(start_seq, bool) or not isinstance(start_seq, int) or start_seq < 0:
            raise ValueError(f"start_seq must be an int >= 0, got {start_seq!r}")
        _positive("ring_size", ring_size, integer=True)
        if not 16 <= ring_size <= 1 << 24:     # 112 bytes a slot: 2**24 is 1.9 GB
            raise ValueError(f"ring_size must be in 16..2**24 messages, got {ring_size}")
        _positive("max_batch", max_batch, integer=True)
        if max_batch > 65535:
            raise ValueError(f"max_batch must be <= 65535, got {max_batch}")
        _positive("reorder_grace", reorder_grace, zero=True)
        _positive("request_timeout", request_timeout)
        _positive("give_up", give_up)
        _positive("rcvbuf", rcvbuf, integer=True)
        _positive("spin", spin, zero=True)
        self._book_class = OrderBook
        self._allow_cross = bool(allow_cross)
        self._symbols = None if symbols is None else set(symbols)
        self._spin = float(spin)
        self._max_batch = max_batch
        family, addr = _resolve(host, port)
        group = ipaddress.ip_address(addr[0])
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if group.is_multicast:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.rcvbuf = _set_buffer(sock, _SO_RCVBUFFORCE, socket.SO_RCVBUF, rcvbuf)
            if _SO_TIMESTAMPNS is not None:
                sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            # a multicast listener binds the port on every address: the answers to its
            # requests come back unicast to the same socket (MoldUDP64's one-socket design)
            if group.is_multicast:
                where = ("0.0.0.0" if family == socket.AF_INET else "::",) + tuple(addr[1:])
            else:
                where = addr
            try:
                sock.bind(where)
            except OSError as exc:
                raise OSError(exc.errno, f"cannot bind UDP {where[0]}:{port}: {exc.strerror}") from None
            if group.is_multicast:
                if family == socket.AF_INET:
                    mreq = socket.inet_aton(addr[0]) + socket.inet_aton(interface)
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
                else:
                    mreq = socket.inet_pton(family, addr[0]) + (0).to_bytes(4, "little")
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self.host = addr[0]
        self.port = sock.getsockname()[1]
        self.request_port = request_port
        lengths = bytearray(256)
        for kind, length in MESSAGE_LENGTHS.items():
            lengths[ord(kind)] = length
        try:
            # 64-byte slots: the longest ITCH 5.0 message (50 bytes) + its length fits
            self._rx = _feed.Receiver(sock, ring_size=ring_size, slot_bytes=64, start_seq=start_seq,
                                      max_batch=max_batch, itch_lengths=bytes(lengths), session=self._session,
                                      request_port=request_port, grace=float(reorder_grace),
                                      timeout=float(request_timeout),
                                      max_tries=max(1, math.ceil(give_up / request_timeout)), spin=float(spin))
            if request_host is not None:
                rfamily, raddr = _resolve(request_host, request_port)
                if rfamily != family:
                    raise ValueError(f"request_host {request_host!r} is not of the stream's address family")
                self._rx.set_request_address(rfamily, raddr[0], request_port)
        except BaseException:
            sock.close()
            raise
        self._parser = ItchParser()
        self._by_locate: list = [None] * 65536
        self._directory: dict[int, str] = {}
        self._by_symbol: dict = {}
        self._rejected: dict[str, int] = {}
        self._abandoned = 0
        self._started = False
        self._stopped = False
        self._closed = False
        self._start_ns = 0

    # -- running ----------------------------------------------------------
    def start(self) -> "Listener":
        """Start the receive thread (poll and run do it when needed)."""
        if self._closed or self._stopped:
            raise RuntimeError("this Listener is stopped; make a new one to listen again")
        if not self._started:
            self._rx.start()
            self._started = True
            self._start_ns = _feed.monotonic_ns()
        return self

    def _new_book(self, local, symbol):
        # feed_books sees this batch's stocks by index (see Receiver.take)
        locate = self._rx.batch_locates[local]
        self._directory[locate] = symbol
        if self._symbols is not None and symbol not in self._symbols:
            return None
        book = self._book_class(allow_cross=self._allow_cross)
        self._by_locate[locate] = book
        self._by_symbol[symbol] = book
        return book

    def poll(self, timeout: float = 0.0) -> int:
        """Apply the messages ready in sequence order (at most max_batch),
        waiting up to `timeout` seconds for the first; returns how many were
        applied (0 if none).  Lost and refused messages are skipped."""
        if not self._started and not self._stopped:
            self.start()
        return self._rx.apply_ready(timeout, self._spin, self._parser, self._by_locate, self._new_book,
                                    self._rejected)

    def run(self, on_batch: Optional[Callable[["Listener", int], object]] = None, *,
            timeout: Optional[float] = None, idle_timeout: Optional[float] = 30.0,
            poll_interval: float = 0.05) -> bool:
        """Poll until the end of session is applied (True), or until `timeout`
        seconds in all or `idle_timeout` seconds without a valid packet
        (False).  on_batch(listener, n) runs after each batch of n messages."""
        if not self._started:
            self.start()
        t0 = time.monotonic()
        while True:
            n = self.poll(poll_interval)
            if n and on_batch is not None:
                on_batch(self, n)
            if self._rx.done:
                return True
            if self._rx.error:
                raise OSError(self._rx.error, f"lob.feed: the receive thread stopped: {os.strerror(self._rx.error)}")
            now = time.monotonic()
            if timeout is not None and now - t0 >= timeout:
                return False
            if idle_timeout is not None and n == 0:
                last = self._rx.last_packet_ns or self._start_ns
                if _feed.monotonic_ns() - last >= idle_timeout * 1e9:
                    return False

    def stop(self, give_up: bool = False) -> None:
        """Stop the receive thread.  give_up=True applies what is ready, then
        counts every message known to exist and not applied as lost (what
        `lob feed listen` does when it stops before the end of session)."""
        if self._started:
            self._rx.stop()
        self._stopped = True
        if give_up:
            for _ in range(self._rx.ring_size // self._max_batch + 2):   # apply what is ready
                if not self._rx.wait(0):
                    break
                self.poll(0)
            counts = self._rx.counts()
            end = max(counts["high"], counts["eos_seq"])
            # known to exist, not applied, and not already counted as given up
            self._abandoned = max(0, end - counts["next_seq"]) - self._rx.pending_lost(end)

    def close(self) -> None:
        """Stop the receive thread and close the socket (the books stay)."""
        if not self._closed:
            self.stop()
            self._sock.close()
            self._closed = True

    def __enter__(self) -> "Listener":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading ----------------------------------------------------------
    @property
    def books(self) -> dict:
        """{symbol: OrderBook} of every stock seen so far (a new dict of the
        live books, each made at its stock directory message)."""
        return dict(self._by_symbol)

    def book(self, symbol: str):
        """The OrderBook of `symbol`; KeyError if the feed has not named it."""
        try:
            return self._by_symbol[symbol]
        except KeyError:
            raise KeyError(f"no book for symbol {symbol!r} (yet)") from None

    @property
    def directory(self) -> dict:
        """{stock locate: symbol} from the stock directory messages so far."""
        return dict(self._directory)

    @property
    def last_symbols(self) -> list:
        """Symbols of the books the last batch had messages for (for callbacks)."""
        by_locate = self._by_locate
        return [self._directory.get(loc, f"#{loc}") for loc in (self._rx.batch_locates or ())
                if by_locate[loc] is not None]

    @property
    def done(self) -> bool:
        """The end of session arrived and every message before it is applied."""
        return self._rx.done

    @property
    def next_seq(self) -> int:
        """The sequence number of the next message to apply."""
        return self._rx.next_seq

    @property
    def session(self) -> Optional[str]:
        raw = self._rx.session
        return None if raw is None else raw.decode("ascii", "replace").rstrip()

    def latency(self, q: float) -> int:
        """Nanoseconds from datagram arrival to book applied, at quantile q in
        [0, 1], over every message applied (within 3%; 0 before any)."""
        if not 0 <= q <= 1:
            raise ValueError(f"q must be in [0, 1], got {q!r}")
        return self._rx.latency(q)

    def reset_latency(self) -> None:
        """Forget the latency recorded so far (e.g. after a warm-up)."""
        self._rx.reset_latency()

    def stats(self) -> FeedStats:
        """Every counter now (see FeedStats)."""
        c = self._rx.counts()
        latency = {"p50": self._rx.latency(0.5), "p99": self._rx.latency(0.99), "p99.9": self._rx.latency(0.999),
                   "max": self._rx.latency_max, "mean": self._rx.latency_mean, "count": self._rx.latency_count}
        return FeedStats(
            messages=c["messages"], packets=c["packets"], heartbeats=c["heartbeats"], eos_packets=c["eos_packets"],
            gaps=c["gaps"], gap_messages=c["gap_messages"], recovered=c["recovered"],
            lost=c["lost"] + self._abandoned, duplicates=c["duplicates"], overflow=c["overflow"],
            requests=c["requests"], requested=c["requested"], malformed=c["malformed"],
            bad_messages=c["bad_messages"], rejected=dict(self._rejected), high_water=c["high_water"],
            ring_size=c["ring_size"], blocked_s=c["blocked_ns"] / 1e9, next_seq=c["next_seq"],
            end_seq=c["eos_seq"] or None, done=self._rx.done, latency_ns=latency,
            receive_ns={"p50": self._rx.receive_latency(0.5), "p99": self._rx.receive_latency(0.99),
                        "p99.9": self._rx.receive_latency(0.999)})

    def summary(self) -> str:
        """`messages M, gaps G, recovered R, lost L`."""
        return self.stats().summary()

    def top_rows(self) -> list:
        """[(symbol, best_bid, best_bid_qty, best_ask, best_ask_qty)] by symbol;
        an empty side has price None and qty 0."""
        books = self.books
        return [(s, books[s].best_bid, books[s].best_bid_qty, books[s].best_ask, books[s].best_ask_qty)
                for s in sorted(books)]

    def write_top(self, path) -> int:
        """Write top_rows() as CSV with the header TOP_HEADER (an empty side:
        empty price, qty 0); returns the rows written."""
        rows = self.top_rows()
        with open(path, "w", newline="") as f:
            f.write(TOP_HEADER + "\n")
            for symbol, bid, bid_qty, ask, ask_qty in rows:
                f.write(f"{symbol},{'' if bid is None else bid},{bid_qty},{'' if ask is None else ask},{ask_qty}\n")
        return len(rows)


def _load_store(source):
    """(bytes-like store, name, keep-alive objects) of an ITCH file or bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return source, "<bytes>", None
    path = os.fspath(source)
    with open(path, "rb") as f:
        magic = f.read(2)
        if magic == b"\x1f\x8b":
            with gzip.open(path, "rb") as g:
                try:
                    return g.read(), path, None
                except (OSError, EOFError) as exc:
                    raise error(26, source=path, detail=f"not a readable gzip file ({exc})") from None
        if os.fstat(f.fileno()).st_size == 0:
            return b"", path, None
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    return mapped, path, mapped


class Publisher:
    """Publish an ITCH 5.0 file (or bytes in its framing) as a MoldUDP64
    stream, and answer retransmission requests.

    source: a path (plain or gzip) or bytes of u16-length-framed messages.
    port, host: where the stream goes (a unicast address or a multicast group).
    request_port: the UDP port the re-request server binds (0: any, see
        .request_port), on `request_bind` (default: 127.0.0.1 for a loopback
        host, else every interface).
    session: the MoldUDP64 session (<= 10 characters).
    rate: messages/s (None or 0: as fast as the socket takes them).
    drop, reorder, duplicate: fractions of packets dropped, sent late (after
        the next one) or sent twice, on purpose for tests; seeded by `seed`,
        so the same packets every run.  drop also applies to heartbeats,
        end-of-session packets and answers to requests.
    packet_size: most bytes of a packet (UDP payload); max_per_packet: most
        messages in one (0: as many as fit).
    heartbeat: seconds of silence before a heartbeat; eos_interval: seconds
        between end-of-session packets, sent until no request has come for
        `linger` seconds (at most max_linger).
    start_seq, end_seq: the live stream sends sequence numbers [start_seq,
        end_seq) (default the whole file; a restarted publisher resumes at
        start_seq and still serves requests for everything before it);
        the end of session follows only when end_seq is past the last message.
    """

    def __init__(self, source, port: int, request_port: int = 0, host: str = "127.0.0.1", *,
                 session="0000000001", rate: Optional[float] = None, drop: float = 0.0, reorder: float = 0.0,
                 duplicate: float = 0.0, seed: int = 0, packet_size: int = 1400, max_per_packet: int = 0,
                 heartbeat: float = 1.0, eos_interval: float = 0.05, linger: float = 1.0,
                 max_linger: float = 30.0, start_seq: int = 1, end_seq: Optional[int] = None,
                 request_bind: Optional[str] = None, sndbuf: int = 8 << 20) -> None:
        _need_feed()
        _port("port", port, allow_zero=False)
        _port("request_port", request_port)
        session_bytes = parse_session(session)
        if rate is not None:
            _positive("rate", rate, zero=True)
        drop, reorder, duplicate = (_fraction("drop", drop), _fraction("reorder", reorder),
                                    _fraction("duplicate", duplicate))
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        _positive("packet_size", packet_size, integer=True)
        if not 64 <= packet_size <= 65507:
            raise ValueError(f"packet_size must be in 64..65507 bytes, got {packet_size}")
        _positive("max_per_packet", max_per_packet, zero=True, integer=True)
        for name, value in (("heartbeat", heartbeat), ("eos_interval", eos_interval)):
            _positive(name, value)
        _positive("linger", linger, zero=True)
        _positive("max_linger", max_linger, zero=True)
        store, name, self._keep = _load_store(source)
        offsets, bad = _feed.index_messages(store)
        if offsets is None:
            raise error(26, source=name, offset=bad,
                        detail="the message block runs past the end of the file (or is over 65,485 bytes)")
        n = len(offsets) - 1
        if isinstance(start_seq, bool) or not isinstance(start_seq, int) or not 1 <= start_seq <= n + 1:
            raise ValueError(f"start_seq must be in 1..{n + 1} (the file has {n} messages), got {start_seq!r}")
        end_seq = n + 1 if end_seq is None else end_seq
        if isinstance(end_seq, bool) or not isinstance(end_seq, int) or not start_seq <= end_seq <= n + 1:
            raise ValueError(f"end_seq must be in {start_seq}..{n + 1}, got {end_seq!r}")
        family, addr = _resolve(host, port)
        group = ipaddress.ip_address(addr[0])
        if request_bind is None:
            request_bind = "127.0.0.1" if group.is_loopback and family == socket.AF_INET else (
                "::1" if group.is_loopback else ("0.0.0.0" if family == socket.AF_INET else "::"))
        live = socket.socket(family, socket.SOCK_DGRAM)
        req = socket.socket(family, socket.SOCK_DGRAM)
        try:
            _set_buffer(live, _SO_SNDBUFFORCE, socket.SO_SNDBUF, sndbuf)
            _set_buffer(req, _SO_SNDBUFFORCE, socket.SO_SNDBUF, sndbuf)
            if group.is_multicast and family == socket.AF_INET:
                live.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
                live.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            live.connect(addr)
            try:
                req.bind((request_bind, request_port))
            except OSError as exc:
                raise OSError(exc.errno, f"cannot bind UDP {request_bind}:{request_port}: {exc.strerror}") from None
        except BaseException:
            live.close()
            req.close()
            raise
        self._live, self._req = live, req
        self.name = name
        self.host, self.port = addr[0], port
        self.request_port = req.getsockname()[1]
        self.messages = n
        self.session = session_bytes.decode("ascii").rstrip()
        self._tx = _feed.Sender(store, offsets, live, req, session_bytes,
                                rate=float(rate or 0.0), start_seq=start_seq, end_seq=end_seq,
                                packet_size=packet_size, max_per_packet=max_per_packet, drop=drop,
                                reorder=reorder, duplicate=duplicate, seed=seed & 0xFFFFFFFFFFFFFFFF,
                                heartbeat=float(heartbeat), eos_interval=float(eos_interval),
                                linger=float(linger), max_linger=float(max_linger))
        self._started = False
        self._closed = False

    def start(self) -> "Publisher":
        """Start sending and serving requests (in C threads; returns at once)."""
        if self._closed:
            raise RuntimeError("this Publisher is closed")
        if not self._started:
            self._tx.start()
            self._started = True
        return self

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait until the live stream is over (the end of session sent and
        lingered, or end_seq reached); False if `timeout` seconds pass first."""
        if not self._started:
            self.start()
        t0 = time.monotonic()
        while not self._tx.live_done:
            if self._tx.error:
                raise OSError(self._tx.error, f"lob.feed: the request server stopped: {os.strerror(self._tx.error)}")
            if timeout is not None and time.monotonic() - t0 >= timeout:
                return False
            time.sleep(0.005)
        return True

    @property
    def next_seq(self) -> int:
        """Every sequence number below it has been published."""
        return self._tx.next_seq

    def stats(self) -> dict:
        """Counters: packets, messages, dropped, reordered, duplicated,
        heartbeats, eos, requests, bad_requests, response_packets,
        retransmitted, send_errors, next_seq."""
        return self._tx.counts()

    def close(self) -> None:
        """Stop both threads (within ~50 ms) and close the sockets."""
        if not self._closed:
            self._tx.stop()
            self._live.close()
            self._req.close()
            self._closed = True

    def __enter__(self) -> "Publisher":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
