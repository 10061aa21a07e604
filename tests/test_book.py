"""Unit tests of lob.OrderBook: every method, signal and error path."""
import copy
import math
import pickle

import numpy as np
import pytest

import lob


def state(book):
    """Everything observable, for 'a refused call changes nothing' checks."""
    snap = book.snapshot()
    return (snap.tobytes(), book._flow_state(), len(book), book.best_bid, book.best_ask)


@pytest.fixture
def book():
    b = lob.OrderBook()
    b.add(1, lob.BID, 100, 10)
    b.add(2, lob.BID, 100, 5)
    b.add(3, lob.BID, 99, 7)
    b.add(4, lob.ASK, 102, 4)
    b.add(5, lob.ASK, 103, 6)
    b.check()
    return b


def test_constants():
    assert lob.BID == 0 and lob.ASK == 1
    assert lob.Side.BID == 0 and lob.Side.ASK == 1
    assert [lob.ADD, lob.REDUCE, lob.CANCEL, lob.EXECUTE, lob.TRADE, lob.MODIFY, lob.CLEAR] == list(range(1, 8))
    assert lob.EventKind.TRADE == 5 and lob.EventKind(6) is lob.EventKind.MODIFY
    assert issubclass(lob.UnknownOrderError, lob.LobError) and issubclass(lob.UnknownOrderError, KeyError)
    assert issubclass(lob.DuplicateOrderError, ValueError) and issubclass(lob.CrossedBookError, ValueError)
    assert issubclass(lob.EventError, lob.LobError)
    assert isinstance(lob.__version__, str) and lob.__version__
    names = lob.EVENT_DTYPE.names
    for field in ("ts", "kind", "side", "order_id", "price", "qty"):
        assert field in names


def test_empty_book():
    b = lob.OrderBook()
    assert len(b) == 0 and b.best_bid is None and b.best_ask is None
    assert b.best_bid_qty == 0 and b.best_ask_qty == 0 and b.spread is None
    assert math.isnan(b.mid) and math.isnan(b.microprice()) and math.isnan(b.imbalance())
    assert math.isnan(b.vwap) and b.last_trade_price is None
    assert b.volume_delta == b.buy_volume == b.sell_volume == b.trade_count == 0
    assert b.level_count(0) == b.level_count(1) == 0
    d = b.depth()
    assert isinstance(d, lob.Depth) and all(len(a) == 0 and a.dtype == np.int64 for a in d)
    assert b.orders_at(0, 100) == [] and b.level_qty(1, 5) == 0
    b.check()


def test_top_of_book(book):
    assert book.best_bid == 100 and book.best_bid_qty == 15
    assert book.best_ask == 102 and book.best_ask_qty == 4
    assert book.spread == 2 and book.mid == 101.0
    assert book.microprice() == pytest.approx((100 * 4 + 102 * 15) / 19)
    assert book.imbalance() == pytest.approx((15 - 4) / 19)
    assert book.imbalance(2) == pytest.approx((22 - 10) / 32)
    assert book.imbalance(50) == pytest.approx((22 - 10) / 32)
    assert len(book) == 5 and 3 in book and 9 not in book and "x" not in book and -1 not in book


def test_one_sided_signals():
    b = lob.OrderBook()
    b.add(1, lob.BID, 10, 3)
    assert b.imbalance() == 1.0 and math.isnan(b.microprice()) and math.isnan(b.mid) and b.spread is None
    b.cancel(1)
    b.add(2, lob.ASK, 10, 3)
    assert b.imbalance() == -1.0


def test_inspection(book):
    assert book.order(2) == (0, 100, 5)
    assert book.queue_ahead(1) == 0 and book.queue_ahead(2) == 10
    assert book.level_qty(0, 100) == 15 and book.level_qty(1, 103) == 6 and book.level_qty(1, 100) == 0
    assert book.level_count(0) == 2 and book.level_count(lob.Side.ASK) == 2
    assert book.orders_at(0, 100) == [1, 2]
    d = book.depth(10)
    assert d.bid_price.tolist() == [100, 99] and d.bid_qty.tolist() == [15, 7]
    assert d.ask_price.tolist() == [102, 103] and d.ask_qty.tolist() == [4, 6]
    d1 = book.depth(1)
    assert d1.bid_price.tolist() == [100] and d1.ask_qty.tolist() == [4]
    assert len(book.depth(0).bid_price) == 0
    assert "OrderBook" in repr(book)


