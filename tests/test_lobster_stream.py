"""The LOBSTER event streams: a pair reproduces the orderbook file at every
level after every message row (both shared samples, generated pairs whose
levels leave and re-enter the window), and a message file alone is repaired
where it proves the book stale."""
import pathlib
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import lob
import lob.io

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"
PAIRS = {
    "AAPL": (SHARED / "AAPL_2012-06-21_34200000_57600000_message_10.csv",
             SHARED / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"),
    "GOOG": (SHARED / "GOOG_2012-06-21_34200000_57600000_message_1.csv",
             SHARED / "GOOG_2012-06-21_34200000_57600000_orderbook_1.csv"),
}
needs_shared = pytest.mark.skipif(not all(p.exists() for pair in PAIRS.values() for p in pair),
                                  reason="../shared/data/lobster is not present")


def book_rows(stream, k):
    """The book of an empty OrderBook fed the stream, after every message
    row: (bid_price, bid_qty, ask_price, ask_qty), each (rows, k)."""
    feats = lob.OrderBook().apply(stream.events, depth=k)
    ends = stream.row_ends()
    assert (ends > 0).all()          # row 0 is the seed: every row has an event up to it
    picked = feats[ends - 1]
    return tuple(picked[name] for name in ("bid_price", "bid_qty", "ask_price", "ask_qty"))


def assert_every_row_equal(stream, orderbook):
    snap = lob.io.read_lobster_book(orderbook)
    ours = book_rows(stream, snap.bid_price.shape[1])
    for mine, theirs in zip(ours, snap):
        np.testing.assert_array_equal(mine, theirs)


@needs_shared
@pytest.mark.parametrize("name,rows,levels", [("AAPL", 999, 10), ("GOOG", 49_482, 1)])
def test_shared_pairs_reproduce_every_row(name, rows, levels):
    msg, book = PAIRS[name]
    stream = lob.io.read_lobster_stream(msg, book)
    assert len(stream.message_event) == rows and stream.levels == levels and stream.faithful
    assert len(stream.forced) == 0 and len(stream.unreproduced) == 0 and stream.refused == ()
    assert len(stream.resynced) > 0
    assert_every_row_equal(stream, book)
    # read_lobster gives the same events, with nothing to warn about
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lob.io.read_lobster(msg, book).tobytes() == stream.events.tobytes()
    # the check is the same stream, replayed: every row matches
    result = lob.io.check_lobster(msg, book)
    assert result.ok and (result.matched, result.total, result.levels) == (rows, rows, levels)
    assert result.rejected == [] and result.mismatches == [] and result.resynced == len(stream.resynced)


@needs_shared
def test_goog_day_resyncs_a_level_on_each_side():
    """The day where the old check stopped with CrossedBookError: levels enter
    the window from outside all day, on both sides."""
    stream = lob.io.read_lobster_stream(*PAIRS["GOOG"])
    ev, rows = stream.events, stream.rows
    resync = np.isin(rows, stream.resynced) & (ev["kind"] == lob.ANON)
    assert (ev["side"][resync] == 0).sum() > 1000 and (ev["side"][resync] == 1).sum() > 1000
    assert len(stream.resynced) > 6000 and stream.unknown == 4476
    # every message row but row 0 carries its message, and repairs never precede the seed
    assert (stream.message_event[1:] >= 0).all() and stream.message_event[0] == -1
    assert (ev[stream.message_event[1:]]["ts"] == stream.messages.events["ts"][1:]).all()


@needs_shared
def test_seed_is_row_zero_and_message_zero_prints_its_trade():
    stream = lob.io.read_lobster_stream(*PAIRS["AAPL"])
    first = stream.events[stream.rows == 0]
    snap = lob.io.read_lobster_book(PAIRS["AAPL"][1])
    assert (first["kind"] == lob.ANON).sum() == 20
    assert sorted(first[first["side"] == 0]["price"].tolist()) == sorted(snap.bid_price[0].tolist())
    message0 = stream.messages.events[0]
    if message0["kind"] in (lob.EXECUTE, lob.TRADE):
        assert first[0]["kind"] == lob.TRADE and first[0]["qty"] == message0["qty"]


def windowed_pair(tmp_path, n, seed, levels, **kw):
    events = lob.synth.generate(n, seed=seed, **kw)
    msg, book = tmp_path / f"S_message_{levels}.csv", tmp_path / f"S_orderbook_{levels}.csv"
    lob.io.write_lobster(events, msg, book, levels=levels, window=True)
    return msg, book


def reentries(book):
    """Per side, how often a price that left the file's window comes back
    into it, and how often a price listed on one side later shows on the
    other."""
    snap = lob.io.read_lobster_book(book)
    back = [0, 0]
    for side, prices in enumerate((snap.bid_price, snap.ask_price)):
        seen_out = set()
        for r in range(1, len(prices)):
            before, now = set(prices[r - 1].tolist()) - {0}, set(prices[r].tolist()) - {0}
            seen_out |= before - now
            back[side] += len(now & seen_out)
            seen_out -= now
    bids = set(snap.bid_price.ravel().tolist()) - {0}
    asks = set(snap.ask_price.ravel().tolist()) - {0}
    return back, len(bids & asks)


@pytest.mark.parametrize("levels,seed", [(1, 3), (2, 4), (5, 5), (10, 6)])
def test_generated_pairs_reproduce_every_row(tmp_path, levels, seed):
    msg, book = windowed_pair(tmp_path, 12_000, seed, levels, target_orders=400, mean_depth=5.0,
                              p_reduce=0.15, p_modify=0.1, p_trade=0.03)
    back, both_sides = reentries(book)
    assert back[0] > 10 and back[1] > 10 and both_sides > 0
    stream = lob.io.read_lobster_stream(msg, book)
    assert len(stream.forced) == 0 and len(stream.unreproduced) == 0 and stream.refused == ()
    resync = np.isin(stream.rows, stream.resynced)
    assert set(stream.events["side"][resync].tolist()) >= {0, 1}
    assert_every_row_equal(stream, book)
    result = lob.io.check_lobster(msg, book)
    assert result.ok and result.matched == result.total == len(stream.message_event)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), levels=st.sampled_from([1, 2, 3, 7]), target=st.sampled_from([30, 200, 1500]),
       p_reduce=st.floats(0, 0.4), p_modify=st.floats(0, 0.3), depth=st.floats(1.5, 15))
