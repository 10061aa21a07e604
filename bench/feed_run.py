"""The live feed's figures: publisher -> books throughput over loopback, and
per-message latency at a fixed rate, each with its baseline in the same run.

    python bench/feed_run.py [--messages 1000000] [--rounds 3] [--seconds 3]

- throughput: `lob.feed.Publisher` as fast as the socket takes it ->
  `lob.feed.Listener` -> one book per stock, 0 lost (checked), against
  ItchParser.feed_books on the same bytes in one call (parse + apply, no
  network: the floor of the whole path).
- latency at 100,000 msg/s: datagram arrival (kernel receive timestamp) to
  the message applied to its book, p50 / p99 / p99.9, against the same
  timestamp to a plain Python `recvmsg` loop returning the datagram (what
  any user-space reader pays on this machine, before doing anything).
bench/test_feed_loopback.py runs the same functions under pytest-benchmark.
"""
import argparse
import os
import socket
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import lob
import lob.io
from lob.feed import Listener, Publisher

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_itch(path, messages):
    """Three stocks of lob.synth flow, about `messages` messages in all."""
    streams = {name: lob.synth.generate(max(messages // 3, 10), seed=seed, first_id=seed * 10**8)
               for seed, name in enumerate(("AAPL", "MSFT", "NVDA"), start=1)}
    return lob.synth.write_itch(streams, path)


def parse_and_apply(blob):
    """The floor: ItchParser.feed_books over the whole file in one call."""
    books = [None] * 65536
    lob.io.ItchParser().feed_books(blob, books, lambda locate, symbol: lob.OrderBook())
    return books


def feed_once(path, *, rate=None, ring_size=1 << 18, max_batch=4096, timeout=120):
    """Publish `path` over loopback into a Listener; returns (seconds from
    start to the last message applied, FeedStats).  Raises if anything was
    lost or the session did not complete."""
    lst = Listener(0, free_port(), ring_size=ring_size, max_batch=max_batch)
    pub = Publisher(path, lst.port, lst.request_port, rate=rate, linger=0.2)
    try:
        t0 = time.perf_counter()
        lst.start()
        pub.start()
        done = lst.run(timeout=timeout, idle_timeout=10)
        elapsed = time.perf_counter() - t0
        stats = lst.stats()
    finally:
        pub.close()
        lst.close()
    if not done or stats.lost or stats.messages != pub.messages:
        raise RuntimeError(f"the feed did not complete losslessly: {stats}")
    return elapsed, stats


class realtime:
    """SCHED_FIFO for this thread (and the threads it starts, which inherit
    it) while in the block, when the system allows it (root): what a feed
    handler does on a shared machine.  `active` says whether it applied."""

    def __init__(self, enabled=True, priority=10):
        self.enabled, self.priority, self.active = enabled, priority, False

    def __enter__(self):
        if self.enabled and hasattr(os, "sched_setscheduler"):
            try:
                self.saved = (os.sched_getscheduler(0), os.sched_getparam(0))
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(self.priority))
                self.active = True
            except OSError:
                pass
        return self

    def __exit__(self, *exc):
        if self.active:
            os.sched_setscheduler(0, self.saved[0], self.saved[1])


def feed_latency(path, *, rate=100_000, seconds=3.0, max_per_packet=0, spin=0.0, warmup=0.1, rt=False):
    """Latency percentiles (ns) of the messages of `seconds` of the file
    published at `rate` msg/s, after a warm-up fraction.  rt: every thread
    of the run under SCHED_FIFO (see realtime)."""
    n = int(rate * seconds)
    with realtime(rt) as prio, Listener(0, free_port(), spin=spin) as lst, \
            Publisher(path, lst.port, lst.request_port, rate=rate, max_per_packet=max_per_packet,
                      end_seq=n + 1, linger=0.2):
        t0 = time.monotonic()
        warm = False
        while lst.next_seq <= n and time.monotonic() - t0 < seconds + 20:
            lst.poll(0.05)
            if not warm and lst.next_seq > warmup * n:
                lst.reset_latency()
                warm = True
        stats = lst.stats()
        quantiles = {q: lst.latency(q) for q in (0.5, 0.9, 0.99, 0.999)}
    if rt and not prio.active:
        return None
    if stats.next_seq <= n or stats.lost:
        raise RuntimeError(f"latency run incomplete: {stats}")
    return {"p50": quantiles[0.5], "p90": quantiles[0.9], "p99": quantiles[0.99], "p99.9": quantiles[0.999],
            "max": stats.latency_ns["max"], "count": stats.latency_ns["count"], "gaps": stats.gaps}


def recv_floor_latency(path, *, rate=100_000, seconds=3.0, max_per_packet=0, warmup=0.1, rt=False):
    """The baseline: kernel receive timestamp -> a plain Python recvmsg loop
    holding the datagram (no parsing), same publisher, same rate (ns)."""
    with realtime(rt) as prio:
        if rt and not prio.active:
            return None
        return _recv_floor(path, rate, seconds, max_per_packet, warmup)


def _recv_floor(path, rate, seconds, max_per_packet, warmup):
    n = int(rate * seconds)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    lat = []
    with sock, Publisher(path, sock.getsockname()[1], free_port(), rate=rate, max_per_packet=max_per_packet,
                         end_seq=n + 1, linger=0.0):
        seen = 0
        try:
            while seen < n:
                data, anc, _, _ = sock.recvmsg(65536, 64)
                now = time.time_ns()
                count = int.from_bytes(data[18:20], "big")
                if count in (0, 0xFFFF):
                    continue
                for level, kind, raw in anc:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                        sec, nsec = np.frombuffer(raw[:16], dtype=np.int64)
                        if seen >= warmup * n:
                            lat.extend([now - (int(sec) * 1_000_000_000 + int(nsec))] * count)
                seen += count
        except socket.timeout:
            pass
    lat = np.array(lat)
    return {"p50": int(np.percentile(lat, 50)), "p90": int(np.percentile(lat, 90)),
            "p99": int(np.percentile(lat, 99)), "p99.9": int(np.percentile(lat, 99.9)), "max": int(lat.max()),
            "count": len(lat)}


def main(argv=None):
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0, help="latency run length at 100k msg/s")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "day.itch")
        n = make_itch(path, args.messages)
        blob = open(path, "rb").read()
        print(f"{n:,} ITCH messages, {len(blob) / 1e6:.1f} MB; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
        floor, feed = [], []
        for _ in range(args.rounds):           # interleaved rounds: the machine's noise hits both
            t0 = time.perf_counter()
            parse_and_apply(blob)
            floor.append(time.perf_counter() - t0)
            elapsed, stats = feed_once(path)
            feed.append(elapsed)
        f, g = np.median(floor), np.median(feed)
        print(f"throughput  feed_books (floor): {n / f / 1e6:.2f} M msg/s ({f / n * 1e9:.0f} ns/msg); "
              f"live feed, 0 lost: {n / g / 1e6:.2f} M msg/s ({g / n * 1e9:.0f} ns/msg, {g / f:.1f}x the floor; "
              f"best round {n / min(feed) / 1e6:.2f} M msg/s); last round: gaps {stats.gaps}, recovered "
              f"{stats.recovered}, ring high-water {stats.high_water}, blocked {stats.blocked_s:.2f} s")
        for rate in (1_000_000, 2_000_000):   # paced: does the listener keep up, ring nearly empty?
            elapsed, stats = feed_once(path, rate=rate)
            print(f"paced at {rate / 1e6:.0f}M msg/s: applied {n / elapsed / 1e6:.2f} M msg/s, 0 lost, gaps "
                  f"{stats.gaps}, ring high-water {stats.high_water:,} of {stats.ring_size:,}, latency p50 "
                  f"{stats.latency_ns['p50'] / 1e3:.0f} us, p99 {stats.latency_ns['p99'] / 1e3:.0f} us")
        for rt in (False, True):
            for mpp in (0, 4):
                ours = feed_latency(path, seconds=args.seconds, max_per_packet=mpp, rt=rt)
                base = recv_floor_latency(path, seconds=args.seconds, max_per_packet=mpp, rt=rt)
                if ours is None or base is None:
                    print("latency under SCHED_FIFO: not permitted here, skipped")
                    break
                label = ("full packets" if mpp == 0 else f"{mpp} msgs/packet") + (", SCHED_FIFO" if rt else "")
                print(f"latency at 100k msg/s, {label}: feed p50 {ours['p50'] / 1e3:.1f} us, p99 "
                      f"{ours['p99'] / 1e3:.1f} us, p99.9 {ours['p99.9'] / 1e3:.1f} us | python recvmsg floor "
                      f"p50 {base['p50'] / 1e3:.1f} us, p99 {base['p99'] / 1e3:.1f} us, p99.9 "
                      f"{base['p99.9'] / 1e3:.1f} us")


if __name__ == "__main__":
    main()
