"""Databento MBO (DBN): the array reader against the object-path decoder it
replaced, executions against the raw records, the writer, and bad files."""
import io
import math
import pathlib
import warnings

import numpy as np
import numpy.lib.recfunctions as rfn
import pytest
from hypothesis import given, note, settings, strategies as st

import lob
import lob.io
import lob.synth
from lob.errors import ParseError
from lob.io.dbn import F_LAST, mbo_dtype, read_dbn_messages, write_dbn

databento_dbn = pytest.importorskip("databento_dbn")
zstandard = pytest.importorskip("zstandard")

SAMPLE = (pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "dbn"
          / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst")
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason="../shared/data/dbn is not present")
LEVELS = 5
SIDE = {"B": lob.BID, "A": lob.ASK}
FLOW = ("buy_volume", "sell_volume", "volume_delta", "cross_volume", "last_trade_price")


# ---- the oracle: read_dbn as it was (one Python object per record, databento-dbn's decoder) ----

def object_path_read(data):
    """Events and flags of DBN bytes the way read_dbn built them before the
    array path (commit a88ce90): F and N make no event, F_LAST moves back."""
    if data[:4] == b"\x28\xb5\x2f\xfd":
        data = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read()
    decoder = databento_dbn.DBNDecoder()
    decoder.write(data)
    rows, flags = [], []
    for r in decoder.decode():
        if not hasattr(r, "action"):
            continue
        action, side = str(r.action.value), str(r.side.value)
        if action == "R":
            rows.append((r.ts_recv, lob.CLEAR, 0, 0, 0, 0))
        elif action == "A":
            rows.append((r.ts_recv, lob.ADD, SIDE[side], r.order_id, r.price, r.size))
        elif action == "C":
            rows.append((r.ts_recv, lob.REDUCE, SIDE.get(side, 0), r.order_id, r.price, r.size))
        elif action == "M":
            rows.append((r.ts_recv, lob.MODIFY, SIDE.get(side, 0), r.order_id, r.price, r.size))
        elif action == "T":
            rows.append((r.ts_recv, lob.TRADE, SIDE.get(side, lob.NO_AGGRESSOR), 0, r.price, r.size))
        else:
            if r.flags & F_LAST and flags:
                flags[-1] |= F_LAST
            continue
        flags.append(int(r.flags) & 0xFF)
    events = np.array(rows, dtype=lob.EVENT_DTYPE) if rows else np.zeros(0, dtype=lob.EVENT_DTYPE)
    return events, np.array(flags, dtype=np.uint8)


def independent_replay(data):
    """Plain Python over databento-dbn records: the top LEVELS levels of each
    side after every record flagged F_LAST, and the trade flow from T."""
    decoder = databento_dbn.DBNDecoder()
    decoder.write(zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read())
    orders = {}                                  # order id -> [side, price, size]
    tops, buy, sell = [], 0, 0

    def top():
        levels = ({}, {})
        for side, price, size in orders.values():
            book = levels[0 if side == "B" else 1]
            book[price] = book.get(price, 0) + size
        return sorted(levels[0].items(), reverse=True)[:LEVELS], sorted(levels[1].items())[:LEVELS]

    for r in decoder.decode():
        if not hasattr(r, "action"):
            continue
        action, side = str(r.action.value), str(r.side.value)
        if action == "R":
            orders.clear()
        elif action == "A":
            orders[r.order_id] = [side, r.price, r.size]
        elif action == "C":
            order = orders[r.order_id]
            order[2] -= r.size
            if order[2] == 0:
                del orders[r.order_id]
        elif action == "M":
            orders[r.order_id] = [orders[r.order_id][0], r.price, r.size]
        elif action == "T":
            if side == "B":
                buy += r.size
            elif side == "A":
                sell += r.size
        if r.flags & F_LAST:
            tops.append(top())
    return tops, buy, sell


def replay(events, flags, on_error="raise"):
    """The book after the events, and its feature rows (ts aside) at F_LAST."""
    book = lob.OrderBook(allow_cross=True)
    features = book.apply(events, depth=LEVELS, on_error=on_error)
    book.check()
    rows = features[(flags & F_LAST) > 0]
    names = [n for n in rows.dtype.names if n != "ts"]
    return book, rfn.repack_fields(rows[names])


