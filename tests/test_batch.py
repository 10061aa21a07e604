"""OrderBook.apply: the batch path equals the same events one call at a time."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import lob
from lob.cli import replay_calls

CALLS = {
    lob.ADD: lambda b, e: b.add(e["order_id"], e["side"], e["price"], e["qty"]),
    lob.REDUCE: lambda b, e: b.reduce(e["order_id"], e["qty"]) if e["order_id"] in b else b.cancel_anonymous(
        e["side"], e["price"], e["qty"]),
    lob.CANCEL: lambda b, e: b.cancel(e["order_id"]) if e["order_id"] in b else b.cancel_anonymous(
        e["side"], e["price"], e["qty"]),
    lob.EXECUTE: lambda b, e: b.execute(e["order_id"], e["qty"]) if e["order_id"] in b else b.execute_anonymous(
        e["side"], e["price"], e["qty"]),
    lob.TRADE: lambda b, e: b.trade(e["side"], e["price"], e["qty"]),
    lob.MODIFY: lambda b, e: b.modify(e["order_id"], e["price"], e["qty"]),
    lob.CLEAR: lambda b, e: b.clear(),
    lob.ANON: lambda b, e: b.set_anonymous(e["side"], e["price"], e["qty"]),
}


def one_call_at_a_time(book, events, depth):
    """Apply each event by its Python call, skipping refused ones; the feature
    rows read through the public API after each event."""
    rows = []
    for ev in events.tolist():
        e = dict(zip(events.dtype.names, ev))
        try:
            CALLS[e["kind"]](book, e)
        except (lob.LobError, ValueError, KeyError):
            pass
        d = book.depth(depth) if depth else None
        rows.append((e["ts"], book.best_bid or 0, book.best_bid_qty, book.best_ask or 0, book.best_ask_qty,
                     book.microprice(), book.imbalance(), book.volume_delta, d))
    return rows


def same_float(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_same_books(a, b):
    assert a.snapshot().tobytes() == b.snapshot().tobytes()
    assert a._flow_state() == b._flow_state()
    a.check()
    b.check()


events_strategy = st.lists(
    st.tuples(
        st.integers(1, 9),                 # kind (9 is invalid)
        st.integers(-1, 2),                # side (-1, 2 invalid)
        st.integers(0, 12),                # order_id: a small pool, so ids repeat
        st.integers(95, 105),              # price near a touch
        st.integers(-1, 6),                # qty (<= 0 invalid, some above resting)
    ),
    max_size=120,
)


def to_events(rows):
    ev = np.zeros(len(rows), dtype=lob.EVENT_DTYPE)
    for i, (kind, side, oid, price, qty) in enumerate(rows):
        ev[i] = (i, kind, side, oid, price, qty)
    return ev


@settings(max_examples=300, deadline=None)
@given(rows=events_strategy, depth=st.sampled_from([0, 1, 3]), allow_cross=st.booleans())
def test_apply_equals_calls(rows, depth, allow_cross):
    ev = to_events(rows)
    batch = lob.OrderBook(allow_cross=allow_cross)
    feats = batch.apply(ev, depth=depth, on_error="skip")
    calls = lob.OrderBook(allow_cross=allow_cross)
    expected = one_call_at_a_time(calls, ev, depth)
    assert_same_books(batch, calls)
    assert len(feats) == len(ev)
    for row, (ts, bb, bq, ba, aq, micro, imb, vd, d) in zip(feats, expected):
        assert (row["ts"], row["best_bid"], row["best_bid_qty"], row["best_ask"], row["best_ask_qty"]) == (
            ts, bb, bq, ba, aq)
        assert same_float(row["microprice"], micro) and same_float(row["imbalance"], imb)
        assert row["volume_delta"] == vd
        if depth:
            for name, values in zip(("bid_price", "bid_qty", "ask_price", "ask_qty"), d):
                padded = list(values) + [0] * (depth - len(values))
                assert row[name].tolist() == padded


@settings(max_examples=200, deadline=None)
@given(rows=events_strategy)
def test_apply_raise_stops_at_the_bad_event(rows):
    ev = to_events(rows)
    batch = lob.OrderBook()
    try:
        feats = batch.apply(ev)
        stop = len(ev)
    except lob.EventError as err:
        stop = err.index
        assert isinstance(err.__cause__, (lob.LobError, ValueError, KeyError))
        assert len(err.features) == stop
        feats = err.features
    # the same prefix, one call at a time, never raises and gives the same book
    calls = lob.OrderBook()
    for ev_row in ev[:stop].tolist():
        e = dict(zip(ev.dtype.names, ev_row))
        CALLS[e["kind"]](calls, e)
    assert_same_books(batch, calls)
    if stop < len(ev):
        e = dict(zip(ev.dtype.names, ev[stop].tolist()))
        with pytest.raises((lob.LobError, ValueError, KeyError)):
            if e["kind"] not in CALLS:
                raise ValueError("kind")
            CALLS[e["kind"]](calls, e)
    assert len(feats) == stop


def test_apply_on_synth_matches_calls():
    ev = lob.synth.generate(30_000, seed=4, target_orders=3_000, p_reduce=0.05, p_modify=0.05, p_trade=0.03)
    a = lob.OrderBook()
    feats = a.apply(ev, depth=5)
    b = lob.OrderBook()
    micro, imb, vdelta = replay_calls(b, ev)
    assert_same_books(a, b)
    np.testing.assert_array_equal(feats["microprice"], micro)
    np.testing.assert_array_equal(feats["imbalance"], imb)
    np.testing.assert_array_equal(feats["volume_delta"], vdelta)
    d = b.depth(5)
    assert feats[-1]["bid_price"].tolist() == d.bid_price.tolist()
    assert feats[-1]["ask_qty"].tolist() == d.ask_qty.tolist()


def test_apply_error_contract():
    ev = lob.synth.generate(100, seed=1)
    bad = ev.copy()
    bad[40]["kind"] = lob.CANCEL
    bad[40]["order_id"] = 10**15
    book = lob.OrderBook()
    with pytest.raises(lob.EventError) as info:
        book.apply(bad)
    assert info.value.index == 40
    assert isinstance(info.value.__cause__, lob.UnknownOrderError)
    assert "event 40" in str(info.value) and "order_id=1000000000000000" in str(info.value)
    ref = lob.OrderBook()
    ref.apply(ev[:40])
    assert book.snapshot().tobytes() == ref.snapshot().tobytes()

    book = lob.OrderBook()
    feats = book.apply(bad, on_error="skip")
    assert len(feats) == 100 and book.last_rejected == {"unknown_id": 1}

    bad_kind = ev[:5].copy()
    bad_kind[2]["kind"] = 42
    with pytest.raises(lob.EventError) as info:
        lob.OrderBook().apply(bad_kind)
    assert info.value.index == 2 and isinstance(info.value.__cause__, ValueError)


def test_apply_arguments():
    ev = lob.synth.generate(10, seed=1)
    book = lob.OrderBook()
    assert book.apply(ev, record=False) is None
    assert len(book) > 0
    with pytest.raises(TypeError, match="EVENT_DTYPE"):
        lob.OrderBook().apply(np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError):
        lob.OrderBook().apply([1, 2, 3])
    with pytest.raises(ValueError, match="on_error"):
        lob.OrderBook().apply(ev, on_error="ignore")
    with pytest.raises(ValueError, match="depth"):
        lob.OrderBook().apply(ev, depth=-1)
    empty = lob.OrderBook().apply(ev[:0])
    assert len(empty) == 0 and empty.dtype == lob.FEATURE_DTYPE
    assert lob.OrderBook().apply(ev[::2], on_error="skip").shape == (5,)   # non-contiguous input
    assert lob.feature_dtype(3)["bid_price"].shape == (3,)
    buf = np.zeros(20, dtype=lob.feature_dtype(2))
    rows = lob.OrderBook().apply(ev, depth=2, out=buf)
    assert len(rows) == 10 and np.shares_memory(rows, buf)
    assert rows.tobytes() == lob.OrderBook().apply(ev, depth=2).tobytes()
    with pytest.raises(TypeError, match="out"):
        lob.OrderBook().apply(ev, out=np.zeros(5, dtype=lob.FEATURE_DTYPE))
    with pytest.raises(TypeError, match="out"):
        lob.OrderBook().apply(ev, out=buf)   # depth 0 rows into a depth-2 buffer


def test_clear_event():
    ev = lob.synth.generate(50, seed=1)
    clear = np.zeros(1, dtype=lob.EVENT_DTYPE)
    clear["kind"] = lob.CLEAR
    book = lob.OrderBook()
    feats = book.apply(np.concatenate([ev, clear]))
    assert len(book) == 0 and feats[-1]["best_bid"] == 0 and math.isnan(feats[-1]["microprice"])
    book.check()
