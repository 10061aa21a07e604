"""MatchingEngine: icebergs (display_qty) and self-trade prevention (owner, stp)."""
import numpy as np
import pytest

import lob
from lob import ASK, BID


def fill_rows(rep):
    return [(int(f["maker_id"]), int(f["price"]), int(f["qty"]), int(f["maker_remaining"])) for f in rep.fills]


def stp_rows(rep):
    return [tuple(int(v) for v in row) for row in rep.self_trades.tolist()]


# ---------------------------------------------------------------- icebergs

def test_iceberg_shows_only_its_slice():
    eng = lob.MatchingEngine()
    rep = eng.submit(1, ASK, 101, 1000, display_qty=100)
    assert (rep.status, rep.remaining) == ("resting", 1000)
    assert eng.book.best_ask_qty == 100 and eng.book.level_qty(ASK, 101) == 100
    assert eng.book.order(1) == (ASK, 101, 100)
    assert eng.order(1) == lob.EngineOrder(ASK, 101, 100, 900, 100, None)
    assert list(eng.book.depth(1).ask_qty) == [100]
    eng.check()


def test_display_at_least_qty_is_a_plain_order():
    eng = lob.MatchingEngine()
    eng.submit(1, BID, 99, 50, display_qty=50)
    assert eng.order(1) == lob.EngineOrder(BID, 99, 50, 0, None, None)


def test_refill_goes_to_the_back_of_the_queue():
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, 300, display_qty=100)   # iceberg first in the queue
    eng.submit(2, ASK, 101, 50)
    assert eng.book.orders_at(ASK, 101) == [1, 2]
    rep = eng.submit(10, BID, 101, 100, tif="IOC")   # takes the whole slice
    assert fill_rows(rep) == [(1, 101, 100, 200)]
    assert eng.book.orders_at(ASK, 101) == [2, 1]    # refilled behind order 2
    assert eng.order(1).qty == 100 and eng.order(1).hidden_qty == 100
    assert eng.book.queue_ahead(1) == 50
    eng.check()


def test_taker_meets_the_refilled_slice_again():
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, 250, display_qty=100)
    eng.submit(2, ASK, 101, 30)
    rep = eng.submit(10, BID, 101, 260)
    # slice 100, then order 2, then the refill 100, then the last 50 of it
    assert fill_rows(rep) == [(1, 101, 100, 150), (2, 101, 30, 0), (1, 101, 100, 50), (1, 101, 30, 20)]
    assert rep.status == "filled" and eng.order(1) == lob.EngineOrder(ASK, 101, 20, 0, 100, None)
    assert eng.book.volume_delta == 260
    eng.check()


def test_partial_fill_of_a_slice_keeps_its_place():
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, 300, display_qty=100)
    eng.submit(2, ASK, 101, 50)
    rep = eng.submit(10, BID, 101, 40, tif="IOC")
    assert fill_rows(rep) == [(1, 101, 40, 260)]
    assert eng.book.orders_at(ASK, 101) == [1, 2] and eng.order(1)[2:4] == (60, 200)


def test_fok_counts_hidden_qty():
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, 500, display_qty=100)
    assert eng.submit(10, BID, 101, 501, tif="FOK").status == "rejected"
    assert eng.order(1)[2:4] == (100, 400)
    rep = eng.submit(11, BID, 101, 500, tif="FOK")
    # the first slice, then the four refills it passes completely in one row
    assert rep.status == "filled" and fill_rows(rep) == [(1, 101, 100, 400), (1, 101, 400, 0)]
    assert 1 not in eng.book


def test_iceberg_taker_rests_its_rest_as_an_iceberg():
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, 70)
    rep = eng.submit(2, BID, 101, 500, display_qty=100)
    assert (rep.status, rep.filled, rep.remaining) == ("partial", 70, 430)
    assert eng.order(2) == lob.EngineOrder(BID, 101, 100, 330, 100, None)


def test_cancel_returns_visible_plus_hidden():
    eng = lob.MatchingEngine()
    eng.submit(1, BID, 99, 1000, display_qty=100)
    assert eng.cancel(1) == 1000 and 1 not in eng.book and len(eng.book) == 0
    eng.check()


def test_modify_iceberg_same_price_smaller_keeps_place():
    eng = lob.MatchingEngine()
    eng.submit(1, BID, 99, 1000, display_qty=100)
    eng.submit(2, BID, 99, 10)
    rep = eng.modify(1, 99, 150)       # the reserve shrinks first
    assert rep.status == "resting" and rep.remaining == 150
    assert eng.book.orders_at(BID, 99) == [1, 2] and eng.order(1)[2:4] == (100, 50)
    eng.modify(1, 99, 40)
    assert eng.order(1)[2:4] == (40, 0) and eng.book.orders_at(BID, 99) == [1, 2]
    eng.check()


