"""Every crash and contract violation the fuzz targets found (issue 9's
crash list among them), as the smallest input that shows it.

Each test runs in a forked child (tests/fuzz/isolate.py): a segfault or a
sanitizer abort fails the test, not the run.  The contract they pin: a bad
input raises a documented error naming what is wrong, and a call that
raises changes nothing."""
from __future__ import annotations

import struct

import numpy as np
import pytest

import lob
import lob.io
from lob import EVENT_DTYPE, EventError, LobError

from tests.fuzz.contract import book_state, engine_state
from tests.fuzz.isolate import forked

INT64_MAX = 2**63 - 1
INT64_MIN = -2**63


def events(*rows):
    return np.array([(0,) + tuple(r) for r in rows], dtype=EVENT_DTYPE)


def two_sided_book(**kw):
    book = lob.OrderBook(**kw)
    book.add(1, lob.BID, 10, 5)
    book.add(2, lob.ASK, 12, 5)
    return book


# ---------------------------------------------------------------------------
# OrderBook.apply


@pytest.mark.parametrize("side", [2, 3, -1, 127, -128])
@forked
def test_apply_crossing_modify_with_any_side_value_raises_and_changes_nothing(side):
    # issue 9: the error path indexed the side names and the ladder with the
    # event's side (the order's own side is what counts for MODIFY): SIGSEGV
    book = two_sided_book()
    before = book_state(book)
    with pytest.raises(EventError) as info:
        book.apply(events((lob.MODIFY, side, 1, 13, 5)))
    assert info.value.index == 0
    assert isinstance(info.value.__cause__, lob.CrossedBookError)
    assert book_state(book) == before
    book.check()


@pytest.mark.parametrize("kind", [lob.CANCEL, lob.REDUCE, lob.EXECUTE])
@forked
def test_apply_unknown_id_overdraw_on_from_depth_book_raises_and_changes_nothing(kind):
    # issue 9: on a from_depth book (draw_unknown) a CANCEL/REDUCE/EXECUTE of
    # an unknown id asking more than the anonymous qty: the error path looked
    # the id up again and read orders[LOB_NIL]: SIGSEGV (the LOBSTER path)
    book = lob.OrderBook.from_depth([10], [5], [12], [5])
    before = book_state(book)
    with pytest.raises(EventError) as info:
        book.apply(events((kind, lob.BID, 99, 10, 6)))
    assert info.value.index == 0
    assert isinstance(info.value.__cause__, ValueError)
    assert book_state(book) == before
    book.check()


# ---------------------------------------------------------------------------
# ItchParser.feed_books


def _itch(*messages):
    return b"".join(struct.pack(">H", len(m)) + m for m in messages)


def _directory(locate, symbol=b"AAA     "):
    return b"R" + struct.pack(">HH", locate, 0) + (1).to_bytes(6, "big") + symbol + bytes(39 - 19)


def _add(locate, ref, side=b"B", shares=5, price=10):
    return b"A" + struct.pack(">HH", locate, 0) + (2).to_bytes(6, "big") + struct.pack(
        ">QcI8sI", ref, side, shares, b"AAA     ", price)


@pytest.mark.parametrize("change", ["clear", "truncate", "pop"])
@forked
def test_feed_books_callback_that_shrinks_its_list_raises_and_changes_no_book(change):
    # issue 9: new_book changed `books`; the parser stored the new book at
    # books[locate] unchecked, past the list's end: SIGSEGV / heap write (or,
    # within the list's spare capacity, a book stored where nobody sees it).
    # The contract: a callback that changes its list raises the contract's
    # error and leaves the books as they were.
    books = [None] * 4
    keep = lob.OrderBook()
    keep.add(5, lob.BID, 9, 1)
    books[1] = keep
    before = book_state(keep)

    def new_book(locate, symbol):
        if change == "clear":
            books.clear()
        elif change == "truncate":
            del books[1:]
        else:
            books.pop()
        return lob.OrderBook()

    parser = lob.io.ItchParser()
    stream = _itch(_directory(3), _add(3, 7), _add(1, 8))
    with pytest.raises((LobError, ValueError, TypeError, RuntimeError)) as info:
        parser.feed_books(stream, books, new_book)
    assert str(info.value)
    keep.snapshot()            # not left busy
    keep.check()
    assert book_state(keep) == before