def test_random_generated_pairs_reproduce_every_row(tmp_path, seed, levels, target, p_reduce, p_modify, depth):
    msg, book = windowed_pair(tmp_path, 3000, seed, levels, target_orders=target, p_reduce=p_reduce,
                              p_modify=p_modify, p_trade=0.02, mean_depth=depth)
    stream = lob.io.read_lobster_stream(msg, book)
    assert len(stream.forced) == 0 and len(stream.unreproduced) == 0 and stream.refused == ()
    assert_every_row_equal(stream, book)


def test_a_wrong_row_is_reported_and_still_reproduced(tmp_path):
    events = lob.synth.generate(500, seed=8, target_orders=100)
    msg, book = tmp_path / "m.csv", tmp_path / "o.csv"
    lob.io.write_lobster(events, msg, book)
    lines = book.read_text().splitlines()
    cells = lines[300].split(",")
    cells[3] = str(int(cells[3]) + 1)          # row 300: one share more at the best bid
    lines[300] = ",".join(cells)
    book.write_text("\n".join(lines) + "\n")
    result = lob.io.check_lobster(msg, book)
    assert not result.ok and result.matched == 498 and [m[0] for m in result.mismatches] == [300, 301]
    row, side, ours, theirs = result.mismatches[0]
    assert side == "bid" and ours[0][0] == theirs[0][0] and theirs[0][1] == ours[0][1] + 1
    # the stream follows the file there (forced rows), so its consumers see the file's book
    assert result.stream.forced.tolist() == [300, 301]
    assert_every_row_equal(result.stream, book)
    with pytest.warns(lob.io.LobsterMismatch, match="did not reproduce 2 rows"):
        lob.io.read_lobster(msg, book)


