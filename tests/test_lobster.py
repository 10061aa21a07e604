"""LOBSTER: reader, orderbook reader, writer, and the replay check."""
import pathlib
import warnings

import numpy as np
import pytest

import lob
import lob.io
from lob.cli import main as lob_main

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
    rows = lob.synth.write_lobster(stream, msg, book, levels=5, header=header, crlf=crlf)
    assert rows == len(stream)
    events = lob.io.read_lobster(msg)
    assert events.tobytes() == stream.tobytes()     # exact: ts to the nanosecond, ids, sides, kinds
    snap = lob.io.read_lobster_book(book)
    assert snap.bid_price.shape == (len(stream), 5)
    features = lob.OrderBook().apply(stream, depth=5)
    np.testing.assert_array_equal(snap.bid_price, features["bid_price"])
    np.testing.assert_array_equal(snap.ask_qty, features["ask_qty"])
    result = lob.io.check_lobster(msg, book)
    assert (result.matched, result.total, result.resynced) == (rows, rows, 0)


def test_modify_is_written_as_delete_and_add(tmp_path):
    ev = lob.synth.generate(2000, seed=2, target_orders=300, p_modify=0.3)
    n_modify = int((ev["kind"] == lob.MODIFY).sum())
    assert n_modify > 0
    rows = lob.synth.write_lobster(ev, tmp_path / "m.csv", tmp_path / "o.csv")
    assert rows == len(ev) + n_modify
    result = lob.io.check_lobster(tmp_path / "m.csv", tmp_path / "o.csv")
    assert result.ok and result.resynced == 0
    a = lob.OrderBook()
    a.apply(ev)
    b = lob.OrderBook()
    b.apply(lob.io.read_lobster(tmp_path / "m.csv"))
    assert a.snapshot().tobytes() == b.snapshot().tobytes()


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


def test_halts_are_reported():
    text = b"34200.1,1,11,100,5000,1\n34200.2,7,0,0,-1,-1\n34200.3,7,0,0,1,-1\n34200.4,3,11,100,5000,1\n"
    with pytest.warns(lob.io.LobsterHalt, match="2 trading-halt rows"):
        ev = lob.io.read_lobster(text)
    assert len(ev) == 2
    ev, halts = lob.io.read_lobster(text, with_halts=True)
    assert halts.tolist() == [(1, 34_200_200_000_000, -1), (2, 34_200_300_000_000, 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lob.io.read_lobster(text, with_halts=True)


@pytest.mark.parametrize("text,words", [
    (b"34200.1,1,11,100,5000\n", "line 1: wrong number of columns"),
    (b"34200.1,1,11,100,5000,1\n34200.2,1,12,1x0,5000,1\n", "line 2: a field is not a number"),
    (b"34200.1,9,11,100,5000,1\n", "line 1: message type is not 1 to 7"),
    (b"34200.1,1,11,100,5000,0\n", "line 1: direction is not 1 or -1"),
    (b"34200.1234567891,1,11,100,5000,1\n", "line 1: time has more than 9 decimals"),
    (b"34200.1,1,11,100,99999999999999999999,1\n", "line 1: a number is beyond int64"),
    (b"34200.1,1,11,100,5000,1,7\n", "line 1: wrong number of columns"),
    (b"h1,h2\n34200.1,1,-11,100,5000,1\n", "line 2: a number is beyond int64"),
])
def test_malformed_messages_name_the_line(text, words):
    with pytest.raises(ValueError, match=words):
        lob.io.read_lobster(text)


def test_malformed_orderbook():
    with pytest.raises(ValueError, match="4 per level"):
        lob.io.read_lobster_book(b"1,2,3\n")
    with pytest.raises(ValueError, match="line 2"):
        lob.io.read_lobster_book(b"1,2,3,4\n1,2,3\n")


def test_empty_files():
    assert len(lob.io.read_lobster(b"")) == 0
    assert lob.io.read_lobster_book(b"").bid_price.shape[0] == 0


def test_check_reports_a_wrong_file(tmp_path, stream):
    msg, book = tmp_path / "m.csv", tmp_path / "o.csv"
    lob.synth.write_lobster(stream[:500], msg, book)
    lines = book.read_text().splitlines()
    cells = lines[300].split(",")
    cells[3] = str(int(cells[3]) + 1)          # row 300: one share more at the best bid
    lines[300] = ",".join(cells)
    book.write_text("\n".join(lines) + "\n")
    result = lob.io.check_lobster(msg, book)
    assert not result.ok and result.matched == 499 and result.mismatches[0][0] == 300
    assert lob_main(["lobster-check", str(msg), str(book)]) == 1


@needs_sample
def test_shared_sample_matches_every_row(capsys):
    result = lob.io.check_lobster(SAMPLE_MSG, SAMPLE_BOOK)
    assert (result.matched, result.total) == (999, 999)
    assert result.rejected == []
    assert lob_main(["lobster-check", str(SAMPLE_MSG), str(SAMPLE_BOOK)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"matched 999/999 rows, {result.resynced} resynced"


@needs_sample
def test_shared_sample_reads():
    ev = lob.io.read_lobster(SAMPLE_MSG)
    assert len(ev) == 999
    assert np.bincount(ev["kind"], minlength=6).tolist() == [0, 471, 0, 369, 98, 61]
    assert ev["ts"][0] == 34_200_004_241_176
    snap = lob.io.read_lobster_book(SAMPLE_BOOK)
    assert snap.ask_price[0, 0] == 5859400 and snap.bid_qty[0, 0] == 18


from hypothesis import given, settings, strategies as st  # noqa: E402

LOBSTER_BYTES = st.lists(st.sampled_from([b"0", b"1", b"7", b"9", b"-", b"+", b".", b",", b"\n", b"\r", b"x", b" ",
                                          b"34200.1,1,5,100,5000,1\n", b"99999999999999999999"]),
                         max_size=80).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(LOBSTER_BYTES)
def test_fuzz_messages_never_crash(blob):
    try:
        events = lob.io.read_lobster(blob, with_halts=True)[0]
    except ValueError as exc:
        assert "line" in str(exc)
    else:
        lob.OrderBook().apply(events, on_error="skip")


@settings(max_examples=300, deadline=None)
@given(LOBSTER_BYTES)
def test_fuzz_orderbook_never_crash(blob):
    try:
        lob.io.read_lobster_book(blob)
    except ValueError as exc:
        assert "line" in str(exc) or "columns" in str(exc)