def l3(book):
    """Every resting order in FIFO order, level by level."""
    depth = book.depth(levels=10**6)
    return [(side, int(p), book.orders_at(side, int(p)))
            for side, prices in ((lob.BID, depth.bid_price), (lob.ASK, depth.ask_price)) for p in prices]


def same_flow(a, b):
    assert [getattr(a, f) for f in FLOW] == [getattr(b, f) for f in FLOW]
    assert (math.isnan(a.vwap) and math.isnan(b.vwap)) or a.vwap == b.vwap


def assert_same_replay(on, off, on_error="raise"):
    """Executions on and off give the same book after every F_LAST record,
    the same final L3 book and the same trade flow."""
    book_on, rows_on = replay(on.events, on.flags, on_error)
    book_off, rows_off = replay(off.events, off.flags, on_error)
    assert len(rows_on) == len(rows_off)
    assert rows_on.tobytes() == rows_off.tobytes()
    assert l3(book_on) == l3(book_off)
    same_flow(book_on, book_off)
    return book_on, book_off


# ---- raw record streams ----

def dbn_bytes(records, *, version=3, ts_out=False, schema="mbo"):
    metadata = databento_dbn.Metadata(
        dataset="TEST", start=0, stype_in=None, stype_out=databento_dbn.SType.INSTRUMENT_ID,
        schema=databento_dbn.Schema.MBO if schema == "mbo" else None, version=version, ts_out=ts_out)
    return bytes(metadata) + records.tobytes()


def mbo(rows, instrument_id=7, ts_out=False):
    """MBO records from (action, side, order_id, price, size, flags) tuples."""
    records = np.zeros(len(rows), dtype=mbo_dtype(ts_out))
    records["length"] = records.dtype.itemsize // 4
    records["rtype"] = 0xA0
    records["instrument_id"] = instrument_id
    for i, (action, side, oid, price, size, flags) in enumerate(rows):
        records[i]["action"], records[i]["side"] = action.encode(), side.encode()
        records[i]["order_id"], records[i]["price"], records[i]["size"] = oid, price, size
        records[i]["flags"] = flags
        records[i]["ts_recv"] = records[i]["ts_event"] = 1_000 + i
    return records


def both(data, **kw):
    return read_dbn_messages(data, **kw), read_dbn_messages(data, executions=False, **kw)


# ---- the CME sample ----

@needs_sample
def test_cme_sample_equals_the_object_path_without_executions():
    data = SAMPLE.read_bytes()
    events, flags = object_path_read(data)
    got = read_dbn_messages(SAMPLE, executions=False)
    assert len(got.events) == 13791
    assert got.events.tobytes() == events.tobytes() and (got.flags == flags).all()


@needs_sample
def test_cme_sample_matches_independent_replay():
    messages = read_dbn_messages(SAMPLE)
    book, rows = replay(messages.events, messages.flags)
    assert book.last_rejected == {}
    expected, buy, sell = independent_replay(SAMPLE.read_bytes())
    assert len(rows) == len(expected) > 100
    for row, (bids, asks) in zip(rows, expected):
        got_bids = [(p, q) for p, q in zip(row["bid_price"].tolist(), row["bid_qty"].tolist()) if q]
        got_asks = [(p, q) for p, q in zip(row["ask_price"].tolist(), row["ask_qty"].tolist()) if q]
        assert got_bids == bids and got_asks == asks
    assert (book.buy_volume, book.sell_volume) == (buy, sell)   # fills are not counted twice
    # prices stay DBN's fixed-point integers (ES ticks are 0.25 = 250,000,000)
    assert book.best_bid % 250_000_000 == 0 and book.spread == 250_000_000


