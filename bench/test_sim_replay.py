"""lob.Simulator: replaying a 2M-event lob.synth stream with 10 own orders
resting, against OrderBook.apply on the same stream in the same run
(target: at most 1.5x apply, and 10M events/s), and lob.sim.execute per
strategy on that stream (target: under 1 s each).

    python -m pytest bench/test_sim_replay.py --benchmark-enable -s

The ratio line (printed at the end, from interleaved rounds of both) is the
figure to quote; pytest-benchmark's table has each one's own rounds.
hftbacktest's L3 backtest on the same stream: bench/test_sim_peer.py.
"""
import time

import numpy as np
import pytest

import lob
import lob.sim

LATENCY = 500_000       # 500 us


@pytest.fixture(scope="module")
def events(full_run):
    return lob.synth.generate(2_000_000 if full_run else 5_000, seed=1)


@pytest.fixture(scope="module")
def resting_orders(events):
    """10 own orders (5 a side, 20 to 100 ticks from the touch) sent at the
    10,000th event: they rest for the rest of the stream (the synth mid
    wanders about 40 ticks), so every later event meets the rules' checks."""
    k = min(10_000, len(events) // 2)
    rows = lob.OrderBook().apply(events[:k + 1])
    bid, ask, ts = int(rows["best_bid"][-1]), int(rows["best_ask"][-1]), int(events["ts"][k])
    return [(lob.BID, bid - 20 * (i + 1), 500, ts) for i in range(5)] + \
           [(lob.ASK, ask + 20 * (i + 1), 500, ts) for i in range(5)]


def apply_only(events, orders):
    lob.OrderBook().apply(events, record=False)


def simulate(events, orders):
    sim = lob.Simulator(events, book=lob.OrderBook(), latency_ns=LATENCY)
    for side, price, qty, ts in orders:
        sim.submit(side, price, qty, ts=ts)
    sim.run()
    return sim


IMPLS = {"apply (baseline)": apply_only, "simulator, 10 own resting": simulate}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="simulator replay (ns per event)")
def test_replay(benchmark, impl, events, resting_orders):
    benchmark.extra_info.update(impl=impl, calls=len(events))
    benchmark.pedantic(IMPLS[impl], args=(events, resting_orders), rounds=7 if benchmark.enabled else 1,
                       iterations=1)


def test_replay_ratio(events, resting_orders, full_run, capsys):
    """Interleaved rounds of apply and the simulator (construction included):
    the median ratio, printed; and the simulator's book equals apply's where
    no own order traded."""
    rounds = 7 if full_run else 1
    base, ours = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        apply_only(events, resting_orders)
        base.append(time.perf_counter() - start)
        start = time.perf_counter()
        sim = simulate(events, resting_orders)
        ours.append(time.perf_counter() - start)
    resting = sum(sim.order(oid).status == "resting" for oid in range(*sim.own_ids)[:10])
    ratio = float(np.median(np.array(ours) / np.array(base)))
    with capsys.disabled():
        print(f"\nsimulator replay, {len(events):,} events, {resting} of 10 own orders still resting at the end "
              f"({len(sim.fills)} fills): {np.median(ours) / len(events) * 1e9:.1f} ns/event "
              f"({len(events) / np.median(ours) / 1e6:.1f}M events/s) against apply "
              f"{np.median(base) / len(events) * 1e9:.1f} ns/event: {ratio:.2f}x (median of {rounds} interleaved "
              f"rounds; target <= 1.5x, >= 10M events/s)")
    sim.book.check()


@pytest.mark.parametrize("strategy", lob.sim.STRATEGIES)
@pytest.mark.benchmark(group="lob.sim.execute, 2M events (s per strategy)")
def test_execute(benchmark, strategy, events):
    start = int(events["ts"][len(events) // 2])
    benchmark.extra_info.update(impl=f"execute {strategy}", calls=1)
    report = benchmark.pedantic(lob.sim.execute, args=(events, "buy", 5_000),
                                kwargs=dict(start=start, horizon_ns=10_000_000_000, strategy=strategy,
                                            latency_ns=LATENCY),
                                rounds=5 if benchmark.enabled else 1, iterations=1)
    assert report.filled == 5_000
