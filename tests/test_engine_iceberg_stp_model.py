"""Icebergs and self-trade prevention: small scenarios worked out by hand from the contract.

Each runs against the plain-Python ModelEngine (tests/engine_model.py) and against
lob.MatchingEngine, so a disagreement shows which side left the contract. Reports are
compared as ``(status, filled, remaining, fills, self_trades)``.
"""
from __future__ import annotations

import pytest

import lob

try:
    from engine_model import ModelEngine
except ImportError:  # tests/ collected as a package
    from tests.engine_model import ModelEngine

BID, ASK = 0, 1


def _lob_supports_icebergs():
    try:
        lob.MatchingEngine().submit(1, 0, 10, 5, display_qty=2, owner=1, stp="decrement")
    except TypeError:
        return False
    return True


@pytest.fixture(params=["model", "lob"])
def eng(request):
    if request.param == "model":
        return ModelEngine()
    if not _lob_supports_icebergs():
        pytest.skip("lob.MatchingEngine has no display_qty / owner / stp yet")
    return lob.MatchingEngine()


def rep(r):
    if isinstance(r, tuple):
        return r
    return (r.status, r.filled, r.remaining, r.fills.tolist(), r.self_trades.tolist())


def order(eng, oid):
    o = eng.order(oid)
    return tuple(None if v is None else int(v) for v in o)


def queue(eng, side, price):
    return [int(i) for i in eng.book.orders_at(side, price)]


def check(eng):
    if isinstance(eng, ModelEngine):
        eng.check()
    else:
        eng.book.check()


# --------------------------------------------------------------------------- icebergs
def test_iceberg_rests_visible_part_only(eng):
    assert rep(eng.submit(1, ASK, 101, 10, display_qty=3)) == ("resting", 0, 10, [], [])
    assert order(eng, 1) == (ASK, 101, 3, 7, 3, None)
    assert tuple(eng.book.order(1)) == (ASK, 101, 3)
    assert eng.book.best_ask_qty == 3 and eng.book.level_qty(ASK, 101) == 3 and len(eng.book) == 1
    assert eng.cancel(1) == 10 and 1 not in eng.book
    check(eng)


def test_display_at_or_above_qty_is_a_plain_order(eng):
    eng.submit(1, ASK, 101, 5, display_qty=5)
    eng.submit(2, ASK, 101, 5, display_qty=9)
    assert order(eng, 1) == (ASK, 101, 5, 0, None, None)
    assert order(eng, 2) == (ASK, 101, 5, 0, None, None)
    # a plain order modifies as before: growing qty goes to the back, no display appears
    assert rep(eng.modify(1, 101, 20)) == ("resting", 0, 20, [], [])
    assert order(eng, 1) == (ASK, 101, 20, 0, None, None) and queue(eng, ASK, 101) == [2, 1]


def test_refill_goes_to_the_back_and_taker_meets_it_again(eng):
    eng.submit(1, ASK, 101, 10, display_qty=3)
    eng.submit(2, ASK, 101, 2)
    # takes 1's visible 3 (refill: 3 shown, 4 hidden, behind 2), then 1 of order 2
    assert rep(eng.market(3, BID, 4)) == ("filled", 4, 0, [(3, 1, 101, 3, 7), (3, 2, 101, 1, 1)], [])
    assert queue(eng, ASK, 101) == [2, 1] and order(eng, 1) == (ASK, 101, 3, 4, 3, None)
    # 2's last 1, then 1's slice, its refill (behind nobody: still the back), part of that
    assert rep(eng.market(4, BID, 6)) == ("filled", 6, 0,
                                          [(4, 2, 101, 1, 0), (4, 1, 101, 3, 4), (4, 1, 101, 2, 2)], [])
    # a partly taken slice with hidden qty left: visible (1) below display (3)
    assert order(eng, 1) == (ASK, 101, 1, 1, 3, None)
    assert eng.book.best_ask_qty == 1
    assert rep(eng.market(5, BID, 5)) == ("partial", 2, 0, [(5, 1, 101, 1, 1), (5, 1, 101, 1, 0)], [])
    assert len(eng.book) == 0
    assert eng.book.buy_volume == 12 and eng.book.trade_count == 7
    check(eng)