@needs_sample
def test_cme_sample_executions_keep_book_and_flow():
    on, off = both(SAMPLE)
    book_on, book_off = assert_same_replay(on, off)
    counts = np.bincount(on.events["kind"], minlength=9).tolist()
    # 5 T + 5 F + their 2 C and 3 M are 5 EXECUTEs; every other record is as before
    assert counts[lob.EXECUTE] == 5 and counts[lob.TRADE] == 0
    assert counts[lob.REDUCE] == 80 - 2 and counts[lob.MODIFY] == 27 - 3 and counts[lob.ADD] == 13678
    assert len(on.events) == len(off.events) - 5
    # each CME print here filled one resting order: as many trades as before
    assert book_on.trade_count == book_off.trade_count == 5
    ex = on.events[on.events["kind"] == lob.EXECUTE]
    assert (ex["side"] == lob.ASK).all() and (ex["price"] == 5214250000000).all()
    assert ex["qty"].tolist() == [1, 1, 1, 1, 2]
    assert book_on.volume_delta == 6


@needs_sample
def test_cme_sample_kinds_and_deprecated_with_flags():
    events = lob.io.read_dbn(SAMPLE, executions=False)
    counts = np.bincount(events["kind"], minlength=9).tolist()
    assert counts[lob.CLEAR] == 1 and counts[lob.ADD] == 13678 and counts[lob.MODIFY] == 27
    assert counts[lob.REDUCE] == 80 and counts[lob.TRADE] == 5
    assert events[0]["kind"] == lob.CLEAR
    with pytest.warns(DeprecationWarning, match="read_dbn_messages"):
        got, flags = lob.io.read_dbn(SAMPLE, with_flags=True)
    messages = read_dbn_messages(SAMPLE)
    assert got.tobytes() == messages.events.tobytes() and (flags == messages.flags).all()
    with pytest.warns(DeprecationWarning):
        assert lob.io.read_dbn(SAMPLE, with_flags=False).tobytes() == messages.events.tobytes()


@needs_sample
def test_cme_sample_plain_equals_zstd_and_bytes():
    plain = zstandard.ZstdDecompressor().stream_reader(SAMPLE.read_bytes(), read_across_frames=True).read()
    assert lob.io.read_dbn(plain).tobytes() == lob.io.read_dbn(SAMPLE).tobytes()
    assert lob.io.read_dbn(str(SAMPLE)).tobytes() == lob.io.read_dbn(SAMPLE.read_bytes()).tobytes()


@needs_sample
def test_cme_sample_round_trips_through_write_dbn(tmp_path):
    messages = read_dbn_messages(SAMPLE)
    for compression in ("zstd", "none"):
        path = tmp_path / f"rt.{compression}.dbn"
        write_dbn(messages.events, path, flags=messages.flags, compression=compression, instrument_id=5602)
        assert (path.read_bytes()[:4] == b"\x28\xb5\x2f\xfd") == (compression == "zstd")
        again = read_dbn_messages(path)
        assert again.events.tobytes() == messages.events.tobytes() and (again.flags == messages.flags).all()


# ---- generated files: the array path equals the object path; executions round-trip ----

def synthetic(n, seed):
    return lob.synth.generate(n, seed, p_reduce=0.2, p_modify=0.2, p_trade=0.1, target_orders=300,
                              start_ts=1_715_126_400_000_000_000)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), compression=st.sampled_from(["zstd", "none"]))
def test_generated_files_equal_object_path_and_round_trip(seed, compression):
    events = synthetic(3000, seed)
    out = io.BytesIO()
    write_dbn(events, out, compression=compression)
    data = out.getvalue()
    old_events, old_flags = object_path_read(data)
    off = read_dbn_messages(data, executions=False)
    assert off.events.tobytes() == old_events.tobytes() and (off.flags == old_flags).all()
    on = read_dbn_messages(data)
    expected = events.copy()
    cancel = expected["kind"] == lob.CANCEL      # a DBN C names the size it removes
    expected["kind"][cancel] = lob.REDUCE
    assert on.events.tobytes() == expected.tobytes()
    assert (on.flags == F_LAST).all()
    assert_same_replay(on, off)


