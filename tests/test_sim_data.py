"""lob.Simulator on the shared real samples (LOBSTER AAPL and GOOG, the CME
DBN sample) and on ITCH files with C messages: without own orders it
replays exactly as OrderBook.apply; with own orders it equals the
plain-Python model fill for fill, keeps the book's invariants and conserves
own qty."""
import pathlib
import random

import numpy as np
import pytest

import lob
import lob.io
from sim_model import ModelSim
from test_itch import executions_as_c
from test_sim_model import Strategy, assert_same

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
LOBSTER = SHARED / "lobster"
AAPL = (LOBSTER / "AAPL_2012-06-21_34200000_57600000_message_10.csv",
        LOBSTER / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv")
GOOG = (LOBSTER / "GOOG_2012-06-21_34200000_57600000_message_1.csv",
        LOBSTER / "GOOG_2012-06-21_34200000_57600000_orderbook_1.csv")
DBN = SHARED / "dbn" / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst"


def need(path):
    if not path.exists():
        pytest.skip(f"{path} is not present (../shared/data)")


def sample(name):
    if name == "aapl":
        need(AAPL[0])
        return lob.io.read_lobster(*AAPL), 100, 100           # LOBSTER: dollars x 10,000, tick $0.01
    if name == "goog":
        need(GOOG[0])
        return lob.io.read_lobster(*GOOG), 100, 100
    pytest.importorskip("databento_dbn")
    need(DBN)
    return lob.io.read_dbn(DBN), 250_000_000, 1               # ES: 1e-9 units, tick 0.25, 1 contract


@pytest.mark.parametrize("name", ["aapl", "goog", "dbn"])
def test_without_own_orders_it_replays_as_apply(name):
    events, _, _ = sample(name)
    sim = lob.Simulator(events)
    sim.run()
    reference = lob.OrderBook(allow_cross=sim.book.allow_cross)
    reference.apply(events, record=False, on_error="skip")
    assert sim.book.snapshot().tobytes() == reference.snapshot().tobytes()
    assert sim.book.anonymous_levels().tolist() == reference.anonymous_levels().tolist()
    assert sim.book._flow_state() == reference._flow_state() and sim.book.ofi == reference.ofi
    assert sim.rejected == reference.last_rejected and sim.reconciled == 0
    assert sim.own_ids[0] > int(events["order_id"].max())
    sim.book.check()


@pytest.mark.parametrize("name,every_s,latency", [("aapl", 0.2, 0), ("aapl", 0.5, 300_000),
                                                  ("goog", 120, 1_000_000), ("dbn", 0.02, 50_000)])
def test_own_orders_equal_the_model(name, every_s, latency):
    events, tick, lot = sample(name)
    every = int(every_s * 1e9)
    sim = lob.Simulator(events, latency_ns=latency)
    model = ModelSim(events, allow_cross=sim.book.allow_cross, latency_ns=latency, own_base=sim.own_ids[0])
    mid = int(np.median(events["price"][events["kind"] == lob.ADD]))
    ours, theirs = Strategy(7, tick=tick, lot=lot, mid=mid), Strategy(7, tick=tick, lot=lot, mid=mid)
    times = np.unique(events["ts"]).tolist()
    for until in times[:: max(1, len(times) // 25)] + [None]:
        sim.run(until, every_ns=every, on_timer=ours.on_timer, on_fill=ours.on_fill)
        model.run(until, every_ns=every, on_timer=theirs.on_timer, on_fill=theirs.on_fill)
        assert_same(sim, model, ours, f"{name} until={until}")
    fills = sim.fills
    assert len(fills) > 5 and (fills["liquidity"] == 1).any()
    if name != "dbn":             # 2 s of CME with 5 executions: no maker fill there
        assert (fills["liquidity"] == 0).any() and sim.reconciled > 0


@pytest.fixture(scope="module")
def itch_with_c(tmp_path_factory):
    streams = {"AAA": lob.synth.generate(3000, seed=11, target_orders=150, p_modify=0.05),
               "BBB": lob.synth.generate(2000, seed=12, target_orders=150, first_id=10**6)}
    folder = tmp_path_factory.mktemp("itch_c")
    plain = folder / "day.itch"
    lob.synth.write_itch(streams, plain)
    path = folder / "day_c.itch"
    path.write_bytes(executions_as_c(plain.read_bytes(), seed=3, other_price=0.1, silent=0.05))
    return path


def test_itch_c_executions_fill_own_orders_like_e(itch_with_c):
    """A C at the order's price is an execution: own orders ahead of it fill
    by rule 4; the model agrees on the ITCH stream of each stock."""
    books = lob.io.read_itch(itch_with_c)
    assert set(books) == {"AAA", "BBB"}
    for name, events in books.items():
        assert (events["kind"] == lob.EXECUTE).sum() > 50        # Cs at the order's price
        sim = lob.Simulator(events, latency_ns=20_000)
        model = ModelSim(events, allow_cross=sim.book.allow_cross, latency_ns=20_000, own_base=sim.own_ids[0])
        ours, theirs = Strategy(3, lot=100, mid=1_000_000), Strategy(3, lot=100, mid=1_000_000)
        for until in np.unique(events["ts"]).tolist()[::200] + [None]:
            sim.run(until, every_ns=2_000_000, on_timer=ours.on_timer, on_fill=ours.on_fill)
            model.run(until, every_ns=2_000_000, on_timer=theirs.on_timer, on_fill=theirs.on_fill)
            assert_same(sim, model, ours, f"{name} until={until}")
        assert (sim.fills["liquidity"] == 0).sum() > 0


def test_shared_itch_sample_has_nothing_to_simulate():
    need(SHARED / "itch" / "sample.itch")
    assert lob.io.read_itch(SHARED / "itch" / "sample.itch") == {}
    sim = lob.Simulator(np.zeros(0, dtype=lob.EVENT_DTYPE))
    oid = sim.submit(lob.BID, 100, 5, ts=0)
    sim.run()
    assert sim.order(oid).status == "resting" and sim.now == 0 and sim.last_ts is None


def test_lobster_passive_order_sits_in_the_real_queue():
    """A bid joining the AAPL best bid waits behind the real queue: its
    queue ahead is the level's qty when it arrives, and only shrinks."""
    events, tick, lot = sample("aapl")
    sim = lob.Simulator(events, latency_ns=100_000)
    start = int(events["ts"][200])
    sim.run(start)
    best = sim.book.best_bid
    oid = sim.submit(lob.BID, best, 100, ts=start)
    sim.run(start + 100_000)
    ahead = [sim.book.queue_ahead(oid)]
    assert ahead[0] == sim.book.level_qty(lob.BID, best) - 100
    for ts in np.unique(events["ts"][events["ts"] > start + 100_000]).tolist()[:300]:
        sim.run(ts)
        if sim.order(oid).status != "resting":
            break
        ahead.append(sim.book.queue_ahead(oid))
    assert all(b <= a for a, b in zip(ahead, ahead[1:]))
    random.seed(0)