# ---------------------------------------------------------------------------
# MatchingEngine


@forked
def test_engine_book_cannot_hold_anonymous_qty():
    # issue 9: a modify crossing a level of seeded (anonymous) qty only, and a
    # limit crossing past one, raised after changing the book.  The engine
    # now owns its book: eng.book is a read-only view with no seed, and the
    # engine has none, so no level of an engine's book holds anonymous qty.
    eng = lob.MatchingEngine()
    assert not hasattr(eng.book, "seed") and not hasattr(eng.book, "set_anonymous") and not hasattr(eng, "seed")
    eng.submit(3, lob.ASK, 1, 3)
    rep = eng.submit(4, lob.BID, 8, 8)           # trades 3 at 1, the rest rests at 8
    assert (rep.status, rep.filled, rep.remaining) == ("partial", 3, 5)
    eng.submit(1, lob.BID, 10, 5)
    rep = eng.modify(1, 12, 5)                   # nothing to cross at 12: it rests
    assert rep.status == "resting" and eng.book.best_bid == 12 and len(eng.book.anonymous_levels()) == 0
    eng.check()


@forked
def test_engine_overflow_check_does_not_wrap_on_huge_opposite_levels():
    # issue 9: the up-front overflow check summed the opposite levels in
    # int64; the sum wrapped, the check passed, and buy_volume went negative
    eng = lob.MatchingEngine()
    eng.submit(1, lob.ASK, 9, 1)
    eng.market(2, lob.BID, 1)
    for i, price in enumerate((10, 11, 12)):
        eng.submit(10 + i, lob.ASK, price, 2**62)
    before = engine_state(eng)
    try:
        eng.market(9, lob.BID, INT64_MAX)
    except OverflowError as exc:
        assert str(exc)
        assert engine_state(eng) == before
    assert eng.book.buy_volume >= 0
    eng.check()


@forked(timeout=60)
def test_engine_iceberg_match_makes_one_fill_per_maker_not_per_refill():
    # issue 9: a market order against an iceberg with display_qty=1 made one
    # fill per refill: O(qty / display_qty) time and fill rows (qty 2**40
    # ran out of memory after 67M fills, with the book already changed)
    eng = lob.MatchingEngine()
    eng.submit(1, lob.ASK, 10, 100_000, display_qty=1)
    rep = eng.market(2, lob.BID, 100_000)
    assert rep.filled == 100_000
    assert len(rep.fills) <= 2, f"{len(rep.fills)} fill rows for one maker"
    eng.check()


@forked(timeout=60)
def test_engine_submit_many_iceberg_fill_rows_are_bounded():
    # the same through submit_many, two icebergs at one level: the taker
    # meets each refill again after the other maker
    orders = np.zeros(3, dtype=lob.ORDER_DTYPE)
    orders[0] = (0, 1, lob.ASK, 0, 0, 1, 10, 50_000, 1, 0, 0)
    orders[1] = (0, 1, lob.ASK, 0, 0, 2, 10, 50_000, 1, 0, 0)
    orders[2] = (0, 2, lob.BID, 0, 0, 3, 0, 100_000, 0, 0, 0)
    eng = lob.MatchingEngine()
    fills, reports = eng.submit_many(orders)
    assert reports["filled"][2] == 100_000
    assert len(fills) <= 4, f"{len(fills)} fill rows for two makers"
    eng.check()


# ---------------------------------------------------------------------------
# LOBSTER


@pytest.mark.parametrize("time", [b"9223372037", b"9223372036.854775808", b"-9223372037",
                                  b"99999999999999999999"])
@forked
def test_lobster_time_beyond_int64_nanoseconds_is_refused(time):
    # issue 9: whole * 10**9 wrapped (signed overflow, undefined behaviour)
    with pytest.raises(ValueError, match="line 1"):
        lob.io.read_lobster(time + b",1,1,1,1,1\n")


