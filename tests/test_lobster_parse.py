"""The LOBSTER parsers: exact times (issue 9's three defects), and careless
input refused with a ParseError that names the file, the line, the column
and the value."""
import pathlib

import pytest
from hypothesis import given, settings, strategies as st

import lob
import lob.io
from lob.errors import ParseError

INT64_MAX = 2**63 - 1


def times(*texts):
    data = "".join(f"{t},1,{i + 1},100,5000,1\n" for i, t in enumerate(texts)).encode()
    return lob.io.read_lobster(data)["ts"].tolist()


def test_negative_times_keep_their_sign():
    # was +0.5 s: the sign of the whole part was lost when it was 0
    assert times("-0.5", "-1.5", "-.25", "+2.5", "-0") == [-500_000_000, -1_500_000_000, -250_000_000,
                                                            2_500_000_000, 0]


def test_times_at_the_edge_of_int64_nanoseconds():
    assert times("9223372036.854775807") == [INT64_MAX]
    assert times("-9223372036.854775808") == [-INT64_MAX - 1]
    assert times("34200.", ".5", "0.000000001") == [34_200_000_000_000, 500_000_000, 1]


@pytest.mark.parametrize("text", ["9223372036.854775808", "9223372037", "-9223372036.854775809",
                                  "99999999999999999999", "18446744073.709551616"])
def test_a_time_past_int64_nanoseconds_is_refused(text):
    # was wrapped around silently
    with pytest.raises(ParseError, match=rf"<bytes>: line 1: column 1 \(time\): '{text}' seconds is beyond "
                                         rf"int64 nanoseconds") as info:
        times(text)
    assert info.value.line == 1 and info.value.reason == "out_of_range" and info.value.source == "<bytes>"


def test_int64_min_in_an_integer_field():
    # -(2**63) is read without negating INT64_MIN (undefined behaviour in C)
    ev = lob.io.read_lobster(b"1.0,1,1,100,-9223372036854775808,1\n")
    assert ev["price"].tolist() == [-INT64_MAX - 1]
    with pytest.raises(ParseError, match=r"column 5 \(price\): '-9223372036854775809' is beyond int64"):
        lob.io.read_lobster(b"1.0,1,1,100,-9223372036854775809,1\n")
    assert lob.io.read_lobster_book(b"-9223372036854775808,1,1,1\n")[2].tolist() == [[-INT64_MAX - 1]]


@pytest.mark.parametrize("text,words,reason", [
    (b"34200.1,1,11,100,5000\n", r"line 1: 5 comma-separated columns; a row here has 6 \(time, type, order id, "
                                 r"size, price, direction\)", "bad_columns"),
    (b"34200.1,1,11,100,5000,1\n34200.2,1,12,1x0,5000,1\n", r"line 2: column 4 \(size\): '1x0' is not an integer",
     "bad_field"),
    (b"34200.1,9,11,100,5000,1\n", r"line 1: column 2 \(type\): 9 is not a LOBSTER message type", "bad_type"),
    (b"34200.1,1,11,100,5000,0\n", r"line 1: column 6 \(direction\): 0 is not 1 \(buy\) or -1 \(sell\)",
     "bad_direction"),
    (b"34200.1234567891,1,11,100,5000,1\n", r"line 1: column 1 \(time\): '34200.1234567891' has more than 9",
     "bad_decimals"),
    (b"34200.1,1,11,100,99999999999999999999,1\n", r"column 5 \(price\): '99999999999999999999' is beyond int64",
     "out_of_range"),
    (b"34200.1,1,11,100,5000,1,7\n", "line 1: 7 comma-separated columns; a row here has 6", "bad_columns"),
    (b"h1,h2\n34200.1,1,-11,100,5000,1\n", r"line 2: column 3 \(order id\): -11 is negative", "out_of_range"),
    (b"34200.1,1,11,-100,5000,1\n", r"column 4 \(size\): -100 is negative", "out_of_range"),
    (b"34200.1,7,0,0,5,-1\n", r"column 5 \(price\): a trading halt \(type 7\) has price -1, 0 or 1, got 5",
     "bad_field"),
    (b"x4200.1,1,11,100,5000,1\n34200.1,1,11,100,5000,1\n34200.1,1,1x,100,5000,1\n", "line 3", "bad_field"),
    (b"34200.1;1;11;100;5000;1\n", "line 1: 1 comma-separated columns; a row here has 6", "bad_columns"),
    (b"\t34200.1,1,11,100,5000,1\n", r"column 1 \(time\): '\\t34200.1' is not a decimal number", "bad_field"),
])
def test_malformed_messages_name_the_line_column_and_value(text, words, reason):
    with pytest.raises(ParseError, match=words) as info:
        lob.io.read_lobster(text)
    assert info.value.reason == reason and isinstance(info.value, ValueError)


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "AAPL_message_1.csv"
    path.write_bytes(b"34200.1,1,11,100,5000,1\n34200.2,1,12,100,abc,1\n")
    with pytest.raises(ParseError, match=rf"^{path}: line 2: column 5 \(price\): 'abc' is not an integer$") as info:
        lob.io.read_lobster_messages(path)
    assert info.value.source == str(path) and info.value.line == 2