def test_write_dbn_records_are_databento_s(tmp_path):
    """The writer's records decode with databento-dbn's own decoder as the
    CME pattern: T by the aggressor, F of the resting order, then C or M."""
    events = np.array([(10, lob.ADD, lob.ASK, 5, 2_000, 3), (11, lob.EXECUTE, lob.ASK, 5, 0, 1),
                       (12, lob.EXECUTE, lob.ASK, 5, 0, 2), (13, lob.TRADE, lob.NO_AGGRESSOR, 0, 1_990, 4),
                       (14, lob.CLEAR, 0, 0, 0, 0)], dtype=lob.EVENT_DTYPE)
    path = tmp_path / "x.dbn.zst"
    assert write_dbn(events, path, instrument_id=42) == 9
    decoder = databento_dbn.DBNDecoder()
    decoder.write(zstandard.ZstdDecompressor().stream_reader(path.read_bytes(), read_across_frames=True).read())
    records = [r for r in decoder.decode() if hasattr(r, "action")]
    got = [(str(r.action.value), str(r.side.value), r.order_id, r.price, r.size, r.flags & F_LAST, r.instrument_id)
           for r in records]
    assert got == [("A", "A", 5, 2000, 3, F_LAST, 42),
                   ("T", "B", 0, 2000, 1, 0, 42), ("F", "A", 5, 2000, 1, 0, 42), ("M", "A", 5, 2000, 2, F_LAST, 42),
                   ("T", "B", 0, 2000, 2, 0, 42), ("F", "A", 5, 2000, 2, 0, 42), ("C", "A", 5, 2000, 2, F_LAST, 42),
                   ("T", "N", 0, 1990, 4, F_LAST, 42), ("R", "N", 0, 0, 0, F_LAST, 42)]
    back = lob.io.read_dbn(path)
    expected = events.copy()
    expected["price"][1:3] = 2_000               # an EXECUTE reads back at its order's price
    assert back.tobytes() == expected.tobytes()


def test_write_dbn_refuses_what_mbo_cannot_say(tmp_path):
    path = tmp_path / "x.dbn"
    anon = np.array([(1, lob.ANON, 0, 0, 100, 5)], dtype=lob.EVENT_DTYPE)
    with pytest.raises(ValueError, match="event 0: kind 8"):
        write_dbn(anon, path)
    ghost = np.array([(1, lob.EXECUTE, 0, 9, 100, 5)], dtype=lob.EVENT_DTYPE)
    with pytest.raises(ValueError, match="order_id=9, which does not rest"):
        write_dbn(ghost, path)
    with pytest.raises(ValueError, match="EVENT_DTYPE"):
        write_dbn(np.zeros(3), path)
    with pytest.raises(ValueError, match="dataset must be"):
        write_dbn(anon[:0], path, dataset="X" * 16)
    with pytest.raises(ValueError, match="version must be"):
        write_dbn(anon[:0], path, version=4)
    with pytest.raises(ValueError, match="compression"):
        write_dbn(np.zeros(0, dtype=lob.EVENT_DTYPE), path, compression="gzip")
    write_dbn(np.zeros(0, dtype=lob.EVENT_DTYPE), path, compression="none")
    assert len(lob.io.read_dbn(path)) == 0


# ---- executions, record by record ----

T, F, C, M, A, N, R = "T", "F", "C", "M", "A", "N", "R"
L = F_LAST


def events_of(rows, **kw):
    return read_dbn_messages(dbn_bytes(mbo(rows)), **kw)


def kinds(messages):
    return [(int(e["kind"]), int(e["order_id"]), int(e["price"]), int(e["qty"])) for e in messages.events]


BOOK = [(A, "A", 1, 100, 5, L), (A, "A", 2, 100, 3, L), (A, "B", 3, 99, 4, L)]