def test_iceberg_taker_rests_as_iceberg(eng):
    eng.submit(1, ASK, 101, 3)
    assert rep(eng.submit(2, BID, 101, 10, display_qty=2)) == ("partial", 3, 7, [(2, 1, 101, 3, 0)], [])
    assert order(eng, 2) == (BID, 101, 2, 5, 2, None) and eng.book.best_bid_qty == 2
    # it keeps D for life: rests with 1 after trading 9, still an iceberg of display 2
    eng.submit(3, BID, 101, 1, display_qty=4, owner=0)  # owner 0: none; display >= qty: plain
    assert order(eng, 3) == (BID, 101, 1, 0, None, None)
    check(eng)


def test_iceberg_whose_rest_is_below_display_keeps_display(eng):
    eng.submit(1, ASK, 101, 9)
    assert rep(eng.submit(2, BID, 101, 10, display_qty=4)) == ("partial", 9, 1, [(2, 1, 101, 9, 0)], [])
    assert order(eng, 2) == (BID, 101, 1, 0, 4, None)
    # growing it refills with the display it kept
    assert rep(eng.modify(2, 101, 10)) == ("resting", 0, 10, [], [])
    assert order(eng, 2) == (BID, 101, 4, 6, 4, None)


def test_fok_counts_hidden_qty(eng):
    eng.submit(1, ASK, 101, 10, display_qty=3)
    assert rep(eng.submit(2, BID, 101, 11, "FOK")) == ("rejected", 0, 0, [], [])
    assert order(eng, 1) == (ASK, 101, 3, 7, 3, None)
    assert rep(eng.submit(3, BID, 101, 10, "FOK")) == (
        # the first slice, then its three complete refills in one row
        "filled", 10, 0, [(3, 1, 101, 3, 7), (3, 1, 101, 7, 0)], [])
    assert len(eng.book) == 0


def test_modify_iceberg(eng):
    eng.submit(1, BID, 99, 10, display_qty=4)
    eng.submit(2, BID, 99, 1)
    # same price, qty <= total: keeps its place; visible = min(visible, qty)
    assert rep(eng.modify(1, 99, 8)) == ("resting", 0, 8, [], [])
    assert order(eng, 1) == (BID, 99, 4, 4, 4, None) and queue(eng, BID, 99) == [1, 2]
    assert rep(eng.modify(1, 99, 3)) == ("resting", 0, 3, [], [])
    assert order(eng, 1) == (BID, 99, 3, 0, 4, None) and queue(eng, BID, 99) == [1, 2]
    # same price, more: back of the queue, visible = min(D, qty)
    assert rep(eng.modify(1, 99, 9)) == ("resting", 0, 9, [], [])
    assert order(eng, 1) == (BID, 99, 4, 5, 4, None) and queue(eng, BID, 99) == [2, 1]
    # new price, not crossing
    assert rep(eng.modify(1, 98, 2)) == ("resting", 0, 2, [], [])
    assert order(eng, 1) == (BID, 98, 2, 0, 4, None)
    check(eng)


def test_crossing_modify_of_an_iceberg_keeps_display_owner_and_stp(eng):
    eng.submit(1, ASK, 101, 2, owner=9)
    eng.submit(2, ASK, 102, 5, owner=8)
    eng.submit(3, BID, 99, 10, display_qty=3, owner=8, stp="cancel_maker")
    r = rep(eng.modify(3, 102, 12))
    # takes 1 (owner 9), then meets its own owner's 2: cancel_maker removes it; rest rests
    assert r == ("partial", 2, 10, [(3, 1, 101, 2, 0)], [(3, 2, 0, 5, 0)])
    assert order(eng, 3) == (BID, 102, 3, 7, 3, 8) and len(eng.book) == 1
    check(eng)


