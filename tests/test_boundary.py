"""The core's boundary (issue 9): every failure carries its context, the engine
owns its book, and the inputs that crashed the process now get the contract's
error with nothing changed."""
import copy
import pickle
import time

import numpy as np
import pytest

import lob
import lob.io
from lob import ASK, BID


def state(book):
    """Everything observable that a refused call must leave alone."""
    return (book.snapshot().tobytes(), book.anonymous_levels().tobytes(), book._flow_state(), book.ts, book.ofi)


def events(*rows):
    ev = np.zeros(len(rows), dtype=lob.EVENT_DTYPE)
    for i, row in enumerate(rows):
        ev[i] = row
    return ev


# ---------------------------------------------------------------- batches

@pytest.mark.parametrize("side", [-128, -1, 0, 1, 2, 7, 127])
@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_crossing_modify_with_any_side_value(side, on_error):
    book = lob.OrderBook()
    book.add(1, BID, 100, 10)
    book.add(2, ASK, 105, 10)
    before = state(book)
    ev = events((1, lob.MODIFY, side, 1, 105, 10))       # the bid to the ask: crosses
    if on_error == "raise":
        with pytest.raises(lob.EventError) as info:
            book.apply(ev)
        assert isinstance(info.value.__cause__, lob.CrossedBookError)
        assert (info.value.index, info.value.reason, info.value.kind, info.value.side) == (0, "crossed", 6, side)
        assert "best ask 105" in str(info.value)
    else:
        book.apply(ev, on_error="skip")
        assert book.last_rejected == {"crossed": 1}
    assert state(book) == before
    book.check()


def test_overdraw_of_anonymous_qty_in_a_seeded_book():
    book = lob.OrderBook.from_depth([100], [50], [101], [40])
    before = state(book)
    for kind in (lob.CANCEL, lob.REDUCE, lob.EXECUTE):
        with pytest.raises(lob.EventError) as info:
            book.apply(events((1, kind, BID, 999, 100, 60)))     # an unknown id asks 60 of the 50
        cause = info.value.__cause__
        assert isinstance(cause, ValueError) and "above the 50 resting for anonymous qty at bid price=100" in str(cause)
        assert info.value.reason == "qty_above_resting" and info.value.order_id == 999
        assert state(book) == before
    # an unknown id where no anonymous qty rests is an unknown id
    with pytest.raises(lob.EventError) as info:
        book.apply(events((1, lob.CANCEL, BID, 999, 99, 5)))
    assert isinstance(info.value.__cause__, lob.UnknownOrderError) and "order_id=999" in str(info.value.__cause__)
    assert state(book) == before
    book.check()


def test_event_error_payload_and_rows_before_it():
    book = lob.OrderBook()
    ev = events((1, lob.ADD, BID, 1, 100, 10), (2, lob.ADD, BID, 1, 99, 5), (3, lob.ADD, BID, 2, 98, 5))
    with pytest.raises(lob.EventError) as info:
        book.apply(ev)
    err = info.value
    assert (err.index, err.reason, err.kind, err.order_id, err.side, err.price, err.qty) == (
        1, "duplicate_id", 1, 1, 0, 99, 5)
    assert isinstance(err.__cause__, lob.DuplicateOrderError) and len(err.features) == 1
    assert len(book) == 1 and book.ts == 1


@pytest.mark.parametrize("kind", [0, 9, 100, 255])
def test_unknown_kind(kind):
    book = lob.OrderBook()
    with pytest.raises(lob.EventError) as info:
        book.apply(events((1, kind, BID, 1, 100, 10)))
    assert info.value.reason == "bad_kind" and f"got {kind}" in str(info.value)


def test_a_refused_event_leaves_the_clock_and_signals():
    book = lob.OrderBook(vwap_window_ns=10, halflife_ns=5)
    book.add(1, BID, 100, 10, ts=5)
    before = state(book)
    for call in (lambda: book.add(1, BID, 100, 10, ts=50), lambda: book.cancel(7, ts=50),
                 lambda: book.execute(1, 11, ts=50), lambda: book.trade(3, 100, 1, ts=50)):
        with pytest.raises((lob.LobError, ValueError, KeyError)):
            call()
        assert state(book) == before


