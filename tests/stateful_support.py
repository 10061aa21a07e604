"""Pieces shared by the stateful tests (tests/test_book_stateful.py and
tests/test_engine_stateful.py): malformed-argument strategies, and comparing a
real OrderBook with the plain-Python ModelBook."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import lob

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1

# Any integer other than 0/1, however large, is a ValueError; non-integers a TypeError.
BAD_SIDE = st.sampled_from([-1, 2, 3, 2**70, -(2**64), 1.0, 0.0, None, "0", np.float64(1.0), np.int8(2)])
BAD_PRICE = st.sampled_from([2**63, -(2**63) - 1, 2**80, 100.0, 99.5, math.inf, None, "100"])
BAD_QTY_VALUE = st.sampled_from([0, -1, -5, INT64_MIN, np.int64(0)])
BAD_QTY_TYPE = st.sampled_from([2**63, 2**64, 1.0, 5.0, np.float64(3.0), None, "5"])


def mostly(good, bad, one_in=8):
    """`good` most of the time, `bad` about one time in `one_in`."""
    return st.integers(0, one_in - 1).flatmap(lambda k: bad if k == 0 else good)


# --------------------------------------------------------------------------- comparison helpers
def norm(value):
    """Turn NumPy scalars/arrays and tuples into plain Python for comparison."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return type(value)(norm(v) for v in value)
    return value


def same_float(got, exp, scale=1.0, rel=1e-12):
    """nan-aware closeness; `scale` (the prices' magnitude) bounds the absolute error."""
    if not isinstance(got, float):  # the contract's signals are Python floats
        return False
    if math.isnan(exp):
        return math.isnan(got)
    if math.isnan(got):
        return False
    return math.isclose(got, exp, rel_tol=rel, abs_tol=rel * max(1.0, abs(scale)))


def exc_matches(real_exc, model_exc):
    """The library raised the model's error type (a LobError where, and only where, the model did)."""
    if not isinstance(real_exc, type(model_exc)):
        return False
    if not isinstance(model_exc, lob.LobError) and isinstance(real_exc, lob.LobError):
        return False
    return True


def compare_books(book, model, where="", absent_ids=range(41)):
    """Assert that every observable of `book` equals that of `model`."""
    tag = f"[{where}] " if where else ""
    assert len(book) == len(model), f"{tag}len {len(book)} != {len(model)}"

    for name in ("best_bid", "best_ask", "best_bid_qty", "best_ask_qty", "spread",
                 "volume_delta", "buy_volume", "sell_volume", "cross_volume", "trade_count", "last_trade_price"):
        got, exp = getattr(book, name), getattr(model, name)
        assert got == exp and (got is None) == (exp is None), f"{tag}{name}: book {got!r} model {exp!r}"
        assert got is None or (type(got) is int), f"{tag}{name}: {type(got).__name__}, not int"

    bb, ba = model.best_bid, model.best_ask
    price_scale = max(abs(bb or 0), abs(ba or 0), 1)
    got, exp = book.mid, model.mid
    assert same_float(got, exp, price_scale), f"{tag}mid: book {got!r} model {exp!r}"
    got, exp = book.microprice(), model.microprice()
    assert same_float(got, exp, price_scale), f"{tag}microprice: book {got!r} model {exp!r}"
    for lv in (1, 2, 3):
        got, exp = book.imbalance(lv), model.imbalance(lv)
        assert same_float(got, exp), f"{tag}imbalance({lv}): book {got!r} model {exp!r}"
    got, exp = book.imbalance(), model.imbalance()
    assert same_float(got, exp), f"{tag}imbalance(): book {got!r} model {exp!r}"
    if hasattr(book, "top"):     # book.top(): the same six values in one call
        top = book.top()
        assert top[:4] == (book.best_bid, book.best_bid_qty, book.best_ask, book.best_ask_qty), f"{tag}top()"
        assert same_float(top[4], book.microprice()) and same_float(top[5], book.imbalance()), f"{tag}top()"
    got, exp = book.vwap, model.vwap
    assert same_float(got, exp, model._max_abs_trade_price), f"{tag}vwap: book {got!r} model {exp!r}"

    for side in (0, 1):
        got, exp = book.level_count(side), model.level_count(side)
        assert got == exp, f"{tag}level_count({side}): book {got!r} model {exp!r}"

    for lv in (None, 1, 2, 3, 1000):
        d = book.depth() if lv is None else book.depth(lv)
        exp = model.depth() if lv is None else model.depth(lv)
        assert isinstance(d, lob.Depth), f"{tag}depth({lv}) returned {type(d).__name__}"
        assert len(d) == 4
        for arr in d:
            assert isinstance(arr, np.ndarray) and arr.dtype == np.int64, \
                f"{tag}depth({lv}) field is {type(arr).__name__} {getattr(arr, 'dtype', '')}"
        got = tuple(a.tolist() for a in d)
        assert got == exp, f"{tag}depth({lv}): book {got!r} model {exp!r}"
        assert got == (d.bid_price.tolist(), d.bid_qty.tolist(), d.ask_price.tolist(), d.ask_qty.tolist())

    for oid in model._orders:
        assert oid in book, f"{tag}{oid} in book is False"
        raw = book.order(oid)
        got, exp = norm(tuple(raw)), model.order(oid)
        assert got == exp, f"{tag}order({oid}): book {raw!r} model {exp!r}"
        assert isinstance(raw, tuple) and all(isinstance(x, int) for x in raw), f"{tag}order({oid}) -> {raw!r}"
        got, exp = book.queue_ahead(oid), model.queue_ahead(oid)
        assert got == exp and type(got) is int, f"{tag}queue_ahead({oid}): book {got!r} model {exp!r}"
    for oid in absent_ids:
        if oid not in model:
            assert oid not in book, f"{tag}{oid} in book is True but it does not rest"

    for side in (0, 1):
        for price in model._levels[side]:
            got, exp = [int(x) for x in book.orders_at(side, price)], model.orders_at(side, price)
            assert got == exp, f"{tag}orders_at({side}, {price}): book {got!r} model {exp!r}"
            got, exp = book.level_qty(side, price), model.level_qty(side, price)
            assert got == exp, f"{tag}level_qty({side}, {price}): book {got!r} model {exp!r}"
        # a couple of empty levels
        for price in (89, 111, -(10**12) + 7):
            if price not in model._levels[side]:
                assert book.level_qty(side, price) == 0
                assert list(book.orders_at(side, price)) == []

    book.check()


# --------------------------------------------------------------------------- the machine