@pytest.mark.parametrize("tail, expected", [
    # a fill that empties the order: T, F and C are one EXECUTE
    ([(T, "B", 9, 100, 5, 0), (F, "A", 1, 100, 5, 0), (C, "A", 1, 100, 5, L)], [(lob.EXECUTE, 1, 100, 5)]),
    # a partial fill and the M to what is left
    ([(T, "B", 9, 100, 2, 0), (F, "A", 1, 100, 2, 0), (M, "A", 1, 100, 3, L)], [(lob.EXECUTE, 1, 100, 2)]),
    # one print, two resting orders: two EXECUTEs, the print goes
    ([(T, "B", 9, 100, 7, 0), (F, "A", 1, 100, 5, 0), (F, "A", 2, 100, 2, 0), (C, "A", 1, 100, 5, 0),
      (M, "A", 2, 100, 1, L)], [(lob.EXECUTE, 1, 100, 5), (lob.EXECUTE, 2, 100, 2)]),
    # a print larger than its fills keeps the rest (implied or hidden liquidity)
    ([(T, "B", 9, 100, 4, 0), (F, "A", 1, 100, 1, 0), (M, "A", 1, 100, 4, L)],
     [(lob.TRADE, 0, 100, 3), (lob.EXECUTE, 1, 100, 1)]),
    # a C above the fill: EXECUTE, then REDUCE of the rest
    ([(T, "B", 9, 100, 2, 0), (F, "A", 1, 100, 2, 0), (C, "A", 1, 100, 5, L)],
     [(lob.EXECUTE, 1, 100, 2), (lob.REDUCE, 1, 100, 3)]),
    # an M to another price after the fill stays a MODIFY
    ([(T, "B", 9, 100, 2, 0), (F, "A", 1, 100, 2, 0), (M, "A", 1, 101, 3, L)],
     [(lob.EXECUTE, 1, 100, 2), (lob.MODIFY, 1, 101, 3)]),
    # other records between the fill and its C
    ([(T, "B", 9, 100, 1, 0), (F, "A", 2, 100, 1, 0), (C, "A", 1, 100, 1, 0), (A, "B", 4, 98, 1, 0),
      (M, "A", 2, 100, 2, L)], [(lob.EXECUTE, 2, 100, 1), (lob.REDUCE, 1, 100, 1), (lob.ADD, 4, 98, 1)]),
])
def test_fill_and_its_book_change_are_one_execute(tail, expected):
    rows = BOOK + tail
    on, off = both(dbn_bytes(mbo(rows)))
    assert kinds(on)[3:] == expected
    assert_same_replay(on, off)


@pytest.mark.parametrize("tail", [
    # the C comes in the next exchange event
    [(T, "B", 9, 100, 5, 0), (F, "A", 1, 100, 5, L), (C, "A", 1, 100, 5, L)],
    # no print from the other side at that price
    [(T, "A", 9, 100, 5, 0), (F, "A", 1, 100, 5, 0), (C, "A", 1, 100, 5, L)],
    [(T, "B", 9, 101, 5, 0), (F, "A", 1, 100, 5, 0), (C, "A", 1, 100, 5, L)],
    [(F, "A", 1, 100, 5, 0), (T, "B", 9, 100, 5, 0), (C, "A", 1, 100, 5, L)],
    # a print without an aggressor stays a cross (no buy or sell volume)
    [(T, "N", 9, 100, 5, 0), (F, "A", 1, 100, 5, 0), (C, "A", 1, 100, 5, L)],
    # the fill is larger than its print, its order, or its C
    [(T, "B", 9, 100, 1, 0), (F, "A", 1, 100, 2, 0), (M, "A", 1, 100, 3, L)],
    [(T, "B", 9, 100, 9, 0), (F, "A", 1, 100, 9, 0), (C, "A", 1, 100, 5, L)],
    [(T, "B", 9, 100, 3, 0), (F, "A", 1, 100, 3, 0), (C, "A", 1, 100, 2, L)],
    # an order that does not rest, or rests at another price / side
    [(T, "B", 9, 100, 1, 0), (F, "A", 8, 100, 1, 0), (C, "A", 8, 100, 1, L)],
    [(T, "B", 9, 101, 1, 0), (F, "A", 1, 101, 1, 0), (C, "A", 1, 101, 1, L)],
    [(T, "A", 9, 100, 1, 0), (F, "B", 1, 100, 1, 0), (C, "B", 1, 100, 1, L)],
    # an M that grows what the fill left would move the order back: not paired
    [(T, "B", 9, 100, 1, 0), (F, "A", 1, 100, 1, 0), (M, "A", 1, 100, 5, L)],
    # the whole order filled, then an M
    [(T, "B", 9, 100, 5, 0), (F, "A", 1, 100, 5, 0), (M, "A", 1, 100, 1, L)],
    # a clear between the fill and its C
    [(T, "B", 9, 100, 5, 0), (F, "A", 1, 100, 5, 0), (R, "N", 0, 0, 0, 0), (A, "A", 1, 100, 5, 0),
     (C, "A", 1, 100, 5, L)],
    # two fills of one order before its M
    [(T, "B", 9, 100, 2, 0), (F, "A", 1, 100, 1, 0), (F, "A", 1, 100, 1, 0), (M, "A", 1, 100, 3, L)],
    # a file that ends inside the event
    [(T, "B", 9, 100, 5, 0), (F, "A", 1, 100, 5, 0)],
])
def test_fills_that_do_not_pair_change_nothing(tail):
    on, off = both(dbn_bytes(mbo(BOOK + tail)))
    assert_same_replay(on, off, on_error="skip")


