"""lob.Simulator against hftbacktest's L3 backtest (L3FIFOQueueModel, no
partial fills) on the same lob.synth stream with the same own orders: the
time of each, and a count of where their fills differ, with the reason.

    python -m pytest bench/test_sim_peer.py --benchmark-enable -s

Needs bench/.venv-peers with hftbacktest (python bench/peers/venv.py, or
LOB_BENCH_PEERS=1 here builds it); skipped otherwise, and in the untimed
smoke run unless LOB_SIM_PEER=1.  hftbacktest runs in
that venv (bench/sim_hftbacktest.py; numba compiles its driver first, ~1-2
minutes, untimed).

The own orders: every 50 ms of stream time a GTC limit of 200 at the touch,
bid and ask in turn, cancelled 2 s later if still working; latency 100 us.
Where the fills differ, and why (hftbacktest's rules are in its
l3_nopartialfillexchange.rs and L3FIFOQueueModel):

- "ours later" / "ours partial": hftbacktest fills the whole order at the
  first execution of a feed order behind it; lobcore fills
  min(what is left, the executed qty) per execution (rule 4), so an order
  needs executions adding up to its qty, and may be cancelled part-filled.
- "ours only (trade-through)": a feed execution at a price worse than the
  own order's fills it in lobcore (the aggressor went through its price);
  hftbacktest looks only at the executed order's own price level and fills
  on a trade-through only when the best opposite price moves onto the order.
- "ours only (behind at its price)": lobcore filled by an execution behind
  it where hftbacktest did not (same rule; a difference here would be a
  bug in one of the two, so it is listed).
"""
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

import lob

BENCH = pathlib.Path(__file__).resolve().parent
PEER_PYTHON = BENCH / ".venv-peers" / "bin" / "python"
LATENCY = 100_000
EVERY = 50_000_000
HOLD = 2_000_000_000
QTY = 200


def peer_python():
    """The peer venv's python when it has hftbacktest (built on demand with LOB_BENCH_PEERS=1), else None."""
    if os.environ.get("LOB_BENCH_PEERS") == "1":
        sys.path.insert(0, str(BENCH))
        from peers.venv import module_requires, peer_python as build
        python, reason = build({"hftbacktest_peer": module_requires("hftbacktest_peer")})
        if python is None or (reason and "hftbacktest" in reason):
            return None
    if not PEER_PYTHON.exists():
        return None
    probe = subprocess.run([str(PEER_PYTHON), "-c", "import hftbacktest"], capture_output=True)
    return str(PEER_PYTHON) if probe.returncode == 0 else None


