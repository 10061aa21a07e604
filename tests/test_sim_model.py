"""lob.Simulator against the plain-Python simulator of tests/sim_model.py,
fill for fill, on random streams with random own orders, latencies and
callbacks (hypothesis).  LOB_SIM_EXAMPLES=N soaks it."""
import math
import os
import random

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import lob
from sim_model import ModelSim, random_stream

EXAMPLES = int(os.environ.get("LOB_SIM_EXAMPLES", "60"))


class Strategy:
    """Own actions from the callbacks, the same for both simulators (a seeded
    random.Random; they diverge only if the simulators do)."""

    def __init__(self, seed, tick=1, lot=10, mid=1000):
        self.rng = random.Random(seed)
        self.oids = []
        self.tick, self.lot, self.mid = tick, lot, mid

    def on_timer(self, sim, ts):
        rng = self.rng
        r = rng.random()
        side = rng.randrange(2)
        touch = sim.book.best_bid if side == lob.BID else sim.book.best_ask
        other = sim.book.best_ask if side == lob.BID else sim.book.best_bid
        if r < 0.45:
            ref = touch if touch is not None else (other if other is not None else self.mid)
            price = ref + (1 if side == lob.BID else -1) * rng.choice((-2, -1, 0, 0, 0, 1, 2)) * self.tick
            tif = rng.choice(("GTC", "GTC", "GTC", "IOC", "FOK"))
            self.oids.append(sim.submit(side, price, rng.randint(1, 8) * self.lot, ts=ts, tif=tif,
                                        post_only=tif == "GTC" and rng.random() < 0.2))
        elif r < 0.55:
            self.oids.append(sim.market(side, rng.randint(1, 6) * self.lot, ts=ts))
        elif r < 0.8 and self.oids:
            sim.cancel(rng.choice(self.oids), ts=ts)

    def on_fill(self, sim, fill):
        if self.rng.random() < 0.2:
            self.oids.append(sim.submit(1 - fill[2], fill[3], fill[4], ts=fill[0]))


def same_fills(ours, theirs):
    if len(ours) != len(theirs):
        return False
    return all(a[:7] == b[:7] and (a[7] == b[7] or (math.isnan(a[7]) and math.isnan(b[7]))) for a, b in zip(ours, theirs))


def assert_same(sim, model, strategy, where):
    sim.book.check()
    assert [tuple(r) for r in sim.book.snapshot().tolist()] == model.book.snapshot(), where
    assert [tuple(r) for r in sim.book.anonymous_levels().tolist()] == model.book.anonymous(), where
    assert same_fills([tuple(r) for r in sim.fills.tolist()], model.fills), where
    assert (sim.reconciled, sim.rejected) == (model.reconciled, model.rejected), where
    assert sim.book._flow_state() == model.book.flow(), where
    assert sim.now == model.now and sim.position == model.pos, where
    for oid in strategy.oids:
        order = sim.order(oid)
        assert tuple(order) == model.order(oid), (where, oid)
        # own qty conserved: filled + resting + cancelled = sent
        assert order.status == "pending" or order.filled + order.resting + order.cancelled == order.qty


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), n=st.integers(50, 400), latency=st.sampled_from([0, 0, 100, 300, 1000, 5000]),
       every=st.sampled_from([150, 400, 1500]), allow_cross=st.booleans(), steps=st.integers(1, 40),
       ofi_levels=st.integers(1, 4))
def test_simulator_equals_the_model(seed, n, latency, every, allow_cross, steps, ofi_levels):
    events = random_stream(random.Random(seed), n)
    # signals kept as it goes: book.check() verifies their baselines after own fills too
    book = lob.OrderBook(allow_cross=allow_cross, ofi_levels=ofi_levels, vwap_window_ns=2_000, halflife_ns=500)
    sim = lob.Simulator(events, book=book, latency_ns=latency)
    model = ModelSim(events, allow_cross=allow_cross, latency_ns=latency, own_base=sim.own_ids[0])
    ours, theirs = Strategy(seed), Strategy(seed)
    # orders sent before the replay, in no particular time order
    rng = random.Random(seed + 1)
    for _ in range(rng.randint(0, 4)):
        ts = int(events["ts"][rng.randrange(len(events))])
        side, qty = rng.randrange(2), rng.randint(1, 5) * 10
        price = 1000 + rng.randint(-3, 3)
        for s, strat in ((sim, ours), (model, theirs)):
            strat.oids.append(s.submit(side, price, qty, ts=ts))
    times = np.unique(events["ts"]).tolist()
    cuts = times[:: max(1, len(times) // steps)] + [None]
    for until in cuts:
        sim.run(until, every_ns=every, on_timer=ours.on_timer, on_fill=ours.on_fill)
        model.run(until, every_ns=every, on_timer=theirs.on_timer, on_fill=theirs.on_fill)
        assert_same(sim, model, ours, f"seed={seed} until={until}")


@settings(max_examples=max(EXAMPLES // 3, 10), deadline=None)
@given(seed=st.integers(0, 2**32), latency=st.sampled_from([0, 250, 2000]))
def test_pre_sent_orders_alone_equal_the_model(seed, latency):
    """Own orders sent before the replay (no callbacks): limits at random
    prices near the touch, market orders, cancels, run in one go."""
    events = random_stream(random.Random(seed), 300)
    sim = lob.Simulator(events, latency_ns=latency)
    model = ModelSim(events, allow_cross=sim.book.allow_cross, latency_ns=latency, own_base=sim.own_ids[0])
    strategy = Strategy(seed)
    rng = random.Random(seed)
    times = sorted(rng.sample(events["ts"].tolist(), min(30, len(events))))
    for ts in times:
        kind = rng.random()
        for s in (sim, model):
            r = random.Random(ts + seed)
            if kind < 0.6:
                oid = s.submit(r.randrange(2), 1000 + r.randint(-3, 3), r.randint(1, 8) * 10, ts=ts)
            elif kind < 0.8:
                oid = s.market(r.randrange(2), r.randint(1, 5) * 10, ts=ts)
            elif strategy.oids:
                s.cancel(strategy.oids[r.randrange(len(strategy.oids))], ts=ts)
                continue
            else:
                continue
        if kind < 0.8:
            strategy.oids.append(oid)
    sim.run()
    model.run()
    assert_same(sim, model, strategy, f"seed={seed}")