def test_cancel_reduce(book):
    assert book.cancel(1) == 10
    assert 1 not in book and book.best_bid_qty == 5 and book.orders_at(0, 100) == [2]
    assert book.reduce(2, 2) == 3 and book.order(2) == (0, 100, 3)
    assert book.reduce(2, 3) == 0 and 2 not in book
    assert book.best_bid == 99 and book.level_count(0) == 1
    assert book.trade_count == 0  # cancels are not trades
    book.check()


def test_execute_records_trade(book):
    assert book.execute(4, 1) == 3           # resting ask executed: a buy
    assert book.buy_volume == 1 and book.volume_delta == 1 and book.last_trade_price == 102
    assert book.execute(1, 10) == 0          # resting bid executed: a sell
    assert book.sell_volume == 10 and book.volume_delta == -9 and book.trade_count == 2
    assert book.vwap == pytest.approx((102 * 1 + 100 * 10) / 11)
    assert book.orders_at(0, 100) == [2]
    book.check()


def test_trade_print(book):
    book.trade(lob.ASK, 101, 50)             # sell aggressor, hidden liquidity
    assert book.sell_volume == 50 and book.volume_delta == -50 and book.last_trade_price == 101
    assert len(book) == 5 and book.best_bid_qty == 15
    book.reset_flow()
    assert book.volume_delta == book.buy_volume == book.sell_volume == book.trade_count == 0
    assert math.isnan(book.vwap) and book.last_trade_price is None
    assert len(book) == 5


def test_modify_priority(book):
    book.modify(1, 100, 8)                   # same price, smaller: keeps its place
    assert book.orders_at(0, 100) == [1, 2] and book.order(1) == (0, 100, 8)
    book.modify(1, 100, 8)                   # no change at all
    assert book.orders_at(0, 100) == [1, 2]
    book.modify(1, 100, 9)                   # grows: back of the queue
    assert book.orders_at(0, 100) == [2, 1] and book.level_qty(0, 100) == 14
    book.modify(2, 101, 5)                   # new price: new level, back of its queue
    assert book.best_bid == 101 and book.orders_at(0, 101) == [2]
    book.modify(2, 99, 1)
    assert book.orders_at(0, 99) == [3, 2] and book.best_bid == 100 and book.level_count(0) == 2
    book.check()


def test_vwap_is_exact_for_large_notional():
    b = lob.OrderBook()
    price = 5_000_000_000_000  # 5000 dollars in 1e-9 units
    for _ in range(10):
        b.trade(lob.BID, price, 10**9)  # notional 5e21 per trade: far past int64
    assert b.vwap == float(price)
    b.trade(lob.ASK, -price, 10**9)
    assert b.vwap == pytest.approx(price * 9 / 11)


def test_extreme_prices():
    b = lob.OrderBook()
    lo, hi = -(2**63), 2**63 - 1
    b.add(1, 0, lo, 1)
    b.add(2, 1, hi, 1)
    b.add(3, 0, 0, 2)
    assert b.best_bid == 0 and b.best_ask == hi and b.spread == hi
    assert b.depth().bid_price.tolist() == [0, lo]
    b.cancel(3)
    assert b.spread == hi - lo and b.mid == (hi + lo) / 2
    b.add(2**64 - 1, 0, -5, 1)
    assert (2**64 - 1) in b and b.order(2**64 - 1) == (0, -5, 1)
    b.check()


def test_numpy_and_enum_arguments():
    b = lob.OrderBook()
    b.add(np.uint64(7), lob.Side.ASK, np.int64(100), np.int32(5))
    assert b.order(7) == (1, 100, 5)
    assert b.execute(np.uint64(7), np.int64(2)) == 3