def schedule(events):
    """(ts, kind 0 submit / 1 cancel, order_id, side, price, qty) rows: a
    limit at the touch every EVERY ns, cancelled HOLD ns later."""
    rows = lob.OrderBook().apply(events)
    first, last = int(events["ts"][min(10_000, len(events) // 4)]), int(events["ts"][-1]) - HOLD
    times = np.arange(first, max(last, first + 1), EVERY)
    at = np.searchsorted(events["ts"], times, side="right") - 1
    actions = []
    oid = 10 ** len(str(int(events["order_id"].max())))     # the Simulator's own id range starts here
    for k, (t, i) in enumerate(zip(times.tolist(), at.tolist())):
        side = k % 2
        price = int(rows["best_bid"][i] if side == 0 else rows["best_ask"][i])
        if price:
            actions.append((t, 0, oid, side, price, QTY))
            actions.append((t + HOLD, 1, oid, side, price, QTY))
            oid += 1
    return np.array(sorted(actions, key=lambda a: (a[0], a[1], a[2])), dtype=np.int64)


def ours(events, actions):
    sim = lob.Simulator(events, book=lob.OrderBook(), latency_ns=LATENCY)
    for ts, kind, oid, side, price, qty in actions.tolist():
        if kind == 0:
            assert sim.submit(side, price, qty, ts=ts) == oid
        else:
            sim.cancel(oid, ts=ts)
    sim.run()
    return sim


def fill_causes(events, sim):
    """Per own fill: "at its price" (a feed execution at its price and side at
    that time), "trade-through" (executions only at worse prices), "crossed"
    (no execution: a feed add reached it, rule 5), "taker"."""
    price_of = dict(zip(events["order_id"][events["kind"] == lob.ADD].tolist(),
                        events["price"][events["kind"] == lob.ADD].tolist()))
    executions = {}
    is_exec = events["kind"] == lob.EXECUTE
    for ts, side, oid in zip(events["ts"][is_exec].tolist(), events["side"][is_exec].tolist(),
                             events["order_id"][is_exec].tolist()):
        executions.setdefault((ts, side), set()).add(price_of[oid])
    causes = []
    for ts, oid, side, price, liquidity in zip(*(sim.fills[f].tolist() for f in
                                                  ("ts", "order_id", "side", "price", "liquidity"))):
        seen = executions.get((ts, side))
        causes.append("taker" if liquidity else "crossed" if not seen else
                      "at its price" if price in seen else "trade-through")
    return causes


def compare(events, actions, sim, theirs):
    """{category: count} of the orders, by how the two filled them (and, where
    lobcore filled, how: see fill_causes)."""
    fills = sim.fills
    causes = np.array(fill_causes(events, sim), dtype=object)
    counts = {}
    theirs = {row[0]: row for row in theirs}
    for oid in np.unique(actions[:, 2]).tolist():
        mine = fills["order_id"] == oid
        order = sim.order(oid)
        other = theirs.get(oid)
        their_ts = other[3] if other is not None and other[1] == 3 else None
        how = "/".join(sorted(set(causes[mine].tolist())))
        if not mine.any():
            key = "neither" if their_ts is None else "theirs only"
        elif their_ts is None:
            key = f"ours only ({how})"
        elif order.filled < order.qty:
            key = f"ours partial, theirs whole ({how})"
        elif int(fills["ts"][mine][-1]) == their_ts:
            key = f"same: whole, same time ({how})"
        elif int(fills["ts"][mine][-1]) > their_ts:
            key = f"ours later: needed more executed qty ({how})"
        else:
            key = f"ours earlier ({how})"
        counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.fixture(scope="module")
def peer(full_run):
    if not full_run and os.environ.get("LOB_SIM_PEER") != "1":
        pytest.skip("numba compiles hftbacktest's driver for a minute: only with --benchmark-enable (or "
                    "LOB_SIM_PEER=1)")
    python = peer_python()
    if python is None:
        pytest.skip("bench/.venv-peers has no hftbacktest (LOB_BENCH_PEERS=1 builds it)")
    return python


@pytest.mark.benchmark(group="own orders on an L3 replay (ns per event)")
def test_against_hftbacktest(benchmark, peer, full_run, tmp_path, capsys):
    events = lob.synth.generate(2_000_000 if full_run else 200_000, seed=1)
    actions = schedule(events)
    np.save(tmp_path / "events.npy", events)
    np.save(tmp_path / "actions.npy", actions)
    out = tmp_path / "hbt.json"
    proc = subprocess.run([peer, str(BENCH / "sim_hftbacktest.py"), str(tmp_path / "events.npy"),
                           str(tmp_path / "actions.npy"), str(LATENCY), str(out)],
                          capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(out.read_text())
    benchmark.extra_info.update(impl="lobcore Simulator", calls=len(events))
    sim = benchmark.pedantic(ours, args=(events, actions), rounds=5 if benchmark.enabled else 1, iterations=1)
    start = time.perf_counter()
    ours(events, actions)
    our_s = time.perf_counter() - start
    counts = compare(events, actions, sim, theirs["orders"])
    with capsys.disabled():
        print(f"\n{len(events):,} events, {len(actions) // 2} own orders (latency {LATENCY} ns): lobcore "
              f"{our_s * 1e9 / len(events):.1f} ns/event ({our_s:.3f} s), hftbacktest L3 "
              f"{theirs['seconds'] * 1e9 / len(events):.1f} ns/event ({theirs['seconds']:.3f} s, its "
              f"{theirs['events']:,} rows); hftbacktest / lobcore {theirs['seconds'] / our_s:.1f}x")
        for key, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            print(f"  {count:6,}  {key}")
    assert sum(counts.values()) == len(actions) // 2