# ---------------------------------------------------------------- ITCH callback

def test_feed_books_callback_that_changes_the_list():
    data = _itch_two_stocks()
    books = [None] * 8

    def shrink(locate, symbol):
        del books[-1]
        return lob.OrderBook()

    parser = lob.io.ItchParser()
    with pytest.raises(RuntimeError, match="changed the length"):
        parser.feed_books(data, books, shrink)
    with pytest.raises(RuntimeError, match="parse error|stopped"):
        parser.feed_books(data, books, shrink)          # a failed parser takes no more input

    def grow(locate, symbol):
        books.append(None)
        return lob.OrderBook()

    books = [None] * 8
    with pytest.raises(RuntimeError, match="changed the length"):
        lob.io.ItchParser().feed_books(data, books, grow)
    # the books it had are usable afterwards: nothing is left marked busy
    for book in books:
        if book is not None:
            book.check()
            book.add(99, BID, 1, 1)


def _itch_two_stocks():
    import tempfile
    streams = {"AAA": lob.synth.generate(200, seed=3, target_orders=20),
               "BBB": lob.synth.generate(200, seed=4, target_orders=20, first_id=10_000)}
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/x.itch"
        lob.synth.write_itch(streams, path)
        with open(path, "rb") as f:
            return f.read()


# ---------------------------------------------------------------- engine

def test_engine_book_is_read_only():
    eng = lob.MatchingEngine()
    eng.submit(1, BID, 100, 10)
    view = eng.book
    assert isinstance(view, lob.BookView) and not isinstance(view, lob.OrderBook)
    for writer in ("add", "cancel", "reduce", "execute", "modify", "trade", "clear", "seed", "set_anonymous",
                   "apply", "reset_flow", "cancel_anonymous", "execute_anonymous", "reserve"):
        assert not hasattr(view, writer), writer
    assert view.best_bid == 100 and view.order(1) == (BID, 100, 10) and view.depth(1).bid_qty.tolist() == [10]
    with pytest.raises(TypeError):
        lob.BookView()
    copied = copy.deepcopy(view)              # a view copies as an OrderBook of the visible book
    assert isinstance(copied, lob.OrderBook) and copied.snapshot().tobytes() == view.snapshot().tobytes()
    eng.check()


def test_engine_pickles_and_copies_whole():
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, 500, display_qty=50, owner=3, ts=10)
    eng.submit(2, ASK, 101, 70, ts=11)
    eng.submit(3, BID, 99, 40, owner=4, stp="decrement", ts=12)
    eng.market(9, BID, 80, ts=13)
    for twin in (pickle.loads(pickle.dumps(eng)), copy.deepcopy(eng), copy.copy(eng)):
        twin.check()
        assert twin.book.snapshot().tobytes() == eng.book.snapshot().tobytes()
        assert [twin.order(i) for i in (1, 2, 3)] == [eng.order(i) for i in (1, 2, 3)]
        assert twin.book._flow_state() == eng.book._flow_state() and twin.book.ts == 13
        # they go on alike
        assert twin.market(10, BID, 500).fills.tolist() == eng.__copy__().market(10, BID, 500).fills.tolist()
    assert "MatchingEngine" in repr(eng) and "orders=3" in repr(eng)


def test_engine_volume_check_does_not_wrap():
    """The up-front volume check summed opposite level totals in int64: it wrapped
    and let a huge market order drive buy_volume negative."""
    big = 2**62
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, big)
    eng.submit(2, ASK, 102, big)
    eng.submit(3, ASK, 103, big)
    eng.market(4, BID, big)
    before = (eng.book.snapshot().tobytes(), eng.book._flow_state())
    with pytest.raises(OverflowError):
        eng.market(5, BID, 2**63 - 1)             # would take buy_volume past int64
    assert (eng.book.snapshot().tobytes(), eng.book._flow_state()) == before
    assert eng.book.buy_volume == big
    eng.check()


