"""LOBSTER: the readers, the writer, their round trip, and the shared sample as read."""
import pathlib
import warnings

import numpy as np
import pytest

import lob
import lob.io

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"
SAMPLE_MSG = SHARED / "AAPL_2012-06-21_34200000_57600000_message_10.csv"
SAMPLE_BOOK = SHARED / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"
needs_sample = pytest.mark.skipif(not SAMPLE_MSG.exists(), reason="../shared/data/lobster is not present")


@pytest.fixture(scope="module")
def stream():
    return lob.synth.generate(6000, seed=8, target_orders=800, p_reduce=0.1, p_trade=0.05)


@pytest.mark.parametrize("header,crlf", [(False, False), (True, False), (False, True), (True, True)])
def test_roundtrip_through_files(tmp_path, stream, header, crlf):
    msg, book = tmp_path / "m.csv", tmp_path / "o.csv"
    rows = lob.io.write_lobster(stream, msg, book, levels=5, header=header, crlf=crlf)
    assert rows == len(stream)
    events = lob.io.read_lobster(msg)
    assert events.tobytes() == stream.tobytes()     # exact: ts to the nanosecond, ids, sides, kinds
    snap = lob.io.read_lobster_book(book)
    assert snap.bid_price.shape == (len(stream), 5)
    features = lob.OrderBook().apply(stream, depth=5)
    np.testing.assert_array_equal(snap.bid_price, features["bid_price"])
    np.testing.assert_array_equal(snap.ask_qty, features["ask_qty"])
    result = lob.io.check_lobster(msg, book)
    assert (result.matched, result.total, result.resynced) == (rows, rows, 0) and result.ok


def test_writer_is_one_function_in_both_places():
    assert lob.synth.write_lobster is lob.io.write_lobster
    from lob.synth import write_lobster

    assert write_lobster is lob.io.lobster.write_lobster


def test_modify_is_written_as_delete_and_add(tmp_path):
    ev = lob.synth.generate(2000, seed=2, target_orders=300, p_modify=0.3)
    n_modify = int((ev["kind"] == lob.MODIFY).sum())
    assert n_modify > 0
    rows = lob.io.write_lobster(ev, tmp_path / "m.csv", tmp_path / "o.csv")
    assert rows == len(ev) + n_modify
    result = lob.io.check_lobster(tmp_path / "m.csv", tmp_path / "o.csv")
    assert result.ok and result.resynced == 0
    a = lob.OrderBook()
    a.apply(ev)
    b = lob.OrderBook()
    b.apply(lob.io.read_lobster(tmp_path / "m.csv"))
    assert a.snapshot().tobytes() == b.snapshot().tobytes()


def test_writer_refuses_what_lobster_cannot_hold(tmp_path):
    clear = np.zeros(1, dtype=lob.EVENT_DTYPE)
    clear["kind"] = lob.CLEAR
    with pytest.raises(ValueError, match="no book clear"):
        lob.io.write_lobster(clear, tmp_path / "m.csv", tmp_path / "o.csv")
    stray = np.zeros(1, dtype=lob.EVENT_DTYPE)
    stray[0] = (1, lob.CANCEL, 0, 7, 100, 1)
    with pytest.raises(ValueError, match="order_id=7 is not resting"):
        lob.io.write_lobster(stray, tmp_path / "m.csv", tmp_path / "o.csv")
    with pytest.raises(ValueError, match="levels must be >= 1"):
        lob.io.write_lobster(stray[:0], tmp_path / "m.csv", tmp_path / "o.csv", levels=0)


def test_window_writes_what_a_level_k_file_holds(tmp_path, stream):
    """window=True keeps the rows that change the top K levels (and every
    trade): what the full stream's depth says, row for row."""
    msg, book = tmp_path / "m.csv", tmp_path / "o.csv"
    rows = lob.io.write_lobster(stream, msg, book, levels=2, window=True)
    full = lob.OrderBook().apply(stream, depth=2)
    levels = np.concatenate([full[name] for name in ("bid_price", "bid_qty", "ask_price", "ask_qty")], axis=1)
    changed = np.ones(len(stream), dtype=bool)
    changed[1:] = (levels[1:] != levels[:-1]).any(axis=1)
    keep = changed | np.isin(stream["kind"], [lob.TRADE, lob.EXECUTE])
    assert rows == int(keep.sum()) < len(stream)
    messages = lob.io.read_lobster_messages(msg)
    assert messages.events.tobytes() == stream[keep].tobytes()
    snap = lob.io.read_lobster_book(book)
    np.testing.assert_array_equal(snap.bid_qty, full["bid_qty"][keep])
    np.testing.assert_array_equal(snap.ask_price, full["ask_price"][keep])