def test_modify_iceberg_growing_or_moving_loses_place_with_a_fresh_slice():
    eng = lob.MatchingEngine()
    eng.submit(1, BID, 99, 300, display_qty=100)
    eng.submit(2, BID, 99, 10)
    eng.submit(10, ASK, 99, 60, tif="IOC")              # slice now 40
    eng.modify(1, 99, 500)
    assert eng.book.orders_at(BID, 99) == [2, 1] and eng.order(1)[2:5] == (100, 400, 100)
    eng.modify(1, 98, 250)
    assert eng.order(1) == lob.EngineOrder(BID, 98, 100, 150, 100, None)
    eng.check()


def test_modify_iceberg_to_a_crossing_price_trades_and_rests_as_an_iceberg():
    eng = lob.MatchingEngine()
    eng.submit(1, BID, 99, 300, display_qty=100, owner=7)
    eng.submit(2, ASK, 101, 50)
    rep = eng.modify(1, 101, 300)
    assert fill_rows(rep) == [(2, 101, 50, 0)] and rep.remaining == 250
    assert eng.order(1) == lob.EngineOrder(BID, 101, 100, 150, 100, 7)
    eng.check()


def test_iceberg_argument_errors_change_nothing():
    eng = lob.MatchingEngine()
    with pytest.raises(ValueError, match="display_qty"):
        eng.submit(1, BID, 99, 100, display_qty=0)
    with pytest.raises(ValueError, match="display_qty"):
        eng.submit(1, BID, 99, 100, tif="IOC", display_qty=10)
    with pytest.raises(TypeError, match="display_qty"):
        eng.submit(1, BID, 99, 100, display_qty=10.0)
    with pytest.raises(ValueError, match="side"):       # side comes before display_qty
        eng.submit(1, 5, 99, 100, display_qty=0)
    assert len(eng.book) == 0
    eng.check()


# ---------------------------------------------------------------- self-trade prevention

def book_with_own_maker():
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, 100, owner=7)       # own order first in the queue
    eng.submit(2, ASK, 101, 100, owner=8)
    eng.submit(3, ASK, 102, 100)
    return eng


def test_stp_cancel_taker():
    eng = book_with_own_maker()
    rep = eng.submit(10, BID, 102, 150, owner=7, stp="cancel_taker")
    assert (rep.status, rep.filled, rep.remaining) == ("cancelled", 0, 0)
    assert stp_rows(rep) == [(10, 1, 150, 0, 100)]
    assert 10 not in eng.book and eng.book.orders_at(ASK, 101) == [1, 2]   # nothing traded, nothing rests
    assert eng.book.trade_count == 0


def test_stp_cancel_maker():
    eng = book_with_own_maker()
    rep = eng.submit(10, BID, 102, 150, owner=7, stp="cancel_maker")
    assert stp_rows(rep) == [(10, 1, 0, 100, 0)]
    assert fill_rows(rep) == [(2, 101, 100, 0), (3, 102, 50, 50)]
    assert rep.status == "filled" and 1 not in eng.book


def test_stp_cancel_both():
    eng = book_with_own_maker()
    rep = eng.submit(10, BID, 102, 150, owner=7, stp="cancel_both")
    assert stp_rows(rep) == [(10, 1, 150, 100, 0)] and len(rep.fills) == 0
    assert rep.status == "cancelled" and 1 not in eng.book and 10 not in eng.book
    assert eng.book.orders_at(ASK, 101) == [2]


def test_stp_decrement():
    eng = book_with_own_maker()
    rep = eng.submit(10, BID, 102, 250, owner=7, stp="decrement")
    assert stp_rows(rep) == [(10, 1, 100, 100, 0)]
    assert fill_rows(rep) == [(2, 101, 100, 0), (3, 102, 50, 50)]
    assert (rep.status, rep.filled, rep.remaining) == ("partial", 150, 0)
    eng = book_with_own_maker()
    rep = eng.submit(10, BID, 102, 60, owner=7, stp="decrement")
    assert stp_rows(rep) == [(10, 1, 60, 60, 40)] and rep.status == "cancelled"
    assert eng.book.orders_at(ASK, 101) == [1, 2] and eng.book.order(1) == (ASK, 101, 40)