def test_a_crossed_orderbook_row_is_reported_not_raised(tmp_path):
    events = lob.synth.generate(300, seed=8, target_orders=100)
    msg, book = tmp_path / "m.csv", tmp_path / "o.csv"
    lob.io.write_lobster(events, msg, book, levels=1)
    lines = book.read_text().splitlines()
    ask, ask_qty, bid, bid_qty = lines[200].split(",")
    lines[200] = ",".join([ask, ask_qty, str(int(ask) + 5), bid_qty])      # bid above the ask
    book.write_text("\n".join(lines) + "\n")
    stream = lob.io.read_lobster_stream(msg, book)
    assert 200 in stream.unreproduced.tolist()
    lob.OrderBook().apply(stream.events)       # what the stream holds, a book takes
    assert not lob.io.check_lobster(msg, book).ok


def test_a_complete_message_file_alone_needs_no_repair(tmp_path):
    events = lob.synth.generate(5000, seed=2, target_orders=300, p_reduce=0.1, p_trade=0.05)
    lob.io.write_lobster(events, tmp_path / "m.csv", tmp_path / "o.csv")
    for lookahead in (True, False):
        stream = lob.io.read_lobster_stream(tmp_path / "m.csv", lookahead=lookahead)
        assert stream.events.tobytes() == events.tobytes()
        assert (stream.stale_levels, stream.unknown, stream.relabelled, stream.refused) == (0, 0, 0, ())
        touch = lob.io.lobster_touch_rate(stream, tmp_path / "o.csv")
        assert touch.rate == 1.0 and touch.top_equal == touch.rows == len(events)


ALONE = (b"1.0,1,1,100,1000,1\n"      # add bid 1000
         b"1.1,1,2,100,1010,-1\n"     # add ask 1010
         b"1.2,1,3,50,1005,1\n"       # add bid 1005
         b"1.3,4,9,30,1002,1\n"       # execution of an order never added, at bid 1002: 1005 is stale
         b"1.4,1,4,10,1000,-1\n"      # add ask 1000: our bid at 1000 is stale
         b"1.5,5,0,7,1003,1\n")       # hidden execution


@pytest.mark.parametrize("lookahead", [False, True])
def test_messages_alone_repair_what_they_prove(lookahead):
    stream = lob.io.read_lobster_stream(ALONE, lookahead=lookahead)
    assert stream.levels is None and not stream.faithful
    assert (stream.stale_levels, stream.unknown, stream.unknown_left, stream.refused) == (2, 1, 0, ())
    book = lob.OrderBook()
    feats = book.apply(stream.events)                  # never refused
    assert book.best_bid is None and book.depth(5).ask_price.tolist() == [1000, 1010]
    # the execution of the bid (a sell of 30) and the hidden bid's (a sell of 7)
    assert book.sell_volume == 37 and book.buy_volume == 0 and book.trade_count == 2
    ev = stream.events
    dropped = ev[(ev["kind"] == lob.CANCEL) & (ev["order_id"] != 9)]["order_id"].tolist()
    assert sorted(dropped) == [1, 3]
    touch = lob.io.lobster_touch_rate(stream)
    # causal: the execution itself proves 1005 stale; with lookahead the repair
    # goes just after the previous bid message (row 2), before the execution
    assert (touch.executions, touch.at_touch) == (1, 1 if lookahead else 0)
    assert stream.rows[stream.message_event[3] - 1] == (2 if lookahead else 3)
    assert feats["best_bid"][stream.message_event[3] - 1] == 1002


def test_messages_alone_level_one_rule_comes_from_the_name(tmp_path):
    path = tmp_path / "X_message_1.csv"
    path.write_bytes(b"1.0,1,1,100,1000,1\n1.1,1,2,100,1010,-1\n1.2,1,3,50,999,1\n1.3,1,4,50,1011,-1\n")
    stream = lob.io.read_lobster_stream(path)
    assert stream.levels == 1 and stream.stale_levels == 2
    book = lob.OrderBook()
    book.apply(stream.events)
    # a level-1 file only shows messages at the touch: an add at 999 proves the
    # bid at 1000 gone, an add at 1011 the ask at 1010
    assert book.depth(3).bid_price.tolist() == [999] and book.depth(3).ask_price.tolist() == [1011]
    assert lob.io.read_lobster_stream(path, levels=10).stale_levels == 0


