"""MatchingEngine: order types, refusals, errors, and what fills do to the book."""
import math

import numpy as np
import pytest

import lob


@pytest.fixture
def eng():
    e = lob.MatchingEngine()
    for oid, side, price, qty in [(1, 1, 101, 5), (2, 1, 101, 3), (3, 1, 102, 10), (4, 0, 99, 7), (5, 0, 98, 2)]:
        assert e.submit(oid, side, price, qty).status == "resting"
    return e


def fills(rep):
    return rep.fills.tolist()


def test_crossing_limit_trades_best_price_first_fifo(eng):
    rep = eng.submit(10, lob.BID, 102, 12)
    assert (rep.status, rep.filled, rep.remaining) == ("filled", 12, 0)
    assert fills(rep) == [(10, 1, 101, 5, 0), (10, 2, 101, 3, 0), (10, 3, 102, 4, 6)]
    assert rep.fills.dtype == lob.FILL_DTYPE and rep.filled == rep.fills["qty"].sum()
    book = eng.book
    assert book.best_ask == 102 and book.best_ask_qty == 6 and 10 not in book
    assert book.buy_volume == 12 and book.volume_delta == 12 and book.trade_count == 3
    assert book.vwap == pytest.approx((101 * 8 + 102 * 4) / 12) and book.last_trade_price == 102
    book.check()


def test_gtc_remainder_rests(eng):
    rep = eng.submit(10, lob.BID, 101, 10)
    assert (rep.status, rep.filled, rep.remaining) == ("partial", 8, 2)
    assert eng.book.best_bid == 101 and eng.book.order(10) == (0, 101, 2)
    eng.book.check()


def test_ioc_and_market(eng):
    rep = eng.submit(10, lob.BID, 101, 10, tif="IOC")
    assert (rep.status, rep.filled, rep.remaining) == ("partial", 8, 0) and 10 not in eng.book
    rep = eng.submit(11, lob.BID, 100, 5, tif="IOC")
    assert (rep.status, rep.filled) == ("cancelled", 0) and len(rep.fills) == 0
    rep = eng.market(12, lob.ASK, 8)
    assert rep.status == "filled" and fills(rep) == [(12, 4, 99, 7, 0), (12, 5, 98, 1, 1)]
    assert eng.book.sell_volume == 8
    rep = eng.market(13, lob.ASK, 5)
    assert (rep.status, rep.filled) == ("partial", 1) and eng.book.best_bid is None
    assert eng.market(14, lob.ASK, 5).status == "cancelled"
    eng.book.check()


def test_fok(eng):
    before = eng.book.snapshot().tobytes()
    rep = eng.submit(10, lob.BID, 101, 9, tif="FOK")          # 8 available at <= 101
    assert (rep.status, rep.filled, rep.remaining) == ("rejected", 0, 0)
    assert eng.book.snapshot().tobytes() == before and eng.book.trade_count == 0
    rep = eng.submit(11, lob.BID, 102, 9, tif="FOK")
    assert (rep.status, rep.filled) == ("filled", 9)


def test_post_only(eng):
    before = eng.book.snapshot().tobytes()
    rep = eng.submit(10, lob.BID, 101, 1, post_only=True)
    assert rep.status == "rejected" and eng.book.snapshot().tobytes() == before
    rep = eng.submit(11, lob.BID, 100, 1, post_only=True)
    assert rep.status == "resting" and eng.book.best_bid == 100


def test_modify(eng):
    assert eng.modify(4, 99, 5).status == "resting"           # in place, keeps priority
    eng.submit(20, lob.BID, 99, 1)
    assert eng.book.orders_at(0, 99) == [4, 20]
    rep = eng.modify(4, 101, 9)                               # crosses: trades as GTC, rest rests
    assert (rep.status, rep.filled, rep.remaining) == ("partial", 8, 1)
    assert fills(rep) == [(4, 1, 101, 5, 0), (4, 2, 101, 3, 0)]
    assert eng.book.order(4) == (0, 101, 1)
    assert eng.modify(4, 95, 3).status == "resting" and eng.book.orders_at(0, 95) == [4]
    with pytest.raises(lob.UnknownOrderError):
        eng.modify(999, 100, 1)
    eng.book.check()


def test_cancel(eng):
    assert eng.cancel(3) == 10 and 3 not in eng.book
    with pytest.raises(lob.UnknownOrderError):
        eng.cancel(3)


@pytest.mark.parametrize("args,kwargs,error", [
    ((1, 0, 100, 1), {}, lob.DuplicateOrderError),
    ((10, 2, 100, 1), {}, ValueError),
    ((10, 0, 100, 0), {}, ValueError),
    ((10, 0, 100, 1), {"tif": "DAY"}, ValueError),
    ((10, 0, 100, 1), {"tif": "IOC", "post_only": True}, ValueError),
    ((10, 0, 100.5, 1), {}, TypeError),
    ((-1, 0, 100, 1), {}, OverflowError),
])
def test_malformed_submit_changes_nothing(eng, args, kwargs, error):
    before = (eng.book.snapshot().tobytes(), eng.book._flow_state())
    with pytest.raises(error):
        eng.submit(*args, **kwargs)
    assert (eng.book.snapshot().tobytes(), eng.book._flow_state()) == before


def test_fills_array_is_fresh_and_empty_is_read_only(eng):
    a = eng.submit(10, lob.BID, 101, 1)
    b = eng.submit(11, lob.BID, 101, 1)
    assert fills(a) == [(10, 1, 101, 1, 4)] and fills(b) == [(11, 1, 101, 1, 3)]
    empty = eng.submit(12, lob.BID, 50, 1).fills
    assert len(empty) == 0 and not empty.flags.writeable and not a.fills.flags.writeable


def test_conservation_on_random_flow():
    rng = np.random.default_rng(3)
    eng = lob.MatchingEngine()
    for oid in range(5000):
        side = int(rng.integers(0, 2))
        price = int(1000 + rng.integers(-10, 11))
        qty = int(rng.integers(1, 50))
        tif = ["GTC", "GTC", "IOC", "FOK"][int(rng.integers(0, 4))]
        rep = eng.submit(oid, side, price, qty, tif=tif)
        assert rep.filled == int(rep.fills["qty"].sum()) <= qty
        assert (rep.fills["maker_remaining"] >= 0).all()
        assert rep.remaining == (qty - rep.filled if tif == "GTC" else 0)
        book = eng.book
        if book.best_bid is not None and book.best_ask is not None:
            assert book.best_bid < book.best_ask
    eng.book.check()
    assert eng.book.buy_volume + eng.book.sell_volume > 0 and not math.isnan(eng.book.vwap)