RAW = st.tuples(st.sampled_from("ACMTFNR"), st.sampled_from("BAN"), st.integers(1, 5), st.integers(98, 102),
                st.integers(0, 6), st.sampled_from([0, 0, L]))


@st.composite
def streams(draw):
    """Random MBO records around a few orders, with fill patterns (T, F, a
    few records, C or M of the filled order, mostly consistent with the
    order's state) mixed in so that pairing is exercised often."""
    state = {}                                           # order id -> [side, price, size], roughly
    rows = []
    for oid in range(1, 6):
        side, price, size = draw(st.sampled_from("AB")), draw(st.integers(98, 102)), draw(st.integers(1, 6))
        rows.append((A, side, oid, price, size, draw(st.sampled_from([0, L]))))
        state[oid] = [side, price, size]
    for _ in range(draw(st.integers(1, 25))):
        if draw(st.integers(0, 3)) == 0:
            rows.append(draw(RAW))
            continue
        oid = draw(st.integers(1, 5))
        rest, price, size = state[oid]
        if draw(st.integers(0, 5)) == 0:                 # now and then, not the order's state
            rest, price = draw(st.sampled_from("AB")), draw(st.integers(98, 102))
        q = draw(st.integers(1, max(1, size)))
        aggressor = draw(st.sampled_from(["B" if rest == "A" else "A"] * 4 + ["N", rest]))
        rows.append((T, aggressor, 99, price, q + draw(st.sampled_from([0, 0, 0, 1, -1])), 0))
        rows.append((F, rest, oid, price, q, draw(st.sampled_from([0] * 6 + [L]))))
        rows += draw(st.lists(RAW.map(lambda r: r[:5] + (0,)), max_size=2))
        if q == size and draw(st.integers(0, 3)):
            rows.append((C, rest, oid, price, draw(st.sampled_from([q, q, q - 1, q + 1])), L))
            size = draw(st.integers(1, 6))
            rows.append((A, rest, oid, price, size, L))  # back, for later fills
        elif draw(st.booleans()):
            rows.append((C, rest, oid, price, draw(st.integers(q - 1, q + 2)), L))
            size -= q
        else:
            new_price = draw(st.sampled_from([price, price, price + 1]))
            size = draw(st.sampled_from([size - q, size - q, size - q - 1, size]))
            rows.append((M, rest, oid, new_price, max(size, 0), L))
            price = new_price
        state[oid] = [rest, price, max(size, 1)]
    return [r if r[0] != "A" or r[1] != "N" else (r[0], "B") + r[2:] for r in rows]


@settings(max_examples=300, deadline=None)
@given(streams())
def test_executions_keep_the_book_and_the_flow_of_any_stream(rows):
    data = dbn_bytes(mbo(rows))
    on, off = both(data)
    old_events, old_flags = object_path_read(data)
    assert off.events.tobytes() == old_events.tobytes() and (off.flags == old_flags).all()
    assert_same_replay(on, off, on_error="skip")
    executions = int((on.events["kind"] == lob.EXECUTE).sum())
    assert executions <= sum(r[0] == F for r in rows)
    note(f"executions: {executions}")


# ---- instruments, versions, framing ----

