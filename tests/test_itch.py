"""NASDAQ ITCH 5.0: the streaming parser, the writer, and bad input."""
import pathlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import lob
import lob.io
from lob.io.itch import MESSAGE_LENGTHS

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "itch" / "sample.itch"


@pytest.fixture(scope="module")
def streams():
    return {
        "AAPL": lob.synth.generate(4000, seed=1, target_orders=400, p_reduce=0.1, p_trade=0.05),
        "MSFT": lob.synth.generate(4000, seed=2, target_orders=400, p_modify=0.1, first_id=10**7),
    }


@pytest.fixture(scope="module")
def itch_file(tmp_path_factory, streams):
    path = tmp_path_factory.mktemp("itch") / "day.itch"
    lob.synth.write_itch(streams, path)
    return path


def assert_same_replay(source_events, parsed_events):
    a, b = lob.OrderBook(), lob.OrderBook()
    fa, fb = a.apply(source_events), b.apply(parsed_events)
    assert a.depth(1000).bid_qty.tolist() == b.depth(1000).bid_qty.tolist()
    assert a.depth(1000).ask_price.tolist() == b.depth(1000).ask_price.tolist()
    assert a._flow_state() == b._flow_state()
    assert len(a) == len(b)
    b.check()
    # the same top of book after the last event (ids of replaced orders differ)
    for field in ("best_bid", "best_bid_qty", "best_ask", "best_ask_qty", "volume_delta"):
        assert fa[-1][field] == fb[-1][field]


@pytest.mark.parametrize("compress", [False, True])
def test_roundtrip(tmp_path, streams, compress):
    path = tmp_path / ("day.itch.gz" if compress else "day.itch")
    lob.io.write_itch(streams, path, compress=compress)     # the writer beside its reader
    assert lob.synth.write_itch is lob.io.write_itch          # the old name stays
    parser = lob.io.ItchParser()
    books = lob.io.read_itch(path, parser=parser)
    assert set(books) == {"AAPL", "MSFT"} and parser.directory == {1: "AAPL", 2: "MSFT"}
    assert parser.unknown_refs == 0 and [code for _, code in parser.system_events] == ["O", "C"]
    for name, events in streams.items():
        assert_same_replay(events, books[name])
    counts = parser.counts
    assert counts["U"] == int((streams["MSFT"]["kind"] == lob.MODIFY).sum())
    assert counts["A"] == sum(int((e["kind"] == lob.ADD).sum()) for e in streams.values())


def test_event_mapping(itch_file, streams):
    aapl = lob.io.read_itch(itch_file)["AAPL"]
    src = streams["AAPL"]
    assert len(aapl) == len(src)                       # no MODIFY in this stream: one event a message
    assert aapl["kind"].tolist() == src["kind"].tolist()
    assert aapl["ts"].tolist() == src["ts"].tolist()
    adds = src["kind"] == lob.ADD
    assert aapl[adds].tobytes() == src[adds].tobytes()
    execs = src["kind"] == lob.EXECUTE
    assert aapl["side"][execs].tolist() == src["side"][execs].tolist()   # the resting side, from the parser's map
    trades = src["kind"] == lob.TRADE
    assert aapl["side"][trades].tolist() == src["side"][trades].tolist()  # the aggressor


def test_symbols_filter(itch_file):
    assert set(lob.io.read_itch(itch_file, symbols=["MSFT"])) == {"MSFT"}
    assert lob.io.read_itch(itch_file, symbols=["NOPE"]) == {}


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_streaming_any_chunk_size(itch_file, chunk):
    whole = lob.io.ItchParser().feed(itch_file.read_bytes())
    parts = list(lob.io.iter_itch(itch_file, chunk_size=chunk))
    events = np.concatenate([e for e, _ in parts])
    locates = np.concatenate([l for _, l in parts])
    assert events.tobytes() == whole[0].tobytes() and locates.tolist() == whole[1].tolist()