# --------------------------------------------------------------------------- self-trade prevention
@pytest.fixture
def same_owner_book(eng):
    eng.submit(1, ASK, 101, 2, owner=5)
    eng.submit(2, ASK, 101, 10, display_qty=3, owner=7)
    eng.submit(3, ASK, 102, 4, owner=5)
    return eng


def test_stp_cancel_taker(same_owner_book):
    eng = same_owner_book
    r = rep(eng.submit(10, BID, 102, 9, owner=7))  # default stp: cancel_taker
    assert r == ("partial", 2, 0, [(10, 1, 101, 2, 0)], [(10, 2, 7, 0, 10)])
    assert 10 not in eng.book and order(eng, 2) == (ASK, 101, 3, 7, 3, 7)
    # nothing traded and nothing rests: "cancelled" (even GTC)
    assert rep(eng.submit(11, BID, 101, 4, owner=7, stp="cancel_taker")) == (
        "cancelled", 0, 0, [], [(11, 2, 4, 0, 10)])
    assert 11 not in eng.book
    check(eng)


def test_stp_cancel_maker(same_owner_book):
    eng = same_owner_book
    r = rep(eng.submit(10, BID, 102, 9, owner=7, stp="cancel_maker"))
    assert r == ("partial", 6, 3, [(10, 1, 101, 2, 0), (10, 3, 102, 4, 0)], [(10, 2, 0, 10, 0)])
    assert 2 not in eng.book and order(eng, 10) == (BID, 102, 3, 0, None, 7)
    check(eng)


def test_stp_cancel_both(same_owner_book):
    eng = same_owner_book
    r = rep(eng.market(10, BID, 9, owner=7, stp="cancel_both"))
    assert r == ("partial", 2, 0, [(10, 1, 101, 2, 0)], [(10, 2, 7, 10, 0)])
    assert 2 not in eng.book and queue(eng, ASK, 102) == [3]
    check(eng)


def test_stp_decrement_takes_hidden_first_and_keeps_place(same_owner_book):
    eng = same_owner_book
    eng.submit(4, ASK, 101, 1, owner=6)
    r = rep(eng.submit(10, BID, 101, 6, owner=7, stp="decrement"))
    # 1 trades (2); 2: d = min(4, 10) = 4 off its hidden (7 -> 3), it keeps its place; taker done
    assert r == ("partial", 2, 0, [(10, 1, 101, 2, 0)], [(10, 2, 4, 4, 6)])
    assert order(eng, 2) == (ASK, 101, 3, 3, 3, 7) and queue(eng, ASK, 101) == [2, 4]
    # d = 6: hidden 3 then visible 3: it leaves; then 4 trades; the rest rests
    r = rep(eng.submit(11, BID, 101, 9, owner=7, stp="decrement"))
    assert r == ("partial", 1, 2, [(11, 4, 101, 1, 0)], [(11, 2, 6, 6, 0)])
    assert order(eng, 11) == (BID, 101, 2, 0, None, 7)
    check(eng)


def test_stp_decrement_everything_is_cancelled(eng):
    eng.submit(1, ASK, 101, 5, owner=3)
    assert rep(eng.submit(2, BID, 101, 5, owner=3, stp="decrement")) == ("cancelled", 0, 0, [], [(2, 1, 5, 5, 0)])
    assert len(eng.book) == 0
    eng.submit(3, ASK, 101, 2, owner=3)
    # decremented by 2, then nothing crosses: the rest rests, status "resting"
    assert rep(eng.submit(4, BID, 101, 5, owner=3, stp="decrement")) == ("resting", 0, 3, [], [(4, 3, 2, 2, 0)])
    check(eng)


def test_no_owner_never_prevents(eng):
    eng.submit(1, ASK, 101, 2)
    eng.submit(2, ASK, 101, 2, owner=0)
    assert rep(eng.market(3, BID, 4, owner=None, stp="cancel_both")) == (
        "filled", 4, 0, [(3, 1, 101, 2, 0), (3, 2, 101, 2, 0)], [])
    eng.submit(4, ASK, 101, 2, owner=1)
    assert rep(eng.market(5, BID, 2)) == ("filled", 2, 0, [(5, 4, 101, 2, 0)], [])