@needs_shared
def test_messages_alone_execution_at_touch():
    """Issue 10's measure: after each visible execution, is our best price on
    its side (in the book after the previous row) the execution's price?"""
    goog_msg, goog_book = PAIRS["GOOG"]
    stream = lob.io.read_lobster_stream(goog_msg)
    assert stream.levels == 1 and stream.unknown == 4476 and stream.stale_levels > 1000 and stream.refused == ()
    lob.OrderBook().apply(stream.events)
    touch = lob.io.lobster_touch_rate(stream, goog_book)
    causal = lob.io.lobster_touch_rate(lob.io.read_lobster_stream(goog_msg, lookahead=False), goog_book)
    raw = lob.OrderBook()
    raw_rows = raw.apply(lob.io.read_lobster(goog_msg), on_error="skip")
    assert touch.executions == 7764 and touch.rate > 0.9
    assert 0.75 < causal.rate < touch.rate
    # independent of what the repair used: top of book against the orderbook file, every row
    assert touch.top_rate > 0.8 and causal.top_rate > 0.6
    assert raw_rows is not None and touch.top_rate > 0.8
    aapl = lob.io.lobster_touch_rate(lob.io.read_lobster_stream(PAIRS["AAPL"][0]), PAIRS["AAPL"][1])
    assert aapl.executions == 98 and aapl.rate > 0.9 and aapl.top_rate > 0.95


def test_stream_in_chunks_equals_whole(tmp_path):
    msg, book = windowed_pair(tmp_path, 6000, 11, 2, target_orders=300, mean_depth=4.0)
    stream = lob.io.read_lobster_stream(msg, book)
    whole = lob.OrderBook().apply(stream.events, depth=2)
    chunked = lob.OrderBook()
    parts = [chunked.apply(stream.events[lo:lo + 777], depth=2) for lo in range(0, len(stream.events), 777)]
    assert np.concatenate(parts).tobytes() == whole.tobytes()


def test_halts_in_a_pair(tmp_path):
    """A halt row (type 7) is no event; its orderbook row repeats the one before."""
    msg, book = windowed_pair(tmp_path, 3000, 21, 3, target_orders=200, mean_depth=3.0)
    messages, books = msg.read_text().splitlines(), book.read_text().splitlines()
    for at, state in ((500, -1), (501, 1), (1200, 0)):
        ts = messages[at - 1].split(",")[0]
        messages.insert(at, f"{ts},7,0,0,{state},-1")
        books.insert(at, books[at - 1])
    msg.write_text("\n".join(messages) + "\n")
    book.write_text("\n".join(books) + "\n")
    stream = lob.io.read_lobster_stream(msg, book)
    assert stream.messages.halts["row"].tolist() == [500, 501, 1200]
    assert stream.messages.halts["state"].tolist() == [-1, 1, 0]
    assert (stream.message_event[[500, 501, 1200]] == -1).all()
    assert len(stream.forced) == 0 and len(stream.unreproduced) == 0
    assert_every_row_equal(stream, book)
    with pytest.warns(lob.io.LobsterHalt, match="3 trading-halt rows"):
        lob.io.read_lobster(msg, book)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), levels=st.sampled_from([1, 2, 4]), cuts=st.lists(
    st.tuples(st.integers(0, 10**6), st.integers(0, 39), st.integers(-3, 300)), max_size=12))
def test_a_damaged_pair_never_stops_the_stream(tmp_path, seed, levels, cuts):
    """Orderbook cells changed at random (sizes, prices, crossing rows, dummy
    prices): the stream is still built, a book takes every event of it, and
    the check reports instead of raising."""
    msg, book = windowed_pair(tmp_path, 1500, seed, levels, target_orders=100, mean_depth=3.0, p_reduce=0.1)
    rows = [line.split(",") for line in book.read_text().splitlines()]
    for at, col, value in cuts:
        row = rows[at % len(rows)]
        col %= len(row)
        if col % 2:                      # a size: never negative (the parser refuses that)
            row[col] = str(abs(value))
        else:
            row[col] = str(int(row[col]) + value - 150) if value < 299 else str(9999999999 if col % 4 == 0
                                                                                  else -9999999999)
    book.write_text("\n".join(",".join(row) for row in rows) + "\n")
    stream = lob.io.read_lobster_stream(msg, book)
    lob.OrderBook().apply(stream.events)
    result = lob.io.check_lobster(msg, book)
    assert result.matched + len(set(stream.forced.tolist()) | set(stream.unreproduced.tolist())) == result.total