def message(kind, body, locate=1, ts=1000):
    msg = struct.pack(">cHH", kind, locate, 0) + ts.to_bytes(6, "big") + body
    return struct.pack(">H", len(msg)) + msg


def test_execute_with_price_and_printable_flag():
    add = message(b"A", struct.pack(">QcI", 5, b"S", 300) + b"ZVZZT   " + struct.pack(">I", 10_000))
    printed = message(b"C", struct.pack(">QIQcI", 5, 100, 1, b"Y", 10_050))
    silent = message(b"C", struct.pack(">QIQcI", 5, 50, 2, b"N", 10_060))
    events, _ = lob.io.ItchParser().feed(add + printed + silent)
    assert events["kind"].tolist() == [lob.ADD, lob.REDUCE, lob.TRADE, lob.REDUCE]
    book = lob.OrderBook()
    book.apply(events)
    assert book.order(5) == (lob.ASK, 10_000, 150)
    assert book.buy_volume == 100 and book.vwap == 10_050.0 and book.trade_count == 1


def test_replace_keeps_the_side():
    add = message(b"A", struct.pack(">QcI", 5, b"B", 300) + b"ZVZZT   " + struct.pack(">I", 10_000))
    replace = message(b"U", struct.pack(">QQII", 5, 9, 200, 10_010))
    events, _ = lob.io.ItchParser().feed(add + replace)
    assert events[["kind", "side", "order_id", "price", "qty"]].tolist() == [
        (lob.ADD, 0, 5, 10_000, 300), (lob.CANCEL, 0, 5, 0, 0), (lob.ADD, 0, 9, 10_010, 200)]


def test_every_message_type_decodes():
    blob = b""
    for kind, length in MESSAGE_LENGTHS.items():
        body = bytearray(length - 11)
        if kind in "AFP":
            body[8] = ord("B")
        blob += message(kind.encode(), bytes(body))
    parser = lob.io.ItchParser()
    parser.feed(blob)
    parser.finish()
    assert parser.counts == {k: 1 for k in MESSAGE_LENGTHS}


@pytest.mark.skipif(not SAMPLE.exists(), reason="../shared/data/itch is not present")
def test_shared_sample():
    parser = lob.io.ItchParser()
    assert lob.io.read_itch(SAMPLE, parser=parser) == {}     # no order messages in it
    assert parser.counts == {"S": 1, "R": 993, "H": 3, "Y": 3}
    assert len(parser.directory) == 993 and parser.directory[1] == "A" and parser.directory[2] == "AA"
    assert parser.offset == SAMPLE.stat().st_size


def test_truncated_file_names_offset_and_type(itch_file, tmp_path):
    data = itch_file.read_bytes()
    cut = tmp_path / "cut.itch"
    cut.write_bytes(data[: len(data) - 10])
    with pytest.raises(ValueError, match=r"byte offset \d+: truncated message of type 'S'"):
        lob.io.read_itch(cut)


@pytest.mark.parametrize("blob,words", [
    (struct.pack(">H", 12) + b"Z" + bytes(11), "byte offset 0: unknown message type 'Z'"),
    (struct.pack(">H", 11) + b"S" + bytes(10), "byte offset 0: message type 'S' must be 12 bytes"),
    (struct.pack(">H", 0), "byte offset 0: zero-length message"),
    (message(b"A", struct.pack(">QcI", 5, b"X", 300) + bytes(12)), "side must be 'B' or 'S'"),
])
def test_corrupt_input(blob, words):
    with pytest.raises(ValueError, match=words):
        lob.io.ItchParser().feed(blob)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 64))
