"""MatchingEngine.submit_many equals the same requests one call at a time."""
import numpy as np
import pytest

import lob

TIFS = ("GTC", "IOC", "FOK")


def one_at_a_time(requests):
    eng = lob.MatchingEngine()
    fills, rows, self_trades = [], [], []
    for r in requests.tolist():
        _, kind, side, tif, flags, oid, price, qty, display, owner, stp = r
        if kind == 1:
            rep = eng.submit(oid, side, price, qty, tif=TIFS[tif], post_only=bool(flags & 1),
                             display_qty=display or None, owner=owner or None, stp=lob.STP_MODES[stp])
        elif kind == 2:
            rep = eng.market(oid, side, qty, owner=owner or None, stp=lob.STP_MODES[stp])
        elif kind == 3:
            was = eng.cancel(oid)
            rows.append((lob.OUTCOMES.index("cancelled"), 0, 0, was, len(fills), 0))
            continue
        else:
            rep = eng.modify(oid, price, qty)
        cancelled = qty - rep.filled - rep.remaining
        rows.append((lob.OUTCOMES.index(rep.status), rep.filled, rep.remaining, cancelled, len(fills), len(rep.fills)))
        fills += rep.fills.tolist()
        self_trades += rep.self_trades.tolist()
    return eng, fills, rows, self_trades


def resting_orders(eng):
    depth = eng.book.depth(1 << 20)
    ids = [i for side, prices in ((0, depth.bid_price), (1, depth.ask_price)) for p in prices.tolist()
           for i in eng.book.orders_at(side, p)]
    return [(i, eng.order(i)) for i in ids]


FLOWS = {
    "plain": {},
    "icebergs": {"p_iceberg": 0.3},
    "owners": {"n_owners": 3},
    "icebergs+owners": {"p_iceberg": 0.3, "n_owners": 4},
}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("flow", list(FLOWS))
def test_submit_many_equals_calls(seed, flow):
    requests = lob.synth.orders(3000, seed=seed, **FLOWS[flow])
    eng = lob.MatchingEngine()
    fills, reports = eng.submit_many(requests)
    self_trades = eng.last_self_trades
    ref, ref_fills, ref_rows, ref_self_trades = one_at_a_time(requests)
    assert fills.tolist() == ref_fills
    assert reports.tolist() == ref_rows
    assert self_trades.tolist() == ref_self_trades
    assert eng.book.snapshot().tobytes() == ref.book.snapshot().tobytes()
    assert eng.book._flow_state() == ref.book._flow_state()
    assert resting_orders(eng) == resting_orders(ref)
    eng.check()
    statuses = np.bincount(reports["status"], minlength=5)
    assert statuses[0] > 0 and statuses[2] > 0 and (reports["n_fills"] > 1).sum() > 50
    # conservation: each report's filled is the sum of its fills
    per_request = np.zeros(len(requests), dtype=np.int64)
    owner_of = np.repeat(np.arange(len(requests)), reports["n_fills"])
    np.add.at(per_request, owner_of, fills["qty"])
    assert (per_request == reports["filled"]).all()
    if "icebergs" in flow:
        assert any(o.hidden_qty for _, o in resting_orders(eng))
    if "owners" in flow:
        assert len(self_trades) > 20 and set(self_trades["taker_removed"] > 0) == {False, True}


def test_flow_shape():
    requests = lob.synth.orders(5000, seed=7)
    _, reports = lob.MatchingEngine().submit_many(requests)
    limits = requests["kind"] == 1
    crossing = reports["n_fills"][limits] > 0
    assert 0.2 < crossing.mean() < 0.5                  # about a third of the limits trade
    assert reports["n_fills"][limits][crossing].mean() > 1.5


def test_submit_many_errors_stop_at_the_request():
    requests = lob.synth.orders(200, seed=1)
    bad = requests.copy()
    bad[120] = (0, 3, 0, 0, 0, 10**12, 0, 0, 0, 0, 0)   # cancel of an unknown id
    eng = lob.MatchingEngine()
    with pytest.raises(lob.EventError) as info:
        eng.submit_many(bad)
    assert info.value.index == 120 and isinstance(info.value.__cause__, lob.UnknownOrderError)
    assert len(info.value.reports) == 120
    ref = lob.MatchingEngine()
    ref.submit_many(requests[:120])
    assert eng.book.snapshot().tobytes() == ref.book.snapshot().tobytes()
    bad_tif = requests[:5].copy()
    bad_tif[3]["kind"], bad_tif[3]["tif"] = 1, 7
    with pytest.raises(lob.EventError, match="tif"):
        lob.MatchingEngine().submit_many(bad_tif)
    with pytest.raises(TypeError, match="ORDER_DTYPE"):
        lob.MatchingEngine().submit_many(np.zeros(3))
    fills, reports = lob.MatchingEngine().submit_many(requests[:0])
    assert len(fills) == len(reports) == 0
    for field, value, match in (("display_qty", -1, "display_qty"), ("stp", 4, "stp")):
        bad = requests[:5].copy()
        bad[3]["kind"], bad[3]["tif"], bad[3][field] = 1, 0, value
        with pytest.raises(lob.EventError, match=match) as info:
            lob.MatchingEngine().submit_many(bad)
        assert info.value.index == 3
    bad = requests[:5].copy()
    bad[2]["kind"], bad[2]["tif"], bad[2]["display_qty"] = 1, 1, 5    # an IOC iceberg
    with pytest.raises(lob.EventError, match="display_qty"):
        lob.MatchingEngine().submit_many(bad)


@pytest.mark.parametrize("seed", range(6))
def test_submit_many_random_rows_never_break_the_engine(seed):
    """Arbitrary field values (random kinds, sides, tifs, flags, ids from a small
    set, prices near each other, qtys and display sizes of any sign, owners and
    stp modes): every batch either runs or stops with EventError at a request,
    and the engine's invariants hold after each."""
    rng = np.random.default_rng(seed)
    eng = lob.MatchingEngine()
    for _ in range(40):
        n = int(rng.integers(1, 60))
        req = np.zeros(n, dtype=lob.ORDER_DTYPE)
        req["kind"] = rng.integers(0, 6, n)
        req["side"] = rng.integers(-1, 3, n)
        req["tif"] = rng.integers(0, 4, n)
        req["flags"] = rng.integers(0, 3, n)
        req["order_id"] = rng.integers(0, 40, n)
        req["price"] = rng.integers(95, 106, n)
        req["qty"] = rng.integers(-5, 400, n)
        req["display_qty"] = rng.integers(-2, 120, n) * (rng.random(n) < 0.5)
        req["owner"] = rng.integers(0, 4, n)
        req["stp"] = rng.integers(0, 5, n)
        try:
            fills, reports = eng.submit_many(req)
        except lob.EventError as err:
            assert 0 <= err.index < n and len(err.reports) == err.index
        eng.check()
        book = eng.book
        if book.best_bid is not None and book.best_ask is not None:
            assert book.best_bid < book.best_ask