def test_crossing_modify_refused_keeps_the_order():
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, 2**62 + 2**61)
    eng.market(2, BID, 2**62 + 2**61 - 5)         # buy volume at 3/4 of int64
    eng.submit(3, ASK, 101, 2**62)
    eng.submit(4, BID, 99, 2**62)
    before = (eng.book.snapshot().tobytes(), eng.book._flow_state())
    with pytest.raises(OverflowError):
        eng.modify(4, 101, 2**62)                 # crosses: its fills would pass int64
    assert (eng.book.snapshot().tobytes(), eng.book._flow_state()) == before and 4 in eng.book
    eng.check()


@pytest.mark.parametrize("qty", [2**40, 2**61])
def test_iceberg_display_one_huge_market_order(qty):
    """One fill per refill made memory and time grow with qty / display_qty."""
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, qty, display_qty=1)
    eng.submit(2, ASK, 101, qty, display_qty=3)
    eng.submit(3, ASK, 102, 10)
    start = time.perf_counter()
    rep = eng.market(9, BID, 2 * qty + 5)
    assert time.perf_counter() - start < 5       # a bound against the old O(qty) loop, not a benchmark
    assert rep.status == "filled" and rep.filled == 2 * qty + 5
    assert len(rep.fills) <= 3 * 3
    assert int(rep.fills["qty"].sum()) == 2 * qty + 5
    assert eng.book.buy_volume == 2 * qty + 5 and 1 not in eng.book and 2 not in eng.book
    assert eng.book.best_ask == 102 and eng.book.best_ask_qty == 5
    eng.check()


def test_submit_many_skip_mode():
    eng = lob.MatchingEngine()
    req = np.zeros(4, dtype=lob.ORDER_DTYPE)
    req[0] = (1, lob.RequestKind.LIMIT, ASK, lob.Tif.GTC, 0, 1, 101, 10, 0, 0, 0)
    req[1] = (2, lob.RequestKind.LIMIT, 5, lob.Tif.GTC, 0, 2, 101, 10, 0, 0, 0)      # bad side
    req[2] = (3, 9, ASK, 0, 0, 3, 101, 10, 0, 0, 0)                                  # bad kind
    req[3] = (4, lob.RequestKind.MARKET, BID, 0, 0, 4, 0, 4, 0, 0, 0)
    fills, reports = eng.submit_many(req, on_error="skip")
    assert reports["status"].tolist() == [lob.Outcome.RESTING, lob.Outcome.REFUSED, lob.Outcome.REFUSED,
                                          lob.Outcome.FILLED]
    assert lob.OUTCOMES[lob.Outcome.REFUSED] == "refused"
    assert eng.last_rejected == {"bad_side": 1, "bad_kind": 1} and len(fills) == 1
    with pytest.raises(lob.EventError) as info:
        lob.MatchingEngine().submit_many(req)
    assert (info.value.index, info.value.reason) == (1, "bad_side")


def test_enums_are_accepted():
    eng = lob.MatchingEngine()
    eng.submit(1, ASK, 101, 10, tif=lob.Tif.GTC, stp=lob.StpMode.DECREMENT, owner=2)
    assert eng.submit(2, BID, 101, 20, tif=lob.Tif.IOC).status == "partial"
    for bad in (0, "gtc", None):
        with pytest.raises(ValueError, match="tif"):
            eng.submit(3, BID, 90, 1, tif=bad)


# ---------------------------------------------------------------- the generator

@pytest.mark.parametrize("kwargs,field", [
    ({"start_price": 2**63 - 10}, "start_price"),
    ({"start_price": -(2**63) + 10}, "start_price"),
    ({"tick": 2**60}, "start_price"),
    ({"start_ts": 2**63 - 10}, "start_ts"),
    ({"lot": 2**58}, "lot"),
    ({"mean_gap_ns": float("inf")}, "mean_gap_ns"),
    ({"mean_depth": float("nan")}, "mean_depth"),
    ({"first_id": 2**64 - 5}, "first_id"),
])
def test_generate_refuses_what_would_overflow(kwargs, field):
    with pytest.raises(ValueError, match=field):
        lob.synth.generate(1000, **kwargs)


def test_generate_at_the_edge_still_works():
    ev = lob.synth.generate(2000, start_price=2**62, tick=2**30, seed=2)
    book = lob.OrderBook()
    book.apply(ev)
    book.check()