# --- errors: every one names the field, and a refused call changes nothing ---

BAD_CALLS = [
    ("add", (1, 0, 100, 1), lob.DuplicateOrderError, "order_id=1"),
    ("add", (9, 0, 102, 1), lob.CrossedBookError, "price=102"),
    ("add", (9, 0, 103, 1), lob.CrossedBookError, "cross"),
    ("add", (9, 1, 100, 1), lob.CrossedBookError, "cross"),
    ("add", (9, 2, 100, 1), ValueError, "side"),
    ("add", (9, -1, 100, 1), ValueError, "side"),
    ("add", (9, 2**70, 100, 1), ValueError, "side"),
    ("add", (9, 0, 98, 0), ValueError, "qty"),
    ("add", (9, 0, 98, -3), ValueError, "qty"),
    ("add", (-1, 0, 98, 1), OverflowError, "order_id"),
    ("add", (2**64, 0, 98, 1), OverflowError, "order_id"),
    ("add", (9, 0, 2**63, 1), OverflowError, "price"),
    ("add", (9, 0, 98, 2**63), OverflowError, "qty"),
    ("add", (9, 0, 98.0, 1), TypeError, "price"),
    ("add", (9.0, 0, 98, 1), TypeError, "order_id"),
    ("add", (9, 0, 98, "1"), TypeError, "qty"),
    ("add", (9, 0.0, 98, 1), TypeError, "side"),
    ("add", (9, None, 98, 1), TypeError, "side"),
    ("cancel", (9,), lob.UnknownOrderError, "order_id=9"),
    ("cancel", (-5,), OverflowError, "order_id"),
    ("reduce", (9, 1), lob.UnknownOrderError, "order_id=9"),
    ("reduce", (1, 11), ValueError, "qty=11"),
    ("reduce", (1, 0), ValueError, "qty"),
    ("execute", (9, 1), lob.UnknownOrderError, "order_id=9"),
    ("execute", (1, 11), ValueError, "qty=11"),
    ("execute", (1, -1), ValueError, "qty"),
    ("modify", (9, 100, 1), lob.UnknownOrderError, "order_id=9"),
    ("modify", (1, 102, 1), lob.CrossedBookError, "price=102"),
    ("modify", (4, 99, 1), lob.CrossedBookError, "cross"),
    ("modify", (1, 100, 0), ValueError, "qty"),
    ("modify", (1, 1.5, 1), TypeError, "price"),
    ("trade", (3, 100, 1), ValueError, "side"),
    ("trade", (0, 100, 0), ValueError, "qty"),
    ("order", (9,), lob.UnknownOrderError, "order_id=9"),
    ("queue_ahead", (9,), lob.UnknownOrderError, "order_id=9"),
    ("imbalance", (0,), ValueError, "levels"),
    ("depth", (-1,), ValueError, "levels"),
    ("level_qty", (3, 100), ValueError, "side"),
    ("level_count", (3,), ValueError, "side"),
    ("orders_at", (0, 1.0), TypeError, "price"),
]


@pytest.mark.parametrize("method,args,error,words", BAD_CALLS)
def test_refused_call_changes_nothing(book, method, args, error, words):
    book.execute(4, 1)  # some trade flow to protect too
    before = state(book)
    with pytest.raises(error) as info:
        getattr(book, method)(*args)
    assert words in str(info.value)
    assert state(book) == before
    book.check()


def test_unknown_order_error_is_keyerror_with_readable_message():
    b = lob.OrderBook()
    with pytest.raises(KeyError) as info:
        b.cancel(42)
    assert str(info.value) == "order_id=42 is not resting"


def test_allow_cross():
    b = lob.OrderBook(allow_cross=True)
    assert b.allow_cross
    b.add(1, 1, 100, 5)
    b.add(2, 0, 101, 5)        # crosses: accepted
    b.add(3, 0, 100, 1)        # locks: accepted
    assert b.best_bid == 101 and b.best_ask == 100 and b.spread == -1
    b.modify(1, 90, 5)
    b.check()
    c = pickle.loads(pickle.dumps(b))
    assert c.allow_cross and c.best_ask == 90 and c.best_bid == 101
    c.check()


