"""Books seeded from a level snapshot: anonymous qty ahead of known orders."""
import copy
import pickle

import numpy as np
import pytest

import lob


@pytest.fixture
def seeded():
    book = lob.OrderBook.from_depth([100, 99], [50, 30], [101, 103], [40, 0])
    book.check()
    return book


def test_from_depth(seeded):
    assert seeded.draw_unknown
    assert len(seeded) == 0                      # no known orders
    assert seeded.best_bid == 100 and seeded.best_bid_qty == 50
    assert seeded.best_ask == 101 and seeded.level_count(lob.ASK) == 1   # qty 0 levels skipped
    assert seeded.anonymous_levels().tolist() == [(0, 100, 50), (0, 99, 30), (1, 101, 40)]
    assert seeded.microprice() == pytest.approx((100 * 40 + 101 * 50) / 90)
    assert seeded.depth(2).bid_qty.tolist() == [50, 30]


def test_known_orders_queue_behind_anonymous(seeded):
    seeded.add(7, lob.BID, 100, 5)
    assert seeded.queue_ahead(7) == 50 and seeded.level_qty(0, 100) == 55
    assert seeded.orders_at(0, 100) == [7]
    assert seeded.cancel_anonymous(0, 100, 20) == 30
    assert seeded.queue_ahead(7) == 30
    assert seeded.execute_anonymous(0, 100, 30) == 0        # a sell of 30 at 100
    assert seeded.sell_volume == 30 and seeded.last_trade_price == 100
    assert seeded.queue_ahead(7) == 0 and seeded.level_qty(0, 100) == 5
    seeded.cancel(7)
    assert seeded.best_bid == 99                             # the level went with its last qty
    seeded.check()


def test_anonymous_errors_change_nothing(seeded):
    before = (seeded.anonymous_levels().tolist(), seeded._flow_state())
    with pytest.raises(lob.UnknownOrderError):
        seeded.cancel_anonymous(0, 98, 1)
    with pytest.raises(ValueError, match="qty=51"):
        seeded.execute_anonymous(0, 100, 51)
    with pytest.raises(ValueError, match="qty"):
        seeded.cancel_anonymous(0, 100, 0)
    with pytest.raises(lob.CrossedBookError):
        seeded.seed(lob.BID, 101, 5)
    with pytest.raises(ValueError, match="levels"):
        lob.OrderBook.from_depth([1, 2], [3], [], [])
    assert (seeded.anonymous_levels().tolist(), seeded._flow_state()) == before
    seeded.check()


def test_apply_draws_unknown_ids(seeded):
    ev = np.zeros(4, dtype=lob.EVENT_DTYPE)
    ev[0] = (1, lob.CANCEL, lob.BID, 555, 100, 10)     # unknown id: 10 from the anonymous 50
    ev[1] = (2, lob.EXECUTE, lob.ASK, 556, 101, 15)    # unknown id: a buy of 15 at 101
    ev[2] = (3, lob.REDUCE, lob.BID, 557, 99, 30)      # all of 99
    ev[3] = (4, lob.CANCEL, lob.BID, 558, 98, 1)       # nothing rests at 98: refused
    with pytest.raises(lob.EventError) as info:
        seeded.apply(ev)
    assert info.value.index == 3
    assert seeded.anonymous_levels().tolist() == [(0, 100, 40), (1, 101, 25)]
    assert seeded.buy_volume == 15 and seeded.level_count(0) == 1
    plain = lob.OrderBook()
    with pytest.raises(lob.EventError) as info:
        plain.apply(ev)                                # without draw_unknown: unknown ids fail
    assert info.value.index == 0


@pytest.mark.parametrize("roundtrip", [lambda b: pickle.loads(pickle.dumps(b)), copy.deepcopy])
def test_pickle_keeps_anonymous(seeded, roundtrip):
    seeded.add(7, lob.BID, 100, 5)
    twin = roundtrip(seeded)
    twin.check()
    assert twin.draw_unknown and twin.queue_ahead(7) == 50
    assert twin.anonymous_levels().tolist() == seeded.anonymous_levels().tolist()