def test_several_instruments_need_instrument_id():
    records = np.concatenate([mbo(BOOK, instrument_id=7), mbo(BOOK[:2], instrument_id=8)])
    data = dbn_bytes(records)
    with pytest.raises(ValueError, match=r"holds 2 instruments \(7, 8\); pass instrument_id="):
        lob.io.read_dbn(data)
    assert len(lob.io.read_dbn(data, instrument_id=7)) == 3
    assert lob.io.read_dbn(data, instrument_id=8).tobytes() == lob.io.read_dbn(dbn_bytes(mbo(BOOK[:2], 8))).tobytes()
    with pytest.raises(ValueError, match="instrument_id=9 is not in <bytes>"):
        lob.io.read_dbn(data, instrument_id=9)
    with pytest.raises(ValueError, match="instrument_id must be an int"):
        lob.io.read_dbn(data, instrument_id=-1)


@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize("ts_out", [False, True])
def test_versions_and_ts_out(version, ts_out):
    rows = BOOK + [(T, "B", 9, 100, 2, 0), (F, "A", 1, 100, 2, 0), (M, "A", 1, 100, 3, L)]
    data = dbn_bytes(mbo(rows, ts_out=ts_out), version=version, ts_out=ts_out)
    old_events, old_flags = object_path_read(data)
    on, off = both(data)
    assert off.events.tobytes() == old_events.tobytes()
    assert kinds(on)[3:] == [(lob.EXECUTE, 1, 100, 2)]


def test_other_record_types_between_mbo_records_are_skipped():
    """A live or mixed-schema stream: records of other types (here a system
    message) sit between the MBO records; the reader walks their lengths."""
    system = bytes(databento_dbn.SystemMsg(ts_event=5, msg="heartbeat"))
    records = mbo(BOOK)
    data = dbn_bytes(records[:1], schema=None) + system + records[1:].tobytes() + system
    assert lob.io.read_dbn(data).tobytes() == lob.io.read_dbn(dbn_bytes(records)).tobytes()


# ---- malformed files: ParseError with the file, the byte offset and the problem ----

def good_file():
    return dbn_bytes(mbo(BOOK + [(T, "B", 9, 100, 2, 0), (F, "A", 1, 100, 2, 0), (M, "A", 1, 100, 3, L)]))


def refused(data, match, tmp_path=None):
    with pytest.raises(ParseError, match=match) as info:
        lob.io.read_dbn(data)
    assert info.value.source == "<bytes>" and info.value.offset is not None
    return info.value


def test_empty_file(tmp_path):
    path = tmp_path / "empty.dbn"
    path.write_bytes(b"")
    with pytest.raises(ParseError, match=r"empty\.dbn: byte offset 0: the file is empty") as info:
        lob.io.read_dbn(path)
    assert info.value.reason == "empty" and info.value.source == str(path)


def test_garbage_bytes():
    refused(b"hello, world\n" * 10, r"<bytes>: byte offset 0: not a DBN file")
    refused(b"DB", r"not a DBN file")
    refused(b"DBN\x03\x10", r"header.*cut short")
    refused(b"DBN\x09" + b"\x00" * 200, r"byte offset 3: DBN version 9 is not supported")


def test_corrupt_metadata_length_is_refused_before_any_allocation():
    data = bytearray(good_file())
    data[4:8] = (0xFFFFFFF0).to_bytes(4, "little")
    error = refused(bytes(data), r"byte offset 4: metadata length 4294967280 runs past the end")
    assert error.reason == "bad_length"
    data[4:8] = (12).to_bytes(4, "little")
    refused(bytes(data), r"metadata length 12 is below")


def test_not_mbo_schema():
    data = bytearray(good_file())
    data[24:26] = (1).to_bytes(2, "little")
    refused(bytes(data), r"byte offset 24: schema 1 is not MBO")


def test_truncated_files():
    data = good_file()
    header = len(data) - 6 * 56
    for cut in (1, 20, 55, 56 + 3):
        error = refused(data[:-cut], r"truncated file")
        assert error.reason == "truncated"
        assert header <= error.offset < len(data) and (error.offset - header) % 56 == 0
    refused(data[:header - 5], "runs past the end")