@pytest.mark.parametrize("data,words", [(b"", "the file is empty"), (b"\n\n", "the file is empty"),
                                        (b"Time,Type,OrderID,Size,Price,Direction\n", "only a header line")])
def test_an_empty_file_is_said_to_be_empty(data, words):
    with pytest.raises(ParseError, match=f"no data rows \\({words}\\)") as info:
        lob.io.read_lobster(data)
    assert info.value.reason == "empty"
    with pytest.raises(ParseError, match="no data rows"):
        lob.io.read_lobster_book(data.replace(b"Time,Type,OrderID,Size,Price,Direction", b"AskPrice1,AskSize1"))


def test_a_header_a_bom_crlf_and_no_final_newline_are_accepted():
    plain = lob.io.read_lobster(b"34200.1,1,11,100,5000,1\n34200.2,3,11,100,5000,1\n")
    for data in (b"Time,Type,OrderID,Size,Price,Direction\r\n34200.1,1,11,100,5000,1\r\n34200.2,3,11,100,5000,1",
                 b"\xef\xbb\xbf34200.1,1,11,100,5000,1\n\n34200.2,3,11,100,5000,1\n",
                 b"\xef\xbb\xbf\"Time\",\"Type\"\n34200.1,1,11,100,5000,1\n34200.2,3,11,100,5000,1\n"):
        assert lob.io.read_lobster(data).tobytes() == plain.tobytes()
    # a header only on the first line: a later line of words is an error, not skipped
    with pytest.raises(ParseError, match="line 2"):
        lob.io.read_lobster(b"34200.1,1,11,100,5000,1\nTime,Type\n")


def test_an_orderbook_file_given_as_messages_and_the_reverse(tmp_path):
    events = lob.synth.generate(50, seed=1, target_orders=20)
    lob.io.write_lobster(events, tmp_path / "m.csv", tmp_path / "o.csv", levels=2)
    with pytest.raises(ParseError, match=r"o.csv: line 1: 8 comma-separated columns; a row here has 6"):
        lob.io.read_lobster(tmp_path / "o.csv")
    with pytest.raises(ParseError, match=r"m.csv: line 1: 6 columns; an orderbook row has 4 per level"):
        lob.io.read_lobster_book(tmp_path / "m.csv")


def test_a_pair_of_different_lengths(tmp_path):
    events = lob.synth.generate(50, seed=1, target_orders=20)
    lob.io.write_lobster(events, tmp_path / "m.csv", tmp_path / "o.csv", levels=2)
    lines = (tmp_path / "o.csv").read_text().splitlines()
    (tmp_path / "o.csv").write_text("\n".join(lines[:-3]) + "\n")
    with pytest.raises(ParseError, match=r"o.csv: 47 rows, but .*m.csv has 50: not a LOBSTER pair") as info:
        lob.io.read_lobster_stream(tmp_path / "m.csv", tmp_path / "o.csv")
    assert info.value.reason == "truncated"


def test_a_directory_and_a_missing_file(tmp_path):
    with pytest.raises(IsADirectoryError):
        lob.io.read_lobster(tmp_path)
    with pytest.raises(FileNotFoundError):
        lob.io.read_lobster(tmp_path / "missing.csv")


LOBSTER_BYTES = st.lists(st.sampled_from([b"0", b"1", b"7", b"9", b"-", b"+", b".", b",", b"\n", b"\r", b"x", b" ",
                                          b"34200.1,1,5,100,5000,1\n", b"34200.2,3,5,100,5000,1\n",
                                          b"99999999999999999999", b"9223372036.854775808", b"\xef\xbb\xbf"]),
                         max_size=80).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(LOBSTER_BYTES)
def test_fuzz_messages_never_crash(blob):
    try:
        messages = lob.io.read_lobster_messages(blob)
    except ParseError as exc:
        assert exc.source == "<bytes>" and ("line" in str(exc) or exc.reason == "empty")
    else:
        lob.OrderBook().apply(messages.events, on_error="skip")
        stream = lob.io.read_lobster_stream(blob)
        lob.OrderBook().apply(stream.events)        # the repaired stream always applies


@settings(max_examples=300, deadline=None)
@given(LOBSTER_BYTES)
def test_fuzz_orderbook_never_crash(blob):
    try:
        lob.io.read_lobster_book(blob)
    except ParseError as exc:
        assert "line" in str(exc) or exc.reason == "empty"