@forked
def test_lobster_negative_time_is_not_read_as_positive():
    # issue 9: "-0.5" read as +0.5 s (the sign of a zero whole part was lost)
    try:
        ev = lob.io.read_lobster(b"-0.5,1,1,1,1,1\n")
    except ValueError as exc:
        assert "line 1" in str(exc)
    else:
        assert int(ev["ts"][0]) == -500_000_000


@pytest.mark.parametrize("reader,text", [
    ("messages", b"1,1,1,1,-9223372036854775808,1\n"),
    ("book", b"-9223372036854775808,1,1,1\n"),
])
@forked
def test_lobster_int64_min_reads_without_undefined_behaviour(reader, text):
    # issue 9: negating INT64_MIN is undefined behaviour (UBSan aborts under
    # tests/sanitize.sh); the value fits int64, so it reads exactly
    if reader == "messages":
        assert int(lob.io.read_lobster(text)["price"][0]) == INT64_MIN
    else:
        assert int(lob.io.read_lobster_book(text).ask_price[0, 0]) == INT64_MIN


# ---------------------------------------------------------------------------
# DBN

dbn = pytest.importorskip("databento_dbn")
MBO = struct.Struct("<BBHIQQqIBBccQiI")


def _metadata():
    meta = dbn.Metadata("GLBX.MDP3", 0, dbn.SType.INSTRUMENT_ID, dbn.SType.INSTRUMENT_ID, dbn.Schema.MBO)
    return bytes(meta.encode())


def _record(action=b"A", side=b"B", ts=1, oid=1, price=10, size=5, instrument=42):
    return MBO.pack(14, 0xA0, 1, instrument, ts, oid, price, size, 128, 0, action, side, ts, 0, 0)


def _read(tmp_path, data):
    path = tmp_path / "f.dbn"
    path.write_bytes(data)
    return lob.io.read_dbn(path)


@pytest.mark.parametrize("length", [0xFFFFFFF0, 0x7FFFFFFF])
@forked(timeout=60)
def test_dbn_corrupt_metadata_length_is_a_parse_error(tmp_path, length):
    # issue 9: the decoder allocated gigabytes and aborted the process
    meta = bytearray(_metadata())
    struct.pack_into("<I", meta, 4, length)
    with pytest.raises(ValueError):
        _read(tmp_path, bytes(meta) + _record())


@pytest.mark.parametrize("cut", [1, 20, 55])
@forked
def test_dbn_truncated_file_is_refused(tmp_path, cut):
    # issue 9: a file cut inside its last record read as if whole
    data = _metadata() + _record(oid=1) + _record(oid=2)
    with pytest.raises(ValueError):
        _read(tmp_path, data[:-cut])


@pytest.mark.parametrize("what,record", [
    ("add without a side (KeyError)", dict(action=b"A", side=b"N")),
    ("ts_recv beyond int64 (OverflowError)", dict(ts=2**63)),
    ("unknown action", dict(action=b"z")),
    ("unknown side", dict(action=b"C", side=b"Q")),
])
@forked
def test_dbn_bad_record_is_a_parse_error(tmp_path, what, record):
    # issue 9: KeyError and OverflowError escaped read_dbn; an action or side
    # DBN does not define was dropped or read as a bid without a word
    with pytest.raises(ValueError):
        _read(tmp_path, _metadata() + _record(**record))


@forked
def test_dbn_short_record_is_a_parse_error_not_a_panic(tmp_path):
    # issue 9: pyo3's PanicException (a BaseException) escaped on a record
    # whose length byte is shorter than an MBO record
    data = _metadata() + bytes([8]) + _record()[1:32]
    with pytest.raises(ValueError):
        _read(tmp_path, data)


@forked
def test_dbn_metadata_shorter_than_its_fixed_part_is_a_parse_error(tmp_path):
    # found by the dbn target: databento_dbn.DBNError (not a ValueError)
    # escaped read_dbn
    meta = bytearray(_metadata())
    struct.pack_into("<I", meta, 4, 1)
    with pytest.raises(ValueError):
        _read(tmp_path, bytes(meta) + _record())