def test_truncated_zstd_file(tmp_path):
    out = io.BytesIO()
    write_dbn(synthetic(500, 1), out)
    data = out.getvalue()
    with pytest.raises(ParseError, match="zstd stream ends inside a frame"):
        lob.io.read_dbn(data[:-10])
    with pytest.raises(ParseError, match="corrupt zstd data"):
        lob.io.read_dbn(data[:len(data) // 2] + bytes(64) + data[len(data) // 2:])
    with pytest.raises(ParseError, match="corrupt zstd data"):
        lob.io.read_dbn(data + b"trailing garbage")


def test_zstd_frames():
    """Several frames, a skippable frame, content size known or not, a
    checksum: all read; a damaged checksum or block is refused."""
    plain = good_file()
    expected = lob.io.read_dbn(plain).tobytes()
    half = len(plain) // 2
    for size in (False, True):
        compressor = zstandard.ZstdCompressor(write_checksum=True, write_content_size=size)
        frames = compressor.compress(plain[:half]) + compressor.compress(plain[half:])
        skippable = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"12345"
        assert lob.io.read_dbn(skippable + frames).tobytes() == expected
    data = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(plain))
    data[-1] ^= 0xFF                                   # the content checksum
    with pytest.raises(ParseError, match="corrupt zstd data"):
        lob.io.read_dbn(bytes(data))
    data = bytearray(zstandard.ZstdCompressor().compress(plain))
    data[7] |= 0x06                                    # the first block header: reserved block type
    with pytest.raises(ParseError, match="corrupt zstd data: a bad block header"):
        lob.io.read_dbn(bytes(data))
    # a stream of highly compressible records grows its buffer past 8x the file
    big = dbn_bytes(np.repeat(mbo([(A, "B", 1, 99, 1, L)]), 100_000))
    packed = zstandard.ZstdCompressor(write_content_size=False).compress(big)
    assert len(big) > 8 * len(packed) + (1 << 20)
    assert len(lob.io.read_dbn(packed)) == 100_000


def test_bad_records():
    data = bytearray(good_file())
    header = len(data) - 6 * 56
    bad = bytearray(data)
    bad[header + 56] = 0                                # record length 0
    refused(bytes(bad), rf"byte offset {header + 56}: record length 0 .* below the 16-byte")
    bad = bytearray(data)
    bad[header + 56] = 13                               # an MBO record of 52 bytes
    refused(bytes(bad), rf"byte offset {header + 56}: an MBO record here is 52 bytes, not 56")
    bad = bytearray(data)
    bad[header + 2 * 56 + 38] = ord("Z")                # action
    refused(bytes(bad), rf"byte offset {header + 112}: record 2: unknown action \(action b'Z'")
    bad = bytearray(data)
    bad[header + 39] = ord("N")                         # an add without a side
    refused(bytes(bad), rf"byte offset {header}: record 0: an add without a side")
    bad = bytearray(data)
    bad[header + 40:header + 48] = (2**64 - 1).to_bytes(8, "little")  # ts_recv = UNDEF_TIMESTAMP
    error = refused(bytes(bad), r"ts_recv is beyond int64")
    assert error.reason == "out_of_range"


def test_a_directory(tmp_path):
    with pytest.raises(ParseError, match="is a directory"):
        lob.io.read_dbn(tmp_path)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_files_parse_or_raise_parse_error(data):
    """Bytes flipped anywhere, or the file cut anywhere: a ParseError or
    ValueError, never another exception, a crash or a huge allocation."""
    raw = bytearray(good_file())
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[:data.draw(st.integers(0, len(raw)))]
    if data.draw(st.booleans()):                 # the same through zstd, or a damaged zstd frame
        raw = bytearray(zstandard.ZstdCompressor(write_checksum=data.draw(st.booleans())).compress(bytes(raw)))
        if data.draw(st.booleans()):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            messages = read_dbn_messages(bytes(raw))
        except ValueError:               # ParseError, or several instruments
            return
    assert messages.events.dtype == lob.EVENT_DTYPE and len(messages.events) == len(messages.flags)