def test_clear_keeps_flow(book):
    book.execute(4, 2)
    book.clear()
    assert len(book) == 0 and book.best_bid is None and book.level_count(1) == 0
    assert book.buy_volume == 2
    book.check()
    book.add(1, 0, 100, 1)     # ids are free again
    book.check()


@pytest.mark.parametrize("roundtrip", [lambda b: pickle.loads(pickle.dumps(b)), copy.deepcopy, copy.copy])
def test_pickle_and_copy(book, roundtrip):
    book.execute(4, 1)
    book.modify(1, 100, 12)    # reorder the queue: [2, 1]
    twin = roundtrip(book)
    twin.check()
    assert state(twin) == state(book)
    assert twin.orders_at(0, 100) == [2, 1] and twin.vwap == book.vwap
    assert twin.last_trade_price == book.last_trade_price
    twin.cancel(2)             # independent copies
    assert 2 in book


def test_snapshot_order(book):
    snap = book.snapshot()
    assert snap["order_id"].tolist() == [1, 2, 3, 4, 5]
    assert snap["side"].tolist() == [0, 0, 0, 1, 1]


def test_pool_reuse_no_growth():
    b = lob.OrderBook()
    for i in range(2000):
        b.add(i, i % 2, 1000 + (i % 50) * (1 if i % 2 else -1) + (1 if i % 2 else 0), 1)
    grown = b.memory_bytes()
    for round_ in range(20):
        for i in range(2000):
            b.cancel(i)
        for i in range(2000):
            b.add(i, i % 2, 1000 + (i % 50) * (1 if i % 2 else -1) + (1 if i % 2 else 0), 1)
    assert b.memory_bytes() == grown
    b.check()


def test_int64_totals_refuse_to_overflow():
    big = 2**62
    b = lob.OrderBook()
    b.add(1, 0, 100, big)
    b.add(2, 0, 99, big)
    before = state(b)
    with pytest.raises(OverflowError, match="qty"):
        b.add(3, 0, 100, big)            # level total would pass 2**63 - 1
    with pytest.raises(OverflowError):
        b.modify(2, 100, big)            # moving 2 onto 100 would too
    assert state(b) == before
    b.modify(1, 100, big - 1)            # shrinking in place is fine
    b.trade(lob.BID, 1, 2**63 - 1)
    before = state(b)
    with pytest.raises(OverflowError):
        b.trade(lob.BID, 1, 1)           # buy volume would pass 2**63 - 1
    with pytest.raises(OverflowError):
        b.trade(lob.BID, 5, 7)
    assert state(b) == before
    b.trade(lob.ASK, 1, 2**63 - 1)       # the other side still has room
    assert b.volume_delta == 0 and b.vwap == 1.0
    b.check()


def test_negative_notional_vwap():
    b = lob.OrderBook()
    b.trade(lob.BID, -100, 5)
    assert b.vwap == -100.0
    b.trade(lob.BID, -10**12, 1)
    b.trade(lob.BID, 90, 1)
    assert b.vwap == pytest.approx((-500 - 10**12 + 90) / 7, rel=1e-15)


def test_trade_without_aggressor():
    b = lob.OrderBook()
    b.trade(lob.BID, 100, 10)
    b.trade(lob.NO_AGGRESSOR, 103, 30)          # an auction cross
    assert (b.buy_volume, b.sell_volume, b.cross_volume, b.volume_delta) == (10, 0, 30, 10)
    assert b.trade_count == 2 and b.last_trade_price == 103
    assert b.vwap == pytest.approx((1000 + 3090) / 40)
    twin = pickle.loads(pickle.dumps(b))
    assert twin.cross_volume == 30 and twin.vwap == b.vwap
    b.reset_flow()
    assert b.cross_volume == 0
    with pytest.raises(ValueError, match="NO_AGGRESSOR"):
        b.trade(3, 1, 1)
    with pytest.raises(ValueError, match="side"):
        b.add(1, lob.NO_AGGRESSOR, 1, 1)        # only trades take it