def test_stp_decrement_takes_an_iceberg_reserve_first():
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, 500, display_qty=100, owner=7)
    eng.submit(2, ASK, 101, 100)
    rep = eng.submit(10, BID, 101, 300, tif="IOC", owner=7, stp="decrement")
    assert stp_rows(rep) == [(10, 1, 300, 300, 200)] and eng.order(1)[2:4] == (100, 100)
    assert eng.book.orders_at(ASK, 101) == [1, 2] and rep.status == "cancelled"
    eng.check()


def test_stp_needs_the_same_owner():
    eng = book_with_own_maker()
    rep = eng.submit(10, BID, 101, 100, owner=9)
    assert fill_rows(rep) == [(1, 101, 100, 0)] and len(rep.self_trades) == 0
    eng = book_with_own_maker()
    rep = eng.submit(10, BID, 101, 100)                 # no owner: no prevention
    assert fill_rows(rep) == [(1, 101, 100, 0)]


def test_stp_on_market_orders():
    eng = book_with_own_maker()
    rep = eng.market(10, BID, 150, owner=7, stp="cancel_maker")
    assert fill_rows(rep) == [(2, 101, 100, 0), (3, 102, 50, 50)] and stp_rows(rep) == [(10, 1, 0, 100, 0)]


def test_fok_with_an_own_order_in_the_way():
    eng = book_with_own_maker()
    # cancel_taker would stop at order 1: nothing can fill, so FOK is refused and nothing changes
    rep = eng.submit(10, BID, 102, 100, tif="FOK", owner=7, stp="cancel_taker")
    assert rep.status == "rejected" and len(rep.self_trades) == 0 and eng.book.orders_at(ASK, 101) == [1, 2]
    # cancel_maker skips its own: 200 of others' qty can fill
    rep = eng.submit(11, BID, 102, 200, tif="FOK", owner=7, stp="cancel_maker")
    assert rep.status == "filled" and stp_rows(rep) == [(11, 1, 0, 100, 0)]


def test_crossing_modify_uses_the_orders_owner_and_mode():
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, 100, owner=7)
    eng.submit(2, BID, 99, 100, owner=7, stp="cancel_both")
    rep = eng.modify(2, 101, 100)
    assert stp_rows(rep) == [(2, 1, 100, 100, 0)] and len(eng.book) == 0


def test_stp_argument_errors():
    eng = lob.MatchingEngine()
    with pytest.raises(ValueError, match="stp"):
        eng.submit(1, BID, 99, 100, owner=1, stp="cancel_newest")
    with pytest.raises(ValueError, match="stp"):
        eng.market(1, BID, 100, stp=None)
    with pytest.raises(OverflowError, match="owner"):
        eng.submit(1, BID, 99, 100, owner=-1)
    with pytest.raises(TypeError, match="owner"):
        eng.submit(1, BID, 99, 100, owner="me")
    assert len(eng.book) == 0
    eng.submit(1, BID, 99, 100, owner=0)                   # 0 means no owner
    assert eng.order(1).owner is None


def test_submit_many_returns_self_trades():
    eng = lob.MatchingEngine()
    req = np.zeros(3, dtype=lob.ORDER_DTYPE)
    req[0] = (0, 1, ASK, 0, 0, 1, 101, 100, 0, 7, 0)
    req[1] = (1, 1, ASK, 0, 0, 2, 101, 400, 100, 8, 0)
    req[2] = (2, 1, BID, 1, 0, 3, 101, 300, 0, 7, 1)       # IOC, cancel_maker
    fills, reports = eng.submit_many(req)
    assert eng.last_self_trades.tolist() == [(3, 1, 0, 100, 0)]
    # the first slice, then two complete passes over the refilled iceberg in one row
    assert fills[["maker_id", "qty", "maker_remaining"]].tolist() == [(2, 100, 300), (2, 200, 100)]
    with pytest.warns(DeprecationWarning, match="last_self_trades"):
        eng2 = lob.MatchingEngine()
        assert len(eng2.submit_many(req, self_trades=True)) == 3
    assert reports["status"].tolist() == [2, 2, 0]
    assert eng.order(2) == lob.EngineOrder(ASK, 101, 100, 0, 100, 8)


def test_a_level_with_reserves_stays_within_int64():
    """Hidden reserves count in a level's room, so a refill can never overflow
    the level's total in the middle of a match."""
    big = 2**63 - 1
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 105, big, display_qty=big - 1)          # shows big - 1, hides 1
    with pytest.raises(OverflowError):
        eng.submit(2, ASK, 105, 1)
    assert eng.book.level_qty(ASK, 105) == big - 1 and 2 not in eng.book
    rep = eng.submit(3, BID, 105, big, tif="IOC")               # the slice, then the refill of 1
    assert rep.filled == big and [int(f["qty"]) for f in rep.fills] == [big - 1, 1]
    eng.check()