def test_post_only_ignores_owners(eng):
    eng.submit(1, ASK, 101, 2, owner=1)
    assert rep(eng.submit(2, BID, 101, 1, post_only=True, owner=1)) == ("rejected", 0, 0, [], [])
    assert rep(eng.submit(3, BID, 100, 1, post_only=True, owner=1, display_qty=1)) == ("resting", 0, 1, [], [])


# --------------------------------------------------------------------------- FOK with an owner
@pytest.fixture
def fok_book(eng):
    eng.submit(1, ASK, 101, 10, display_qty=3, owner=5)
    eng.submit(2, ASK, 101, 2, owner=7)
    eng.submit(3, ASK, 102, 6, owner=5)
    return eng


@pytest.mark.parametrize("stp", ["cancel_taker", "cancel_both", "decrement"])
def test_fok_stops_counting_at_own_order_visible_only_at_its_level(fok_book, stp):
    eng = fok_book
    # only 1's visible 3 is ahead of 2: its refill would go behind 2
    assert rep(eng.submit(10, BID, 102, 4, "FOK", owner=7, stp=stp)) == ("rejected", 0, 0, [], [])
    assert order(eng, 1) == (ASK, 101, 3, 7, 3, 5) and 2 in eng.book
    assert rep(eng.submit(11, BID, 102, 3, "FOK", owner=7, stp=stp)) == ("filled", 3, 0, [(11, 1, 101, 3, 7)], [])
    assert queue(eng, ASK, 101) == [2, 1]
    check(eng)


def test_fok_cancel_maker_counts_every_other_owner(fok_book):
    eng = fok_book
    assert rep(eng.submit(10, BID, 102, 17, "FOK", owner=7, stp="cancel_maker")) == ("rejected", 0, 0, [], [])
    r = rep(eng.submit(11, BID, 101, 5, "FOK", owner=7, stp="cancel_maker"))
    assert r == ("filled", 5, 0, [(11, 1, 101, 3, 7), (11, 1, 101, 2, 5)], [(11, 2, 0, 2, 0)])
    check(eng)


def test_fok_without_owner_counts_all(fok_book):
    eng = fok_book
    assert rep(eng.submit(10, BID, 102, 19, "FOK")) == ("rejected", 0, 0, [], [])
    assert rep(eng.submit(11, BID, 102, 18, "FOK"))[:3] == ("filled", 18, 0)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("args,kwargs,error", [
    ((10, 0, 100, 5), {"display_qty": 0}, ValueError),
    ((10, 0, 100, 5), {"display_qty": -3}, ValueError),
    ((10, 0, 100, 5, "IOC"), {"display_qty": 2}, ValueError),
    ((10, 0, 100, 5, "FOK"), {"display_qty": 9}, ValueError),   # even when not an iceberg
    ((10, 0, 100, 5), {"display_qty": 2.0}, TypeError),
    ((10, 0, 100, 5), {"display_qty": 2**63}, OverflowError),
    ((10, 0, 100, 5), {"owner": -1}, OverflowError),
    ((10, 0, 100, 5), {"owner": 2**64}, OverflowError),
    ((10, 0, 100, 5), {"owner": 1.0}, TypeError),
    ((10, 0, 100, 5), {"owner": "1"}, TypeError),
    ((10, 0, 100, 5), {"stp": "CANCEL_TAKER"}, ValueError),
    ((10, 0, 100, 5), {"stp": None}, ValueError),
    ((10, 0, 100, 5), {"stp": 0}, ValueError),
    ((10, 0, 100, 5), {"stp": b"decrement"}, ValueError),
    ((10, 2, 100, 5), {"display_qty": 1.5}, TypeError),          # type errors first
    ((10, 0, 100, 5), {"display_qty": 0, "owner": -1}, OverflowError),
    ((1, 0, 100, 5), {"stp": "x"}, ValueError),                  # before DuplicateOrderError
    ((1, 0, 100, 5), {"display_qty": 0}, ValueError),
])
def test_malformed_submit(eng, args, kwargs, error):
    eng.submit(1, ASK, 101, 5, display_qty=2, owner=1)
    before = order(eng, 1)
    with pytest.raises(error) as info:
        eng.submit(*args, **kwargs)
    assert not isinstance(info.value, lob.LobError)
    assert order(eng, 1) == before and len(eng.book) == 1 and 10 not in eng.book


