"""The live feed (lob.feed) over loopback: throughput publisher -> books with
nothing lost, against ItchParser.feed_books on the same bytes (parse + apply,
no network: the floor of the path); and per-message latency at 100,000
msg/s (datagram arrival to book applied) against a plain Python recvmsg loop
reading the same stream (the floor any user-space reader pays here).

Targets (issue 13): >= 1M msg/s with 0 loss; p99 < 50 us, p99.9 < 5 ms.
Timed run: python -m pytest bench/test_feed_loopback.py --benchmark-enable -s
(the latency figures print as lines; the throughput is in the ratio table);
LOB_FEED_RT=1 adds the latency runs under SCHED_FIFO (root).
Without --benchmark-enable every case runs once on a small file (smoke).
"""
import os

import pytest

from feed_run import feed_latency, feed_once, make_itch, parse_and_apply, recv_floor_latency


@pytest.fixture(scope="module")
def feed_file(tmp_path_factory, full_run):
    path = tmp_path_factory.mktemp("feed") / "day.itch"
    n = make_itch(path, 1_000_000 if full_run else 6_000)
    return path, n


@pytest.mark.parametrize("impl", ["lobcore", "floor"])
@pytest.mark.benchmark(group="live feed: publisher to books (ns per message)")
def test_feed_throughput(benchmark, impl, feed_file):
    path, n = feed_file
    benchmark.extra_info.update(impl=impl, calls=n)
    rounds = 3 if benchmark.enabled else 1
    if impl == "floor":
        blob = path.read_bytes()
        benchmark.pedantic(parse_and_apply, args=(blob,), rounds=rounds, iterations=1)
        return
    results = []

    def run():
        results.append(feed_once(path))   # raises unless complete with 0 lost
    benchmark.pedantic(run, rounds=rounds, iterations=1)
    elapsed, stats = results[-1]
    assert stats.lost == 0 and stats.messages == n
    benchmark.extra_info.update(msgs_per_s=n / elapsed, gaps=stats.gaps, recovered=stats.recovered,
                                high_water=stats.high_water, blocked_s=stats.blocked_s)


@pytest.mark.parametrize("rt", [False, True], ids=["normal", "sched_fifo"])
@pytest.mark.parametrize("max_per_packet", [0, 4])
def test_feed_latency(feed_file, full_run, max_per_packet, rt, capsys):
    """rt: every thread of the run under SCHED_FIFO (opt-in: LOB_FEED_RT=1,
    needs root), which takes the machine's other load out of the tail."""
    if rt and os.environ.get("LOB_FEED_RT") != "1":
        pytest.skip("SCHED_FIFO runs are opt-in: LOB_FEED_RT=1 (root)")
    path, n = feed_file
    seconds = 3.0 if full_run else 0.05
    ours = feed_latency(path, seconds=seconds, max_per_packet=max_per_packet, rt=rt)
    base = recv_floor_latency(path, seconds=seconds, max_per_packet=max_per_packet, rt=rt)
    if ours is None or base is None:
        pytest.skip("SCHED_FIFO is not permitted here")
    assert ours["count"] > 0 and base["count"] > 0
    assert ours["p50"] <= ours["p99"] <= ours["p99.9"] <= ours["max"]
    label = ("full packets" if max_per_packet == 0 else f"{max_per_packet} msgs/packet") + (
        ", SCHED_FIFO" if rt else "")
    with capsys.disabled():
        print(f"\nlatency at 100k msg/s, {label}: feed p50 {ours['p50'] / 1e3:.1f} us, p99 {ours['p99'] / 1e3:.1f} "
              f"us, p99.9 {ours['p99.9'] / 1e3:.1f} us | python recvmsg floor p50 {base['p50'] / 1e3:.1f} us, "
              f"p99 {base['p99'] / 1e3:.1f} us, p99.9 {base['p99.9'] / 1e3:.1f} us")