def test_negative_and_odd_times_round_trip(tmp_path):
    ev = np.zeros(4, dtype=lob.EVENT_DTYPE)
    ev[0] = (-500_000_000, lob.ADD, 0, 1, 100, 5)          # -0.5 s
    ev[1] = (-1_500_000_001, lob.ADD, 0, 2, 99, 5)
    ev[2] = (7, lob.ADD, 1, 3, 101, 5)                      # 7 ns
    ev[3] = (2**62, lob.CANCEL, 0, 1, 100, 5)
    lob.io.write_lobster(ev, tmp_path / "m.csv", tmp_path / "o.csv", levels=1)
    text = (tmp_path / "m.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in text][:3] == ["-0.5", "-1.500000001", "0.000000007"]
    assert lob.io.read_lobster(tmp_path / "m.csv")["ts"].tolist() == ev["ts"].tolist()


def test_kinds_and_sides_of_each_type():
    text = (b"34200.1,1,11,100,5000,1\n"       # add bid
            b"34200.2,2,11,30,5000,1\n"        # partial cancel
            b"34200.3,4,11,20,5000,1\n"        # execution of the resting bid: a sell
            b"34200.4,5,0,7,5001,-1\n"         # hidden sell order executed: buyer-initiated
            b"34200.5,6,0,9,5000,1\n"          # cross trade
            b"34200.6,3,11,50,5000,1\n")       # delete the rest
    ev = lob.io.read_lobster(text)
    assert ev["kind"].tolist() == [lob.ADD, lob.REDUCE, lob.EXECUTE, lob.TRADE, lob.TRADE, lob.CANCEL]
    assert ev["side"].tolist() == [0, 0, 0, lob.BID, lob.NO_AGGRESSOR, 0]
    assert ev["ts"].tolist()[:2] == [34_200_100_000_000, 34_200_200_000_000]
    book = lob.OrderBook()
    book.apply(ev)
    assert len(book) == 0 and book.buy_volume == 7 and book.sell_volume == 20 and book.cross_volume == 9


HALTS = b"34200.1,1,11,100,5000,1\n34200.2,7,0,0,-1,-1\n34200.3,7,0,0,1,-1\n34200.4,3,11,100,5000,1\n"


def test_halts_are_reported():
    with pytest.warns(lob.io.LobsterHalt, match="2 trading-halt rows"):
        ev = lob.io.read_lobster(HALTS)
    assert len(ev) == 2
    messages = lob.io.read_lobster_messages(HALTS)
    assert isinstance(messages, lob.io.LobsterMessages)
    assert messages.halts.tolist() == [(1, 34_200_200_000_000, -1), (2, 34_200_300_000_000, 1)]
    assert messages.rows.tolist() == [0, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lob.io.read_lobster_messages(HALTS)


def test_old_flags_still_work_and_warn():
    """with_halts / with_rows: the old return shapes, with a DeprecationWarning;
    read_lobster_messages is the one function with rows and halts now."""
    with pytest.warns(DeprecationWarning, match="read_lobster_messages"):
        ev, halts = lob.io.read_lobster(HALTS, with_halts=True)
    assert len(ev) == 2 and len(halts) == 2
    with pytest.warns(DeprecationWarning):
        ev, halts, rows = lob.io.read_lobster(HALTS, with_halts=True, with_rows=True)
    assert rows.tolist() == [0, 3]
    with pytest.warns(DeprecationWarning):
        with pytest.raises(TypeError, match="read_lobster_stream"):
            lob.io.read_lobster(HALTS, HALTS, with_rows=True)


def test_malformed_orderbook():
    with pytest.raises(lob.errors.ParseError, match="3 columns; an orderbook row has 4 per level"):
        lob.io.read_lobster_book(b"1,2,3\n")
    with pytest.raises(lob.errors.ParseError, match="line 2: 3 comma-separated columns; a row here has 4"):
        lob.io.read_lobster_book(b"1,2,3,4\n1,2,3\n")
    with pytest.raises(lob.errors.ParseError, match=r"line 1: column 4 \(bid size 1\): -4 is negative"):
        lob.io.read_lobster_book(b"1,2,3,-4\n")


@needs_sample
def test_shared_sample_reads():
    ev = lob.io.read_lobster(SAMPLE_MSG)
    assert len(ev) == 999
    assert np.bincount(ev["kind"], minlength=6).tolist() == [0, 471, 0, 369, 98, 61]
    assert ev["ts"][0] == 34_200_004_241_176
    snap = lob.io.read_lobster_book(SAMPLE_BOOK)
    assert snap.ask_price[0, 0] == 5859400 and snap.bid_qty[0, 0] == 18