def test_fuzz_random_bytes_never_crash(blob, chunk):
    parser = lob.io.ItchParser()
    try:
        for i in range(0, len(blob), chunk):
            parser.feed(blob[i:i + chunk])
        parser.finish()
    except ValueError as exc:
        assert "byte offset" in str(exc)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_valid_file(itch_file, data):
    blob = bytearray(itch_file.read_bytes()[:3000])
    for _ in range(data.draw(st.integers(1, 8))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    try:
        events, _ = lob.io.ItchParser().feed(bytes(blob))
    except ValueError as exc:
        assert "byte offset" in str(exc)
    else:
        lob.OrderBook(allow_cross=True).apply(events, on_error="skip")   # garbage in, no crash


@pytest.mark.parametrize("chunk", [100, 1 << 20])
def test_replay_itch_streams_into_books(itch_file, streams, chunk):
    books, rejected = lob.io.replay_itch(itch_file, chunk_size=chunk)
    assert rejected == {} and set(books) == {"AAPL", "MSFT"}
    for name, events in streams.items():
        reference = lob.OrderBook()
        reference.apply(events)
        assert books[name].depth(1000).bid_qty.tolist() == reference.depth(1000).bid_qty.tolist()
        assert books[name]._flow_state() == reference._flow_state()
        books[name].check()
    only, _ = lob.io.replay_itch(itch_file, symbols=["MSFT"])
    assert set(only) == {"MSFT"}


def test_apply_routed_arguments():
    from lob._batch import apply_routed
    ev = lob.synth.generate(10, seed=1)
    with pytest.raises(ValueError, match="keys"):
        apply_routed([lob.OrderBook()], ev, np.zeros(3))
    with pytest.raises(TypeError, match="not an OrderBook"):
        apply_routed(["x"], ev, np.zeros(10))
    book = lob.OrderBook()
    counts, passed = apply_routed([None, book], ev, np.r_[np.ones(5), np.full(5, 7)])
    assert passed == 5 and len(book) > 0


def test_feed_books_equals_feed(itch_file):
    blob = itch_file.read_bytes()
    events, locates = lob.io.ItchParser().feed(blob)
    routed = [None, lob.OrderBook(), lob.OrderBook()]
    from lob._batch import apply_routed
    apply_routed(routed, events, locates)
    direct = [None] * 3
    counts, passed = lob.io.ItchParser().feed_books(blob, direct, lambda locate, symbol: lob.OrderBook())
    assert counts == {} and passed == 0
    for a, b in zip(routed[1:], direct[1:]):
        assert a.snapshot().tobytes() == b.snapshot().tobytes() and a._flow_state() == b._flow_state()
    only_msft = [None] * 3
    _, passed = lob.io.ItchParser().feed_books(
        blob, only_msft, lambda locate, symbol: lob.OrderBook() if symbol == "MSFT" else None)
    assert only_msft[1] is None and only_msft[2] is not None and passed == int((locates == 1).sum())
    with pytest.raises(TypeError, match="not an OrderBook"):
        lob.io.ItchParser().feed_books(blob, [None] * 3, lambda locate, symbol: "book")


def test_cross_is_a_trade_without_aggressor(tmp_path):
    cross = np.zeros(2, dtype=lob.EVENT_DTYPE)
    cross[0] = (10, lob.ADD, lob.BID, 1, 10_000, 100)
    cross[1] = (20, lob.TRADE, lob.NO_AGGRESSOR, 0, 10_010, 5_000)
    path = tmp_path / "cross.itch"
    lob.synth.write_itch({"ZVZZT": cross}, path)
    parser = lob.io.ItchParser()
    events = lob.io.read_itch(path, parser=parser)["ZVZZT"]
    assert events[1][["kind", "side", "price", "qty"]].tolist() == (lob.TRADE, lob.NO_AGGRESSOR, 10_010, 5_000)
    assert parser.crosses == [(1, 20, 10_010, 5_000, "O")]
    book = lob.OrderBook()
    book.apply(events)
    assert book.cross_volume == 5_000 and book.volume_delta == 0 and book.vwap == 10_010.0


# ---- C (executed with price): an execution at its printed price ----

def executions_as_c(blob, seed=0, other_price=0.25, silent=0.1):
    """The ITCH bytes `blob` with each E (executed) rewritten as a C
    (executed with price): most at the order's own price and printable, a
    fraction `other_price` at another printed price, a fraction `silent`
    marked non-printable.  A pure-Python walk of the framing that keeps each
    order's price from its A / F / U."""
    rng = np.random.default_rng(seed)
    out, prices, pos = bytearray(), {}, 0
    while pos < len(blob):
        (length,) = struct.unpack_from(">H", blob, pos)
        msg = blob[pos + 2: pos + 2 + length]
        kind = msg[:1]
        if kind in (b"A", b"F"):
            prices[struct.unpack_from(">Q", msg, 11)[0]] = struct.unpack_from(">I", msg, 32)[0]
        elif kind == b"U":
            new_ref, _, price = struct.unpack_from(">QII", msg, 19)
            prices[new_ref] = price
        elif kind == b"E":
            ref = struct.unpack_from(">Q", msg, 11)[0]
            draw = rng.random()
            price = prices[ref] + (int(rng.integers(1, 5)) if draw < other_price else 0)
            printable = b"N" if other_price <= draw < other_price + silent else b"Y"
            msg = b"C" + msg[1:] + printable + struct.pack(">I", price)
        out += struct.pack(">H", len(msg)) + msg
        pos += 2 + length
    return bytes(out)


def old_mapping_events(blob, locate):
    """Book events of stock `locate` in ITCH bytes as the parser mapped them
    before C became an execution (C -> REDUCE + TRADE at the printed price
    when printable), in a plain-Python decoder: the reference the new mapping
    must replay equal to."""
    rows, live, pos = [], {}, 0
    while pos < len(blob):
        (length,) = struct.unpack_from(">H", blob, pos)
        msg = blob[pos + 2: pos + 2 + length]
        pos += 2 + length
        kind, ts = msg[:1], int.from_bytes(msg[5:11], "big")
        if struct.unpack_from(">H", msg, 1)[0] != locate:
            continue
        if kind in (b"A", b"F"):
            ref, side, shares = struct.unpack_from(">QcI", msg, 11)
            side = 0 if side == b"B" else 1
            live[ref] = side
            rows.append((ts, lob.ADD, side, ref, struct.unpack_from(">I", msg, 32)[0], shares))
        elif kind in (b"E", b"C", b"X"):
            ref, shares = struct.unpack_from(">QI", msg, 11)
            side = live[ref]
            rows.append((ts, lob.EXECUTE if kind == b"E" else lob.REDUCE, side, ref, 0, shares))
            if kind == b"C" and msg[31:32] == b"Y":
                rows.append((ts, lob.TRADE, 1 - side, 0, struct.unpack_from(">I", msg, 32)[0], shares))
        elif kind == b"D":
            ref = struct.unpack_from(">Q", msg, 11)[0]
            rows.append((ts, lob.CANCEL, live[ref], ref, 0, 0))
        elif kind == b"U":
            ref, new_ref, shares, price = struct.unpack_from(">QQII", msg, 11)
            live[new_ref] = live[ref]
            rows.append((ts, lob.CANCEL, live[ref], ref, 0, 0))
            rows.append((ts, lob.ADD, live[ref], new_ref, price, shares))
        elif kind == b"P":
            side = 0 if msg[19:20] == b"B" else 1
            rows.append((ts, lob.TRADE, 1 - side, 0, struct.unpack_from(">I", msg, 32)[0],
                         struct.unpack_from(">I", msg, 20)[0]))
    return np.array(rows, dtype=lob.EVENT_DTYPE)


def test_c_at_the_order_price_is_one_execution():
    add = message(b"A", struct.pack(">QcI", 5, b"S", 300) + b"ZVZZT   " + struct.pack(">I", 10_000))
    at_price = message(b"C", struct.pack(">QIQcI", 5, 100, 1, b"Y", 10_000), ts=2000)
    elsewhere = message(b"C", struct.pack(">QIQcI", 5, 50, 2, b"Y", 10_020), ts=3000)
    silent = message(b"C", struct.pack(">QIQcI", 5, 30, 3, b"N", 10_000), ts=4000)
    events, _ = lob.io.ItchParser().feed(add + at_price + elsewhere + silent)
    assert events[["ts", "kind", "side", "order_id", "price", "qty"]].tolist() == [
        (1000, lob.ADD, lob.ASK, 5, 10_000, 300),
        (2000, lob.EXECUTE, lob.ASK, 5, 10_000, 100),     # one execution of order 5, at its price
        (3000, lob.REDUCE, lob.ASK, 5, 0, 50),            # printed elsewhere: the order shrinks...
        (3000, lob.TRADE, lob.BID, 0, 10_020, 50),        # ...and the trade is at the printed price
        (4000, lob.REDUCE, lob.ASK, 5, 0, 30)]            # non-printable: no trade
    book = lob.OrderBook()
    book.apply(events)
    assert book.order(5) == (lob.ASK, 10_000, 120)
    assert (book.buy_volume, book.trade_count, book.last_trade_price) == (150, 2, 10_020)
    assert book.vwap == (100 * 10_000 + 50 * 10_020) / 150


def test_executions_carry_the_order_price_and_unknown_refs_no_side():
    add = message(b"A", struct.pack(">QcI", 5, b"B", 300) + b"ZVZZT   " + struct.pack(">I", 9_900))
    execute = message(b"E", struct.pack(">QIQ", 5, 100, 1))
    unknown = message(b"E", struct.pack(">QIQ", 77, 10, 2)) + message(b"D", struct.pack(">Q", 78))
    parser = lob.io.ItchParser()
    events, _ = parser.feed(add + execute + unknown)
    assert events[["kind", "side", "order_id", "price", "qty"]].tolist()[1:] == [
        (lob.EXECUTE, lob.BID, 5, 9_900, 100), (lob.EXECUTE, -1, 77, 0, 10), (lob.CANCEL, -1, 78, 0, 0)]
    assert parser.unknown_refs == 2
    book = lob.OrderBook()
    book.apply(events, on_error="skip")
    assert book.last_rejected == {"unknown_id": 2} and book.order(5) == (lob.BID, 9_900, 200)


@pytest.mark.parametrize("seed", [0, 1])
def test_c_keeps_books_and_trade_flow_of_replay_itch(tmp_path, itch_file, seed):
    blob = executions_as_c(itch_file.read_bytes(), seed=seed)
    path = tmp_path / "with_c.itch"
    path.write_bytes(blob)
    parser = lob.io.ItchParser()
    books, rejected = lob.io.replay_itch(path, parser=parser)
    assert rejected == {} and parser.counts.get("C", 0) > 100 and "E" not in parser.counts
    assert set(books) == {"AAPL", "MSFT"}
    for locate, (name, book) in enumerate(sorted(books.items()), start=1):
        reference = lob.OrderBook()
        reference.apply(old_mapping_events(blob, locate))
        assert book.snapshot().tobytes() == reference.snapshot().tobytes()
        assert book._flow_state() == reference._flow_state()
        # one EXECUTE or a REDUCE + TRADE: the same order-flow and trade-flow signals
        assert (book.ofi, book.sweeps, book.absorbed_bid, book.absorbed_ask) == (
            reference.ofi, reference.sweeps, reference.absorbed_bid, reference.absorbed_ask)
        book.check()
    # every C at its order's price and printable became one EXECUTE carrying that price
    events = lob.io.read_itch(path)
    executions = sum(int((e["kind"] == lob.EXECUTE).sum()) for e in events.values())
    assert 0 < executions < parser.counts["C"]