@pytest.mark.parametrize("args,kwargs,error", [
    ((10, 0, 5), {"owner": -1}, OverflowError),
    ((10, 0, 5), {"stp": "none"}, ValueError),
    ((10, 0, 0), {"owner": 1.0}, TypeError),
    ((1, 0, 5), {"stp": "none"}, ValueError),
    ((1, 0, 5), {"owner": 3}, lob.DuplicateOrderError),
])
def test_malformed_market(eng, args, kwargs, error):
    eng.submit(1, ASK, 101, 5, display_qty=2, owner=1)
    with pytest.raises(error):
        eng.market(*args, **kwargs)
    assert order(eng, 1) == (ASK, 101, 2, 3, 2, 1) and len(eng.book) == 1


def test_order_of_unknown_id(eng):
    with pytest.raises(lob.UnknownOrderError):
        eng.order(5)
    with pytest.raises(OverflowError):
        eng.order(-1)
    with pytest.raises(TypeError):
        eng.order(1.0)


def test_crossing_modify_meets_own_order_cancel_taker(eng):
    eng.submit(1, ASK, 101, 2, owner=8)
    eng.submit(2, ASK, 102, 2)
    eng.submit(3, BID, 99, 6, display_qty=2, owner=8)   # default stp: cancel_taker
    # it leaves the book and trades as a taker; its own order is at the head: all of it goes
    assert rep(eng.modify(3, 102, 5)) == ("cancelled", 0, 0, [], [(3, 1, 5, 0, 2)])
    assert 3 not in eng.book and order(eng, 1) == (ASK, 101, 2, 0, None, 8)
    check(eng)


def test_fok_counts_earlier_levels_in_full(eng):
    eng.submit(1, ASK, 101, 9, display_qty=2, owner=4)
    eng.submit(2, ASK, 102, 1, owner=5)
    eng.submit(3, ASK, 102, 3, owner=6)
    # 101: 9 in full (visible + hidden); at 102, 1 ahead of owner 6's order
    assert rep(eng.submit(10, BID, 102, 11, "FOK", owner=6, stp="decrement")) == ("rejected", 0, 0, [], [])
    r = rep(eng.submit(11, BID, 102, 10, "FOK", owner=6, stp="decrement"))
    # 101: the first slice, then its complete refills in one row; then order 2 at 102
    assert r[:3] == ("filled", 10, 0) and r[4] == [] and len(r[3]) == 3
    assert order(eng, 3) == (ASK, 102, 3, 0, None, 6)


def test_volume_overflow_check_counts_hidden_qty():
    """Engine only (the model does not model int64 overflow): with buy volume 3 short of
    int64, a buy that could take 7 (2 visible + 5 hidden) is refused whole."""
    if not _lob_supports_icebergs():
        pytest.skip("lob.MatchingEngine has no display_qty yet")
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 100, 2**63 - 4)
    assert eng.market(2, BID, 2**63 - 4).filled == 2**63 - 4
    eng.submit(3, ASK, 101, 7, display_qty=2)
    before = (eng.book.snapshot().tobytes(), eng.book._flow_state(), tuple(eng.order(3)))
    with pytest.raises(OverflowError):
        eng.market(4, BID, 6)
    assert (eng.book.snapshot().tobytes(), eng.book._flow_state(), tuple(eng.order(3))) == before
    assert rep(eng.market(5, BID, 3)) == ("filled", 3, 0, [(5, 3, 101, 2, 5), (5, 3, 101, 1, 4)], [])
    eng.check()
