"""Stateful property test: ``lob.OrderBook`` against the plain-Python ``ModelBook``.

Hypothesis drives both books with the same mix of valid and invalid calls (unknown and
duplicate ids, crossing adds/modifies, qty 0 / negative / above what rests, bad sides,
out-of-range integers, floats and other wrong types, NumPy integers). For every call both
must raise the same kind of error or return the same value; after every step an invariant
compares all observable state and runs ``book.check()``. A rule also swaps the book for a
pickle / deepcopy (/ copy.copy) round-trip of itself mid-stream and checks that the original is not
disturbed by later changes to the copy.

Runs once with ``allow_cross=False`` and once with ``allow_cross=True``.
"""

from __future__ import annotations

import copy
import math
import os
import pickle

import numpy as np
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import lob

try:
    from stateful_support import BAD_PRICE, BAD_QTY_TYPE, BAD_QTY_VALUE, BAD_SIDE, compare_books, exc_matches, mostly, norm, same_float
except ImportError:  # tests/ collected as a package
    from tests.stateful_support import BAD_PRICE, BAD_QTY_TYPE, BAD_QTY_VALUE, BAD_SIDE, compare_books, exc_matches, mostly, norm, same_float

try:
    from book_model import ModelBook
except ImportError:  # tests/ collected as a package
    from tests.book_model import ModelBook

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1

# LOB_STATEFUL_EXAMPLES=3000 for a soak run; CI keeps the default short
SETTINGS = settings(
    max_examples=int(os.environ.get("LOB_STATEFUL_EXAMPLES", "200")),
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------- strategies
ID_POOL = st.one_of(
    st.integers(0, 15),
    st.sampled_from([2**32, 2**63, UINT64_MAX]),
)
VALID_ID = st.one_of(ID_POOL, ID_POOL.map(np.uint64))
BAD_ID = st.sampled_from(
    [-1, -(2**63), 2**64, 2**70, 1.0, 0.0, 3.5, math.nan, None, "1", np.float64(2.0), np.int64(-1)]
)

SIDE = st.one_of(
    st.sampled_from([0, 1]),
    st.sampled_from([lob.BID, lob.ASK, lob.Side.BID, lob.Side.ASK, True, False]),
    st.sampled_from([0, 1]).map(np.int64),
)

NEAR_PRICE = st.integers(90, 110)
FAR_PRICE = st.sampled_from([-(10**12), 10**12, -(10**12) + 1, 10**12 - 1, -100, -1, 0, 1,
                             INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1])
PRICE = st.one_of(NEAR_PRICE, NEAR_PRICE, NEAR_PRICE, FAR_PRICE, NEAR_PRICE.map(np.int64))

QTY = st.one_of(
    st.integers(1, 20),
    st.integers(1, 20),
    st.integers(1, 10**9),
    st.integers(1, 20).map(np.int64),
)

class BookMachine(RuleBasedStateMachine):
    ALLOW_CROSS = False

    def __init__(self):
        super().__init__()
        self.book = lob.OrderBook(allow_cross=self.ALLOW_CROSS)
        self.model = ModelBook(allow_cross=self.ALLOW_CROSS)
        # (old book, snapshot of the model when it was copied): the original must not move
        self.stale = None

    # ----------------------------------------------------------------- helpers
    def call(self, name, *args, norm=norm):
        """Run `name(*args)` on model and book; same error type, or same return value."""
        model_exc = real_exc = None
        exp = got = None
        try:
            exp = getattr(self.model, name)(*args)
        except Exception as e:  # noqa: BLE001
            model_exc = e
        try:
            got = getattr(self.book, name)(*args)
        except Exception as e:  # noqa: BLE001
            real_exc = e
        what = f"{name}{args!r}"
        event(f"{name}: {type(model_exc).__name__ if model_exc is not None else 'ok'}")
        if model_exc is not None:
            assert real_exc is not None, f"{what}: model raised {model_exc!r}, book returned {got!r}"
            assert exc_matches(real_exc, model_exc), (
                f"{what}: model raised {type(model_exc).__name__}({model_exc}), "
                f"book raised {type(real_exc).__name__}({real_exc})"
            )
        else:
            assert real_exc is None, f"{what}: model returned {exp!r}, book raised {real_exc!r}"
            raw, got = got, norm(got)
            assert got == exp, f"{what}: book returned {got!r}, model {exp!r}"
            if type(exp) is int:
                assert type(raw) is int, f"{what}: returned a {type(raw).__name__}, not an int"
        return model_exc is None

    def resting_id(self, data):
        """A resting id most of the time (when there is one), else one from the pool."""
        ids = sorted(self.model._orders)
        if ids and data.draw(st.integers(0, 3), label="pick_resting") != 0:
            return data.draw(st.sampled_from(ids), label="resting_id")
        return data.draw(VALID_ID, label="pool_id")

    def any_id(self, data):
        if data.draw(st.integers(0, 9), label="bad_id?") == 0:
            return data.draw(BAD_ID, label="bad_id")
        return self.resting_id(data)

    def passive_price(self, data, side):
        """A price that does not lock/cross for `side` (when the other side is near)."""
        # Mostly within a few ticks of the touch so that orders share levels.
        width = data.draw(st.sampled_from([2, 2, 4, 10]), label="passive_width")
        if side == 0:
            ba = self.model.best_ask
            top = 100 if ba is None else ba - 1
            return data.draw(st.integers(top - width, top), label="passive_bid")
        bb = self.model.best_bid
        bottom = 101 if bb is None else bb + 1
        return data.draw(st.integers(bottom, bottom + width), label="passive_ask")

    def qty_arg(self, data):
        k = data.draw(st.integers(0, 11), label="qty_kind")
        if k == 0:
            return data.draw(BAD_QTY_VALUE, label="bad_qty_value")
        if k == 1:
            return data.draw(BAD_QTY_TYPE, label="bad_qty_type")
        return data.draw(QTY, label="qty")

    # ----------------------------------------------------------------- mutations
    @rule(data=st.data())
    def add_passive(self, data):
        """Mostly valid adds that grow the book without crossing."""
        side = data.draw(st.sampled_from([0, 1]), label="side")
        oid = data.draw(VALID_ID, label="oid")
        if oid in self.model and data.draw(st.integers(0, 3), label="keep_dup?") != 0:
            free = [i for i in range(16) if i not in self.model]
            oid = data.draw(st.sampled_from(free), label="fresh_id") if free else oid
        price = self.passive_price(data, side)
        qty = data.draw(QTY, label="qty")
        self.call("add", oid, side, price, qty)

    @rule(data=st.data())
    def add_passive_again(self, data):
        self.add_passive(data)

    @rule(data=st.data())
    def add_passive_once_more(self, data):
        self.add_passive(data)

    @rule(data=st.data())
    def add_any(self, data):
        """Adds with anything: duplicates, crossing prices, far prices, bad values."""
        oid = data.draw(mostly(VALID_ID, BAD_ID), label="oid")
        if isinstance(oid, int) and data.draw(st.booleans(), label="dup?") and self.model._orders:
            oid = data.draw(st.sampled_from(sorted(self.model._orders)), label="dup_id")
        side = data.draw(mostly(SIDE, BAD_SIDE), label="side")
        price = data.draw(mostly(PRICE, BAD_PRICE), label="price")
        qty = self.qty_arg(data)
        self.call("add", oid, side, price, qty)

    @rule(data=st.data())
    def add_at_touch(self, data):
        """An add at or through the opposite best: crosses unless allow_cross."""
        side = data.draw(st.sampled_from([0, 1]), label="side")
        other = self.model.best_ask if side == 0 else self.model.best_bid
        if other is None:
            other = 100
        delta = data.draw(st.integers(0, 3), label="through")
        price = other + delta if side == 0 else other - delta
        oid = data.draw(VALID_ID, label="oid")
        self.call("add", oid, side, price, data.draw(QTY, label="qty"))

    @rule(data=st.data())
    def cancel(self, data):
        self.call("cancel", self.any_id(data))

    @rule(data=st.data())
    def reduce(self, data):
        self._take("reduce", data)

    @rule(data=st.data())
    def execute(self, data):
        self._take("execute", data)

    def _take(self, name, data):
        oid = self.any_id(data)
        resting = self.model._orders.get(oid)
        k = data.draw(st.integers(0, 9), label="qty_kind")
        if resting is not None and k <= 4:
            qty = data.draw(st.integers(1, resting[2]), label="qty_ok")
        elif resting is not None and k == 5:
            qty = resting[2]  # exactly all of it: removes the order
        elif resting is not None and k == 6:
            qty = resting[2] + data.draw(st.integers(1, 5), label="too_much")
        else:
            qty = self.qty_arg(data)
        self.call(name, oid, qty)

    @rule(data=st.data())
    def modify(self, data):
        oid = self.any_id(data)
        resting = self.model._orders.get(oid)
        k = data.draw(st.integers(0, 9), label="modify_kind")
        if resting is not None and k <= 2:
            # same price, same or smaller qty: keeps priority
            price, qty = resting[1], data.draw(st.integers(1, resting[2]), label="qty_le")
        elif resting is not None and k == 3:
            # same price, more qty: back of the queue
            price, qty = resting[1], resting[2] + data.draw(st.integers(1, 10), label="qty_gt")
        elif resting is not None and k == 4:
            price, qty = self.passive_price(data, resting[0]), data.draw(QTY, label="qty")
        elif resting is not None and k == 5:
            # at or through the opposite best
            side = resting[0]
            other = self.model.best_ask if side == 0 else self.model.best_bid
            other = 100 if other is None else other
            d = data.draw(st.integers(0, 2), label="through")
            price = other + d if side == 0 else other - d
            qty = data.draw(QTY, label="qty")
        else:
            price = data.draw(mostly(PRICE, BAD_PRICE), label="price")
            qty = self.qty_arg(data)
        self.call("modify", oid, price, qty)

    @rule(data=st.data())
    def trade(self, data):
        # trades also take side 2, lob.NO_AGGRESSOR (an auction cross)
        side = data.draw(mostly(st.one_of(SIDE, st.just(2)), BAD_SIDE), label="side")
        price = data.draw(mostly(PRICE, BAD_PRICE), label="price")
        qty = self.qty_arg(data)
        self.call("trade", side, price, qty)

    @rule(data=st.data())
    def add_deep(self, data):
        """A passive add well away from the touch: builds many levels per side."""
        side = data.draw(st.sampled_from([0, 1]), label="side")
        oid = data.draw(st.integers(0, 40), label="oid")
        if side == 0:
            ba = self.model.best_ask
            top = 100 if ba is None else ba - 1
            price = data.draw(st.integers(top - 40, top), label="deep_bid")
        else:
            bb = self.model.best_bid
            bottom = 101 if bb is None else bb + 1
            price = data.draw(st.integers(bottom, bottom + 40), label="deep_ask")
        self.call("add", oid, side, price, data.draw(QTY, label="qty"))

    @rule(data=st.data())
    def add_many(self, data):
        """Several passive adds in one step at spread-out prices: books with many levels."""
        for _ in range(data.draw(st.integers(1, 12), label="how_many")):
            free = [i for i in range(41) if i not in self.model]
            if not free:
                break
            side = data.draw(st.sampled_from([0, 1]), label="side")
            oid = data.draw(st.sampled_from(free), label="fresh_id")
            if side == 0:
                ba = self.model.best_ask
                top = 100 if ba is None else ba - 1
                price = data.draw(st.integers(top - 30, top), label="deep_bid")
            else:
                bb = self.model.best_bid
                bottom = 101 if bb is None else bb + 1
                price = data.draw(st.integers(bottom, bottom + 30), label="deep_ask")
            self.call("add", oid, side, price, data.draw(st.integers(1, 20), label="qty"))

    @rule(data=st.data())
    def clear(self, data):
        """The venue clears the book (rarely): orders go, trade flow stays."""
        if data.draw(st.integers(0, 9), label="clear?") == 0:
            self.call("clear")

    @rule(data=st.data())
    def reset_flow(self, data):
        if data.draw(st.integers(0, 3), label="reset?") == 0:
            self.call("reset_flow")

    # ----------------------------------------------------------------- queries with odd arguments
    @rule(data=st.data())
    def query(self, data):
        which = data.draw(
            st.sampled_from(["order", "queue_ahead", "level_qty", "level_count", "orders_at",
                             "imbalance", "depth", "contains"]),
            label="query",
        )
        if which in ("order", "queue_ahead"):
            self.call(which, self.any_id(data), norm=lambda v: norm(tuple(v)) if isinstance(v, tuple) else norm(v))
        elif which == "contains":
            oid = self.any_id(data)
            got, exp = oid in self.book, oid in self.model
            assert got is exp, f"{oid!r} in book: book {got!r} model {exp!r}"
        elif which == "level_qty":
            self.call(which, data.draw(mostly(SIDE, BAD_SIDE, 4)), data.draw(mostly(PRICE, BAD_PRICE, 4)))
        elif which == "level_count":
            self.call(which, data.draw(mostly(SIDE, BAD_SIDE, 3)))
        elif which == "orders_at":
            self.call(which, data.draw(mostly(SIDE, BAD_SIDE, 4)), data.draw(mostly(PRICE, BAD_PRICE, 4)),
                      norm=lambda v: [int(x) for x in v])
        elif which == "imbalance":
            lv = data.draw(st.one_of(st.integers(-2, 6), st.sampled_from(
                [1.0, 2.5, None, "1", 2**62, INT64_MAX, 2**63, -(2**63) - 1, np.int64(2)])), label="levels")
            model_exc = None
            try:
                exp = self.model.imbalance(lv)
            except Exception as e:  # noqa: BLE001
                model_exc = e
            try:
                got = self.book.imbalance(lv)
            except Exception as e:  # noqa: BLE001
                assert model_exc is not None, f"imbalance({lv!r}) raised {e!r}, model {exp!r}"
                assert exc_matches(e, model_exc), f"imbalance({lv!r}): book {e!r}, model {model_exc!r}"
            else:
                assert model_exc is None, f"imbalance({lv!r}) returned {got!r}, model raised {model_exc!r}"
                assert same_float(got, exp), f"imbalance({lv!r}): book {got!r}, model {exp!r}"
        elif which == "depth":
            lv = data.draw(st.one_of(st.integers(-1, 6), st.sampled_from(
                [1.0, None, "2", INT64_MAX, 2**63, -(2**63) - 1, np.int64(3)])), label="levels")
            self.call(which, lv, norm=lambda d: tuple(a.tolist() for a in d))

    # ----------------------------------------------------------------- copies
    @rule(how=st.sampled_from(["pickle", "deepcopy", "copy"]),
          protocol=st.integers(0, pickle.HIGHEST_PROTOCOL))
    def clone(self, how, protocol):
        old = self.book
        if how == "pickle":
            new = pickle.loads(pickle.dumps(old, protocol=protocol))
        elif how == "deepcopy":
            new = copy.deepcopy(old)
        else:  # not in the contract, but a shallow copy must not share the C state either
            new = copy.copy(old)
        assert new is not old
        compare_books(new, self.model, f"after {how}")
        compare_books(old, self.model, f"original after {how}")
        self.stale = (old, copy.deepcopy(self.model))
        self.book = new

    # ----------------------------------------------------------------- invariants
    @invariant()
    def matches_model(self):
        longest = max((len(q) for lv in self.model._levels for q in lv.values()), default=0)
        widest = max(len(lv) for lv in self.model._levels)
        event(f"orders >= {10 if len(self.model) >= 10 else len(self.model) // 3 * 3}")
        event(f"longest queue >= {min(longest, 4)}")
        event(f"most levels on a side >= {9 if widest >= 9 else widest // 3 * 3}")
        self.model.check()
        compare_books(self.book, self.model)
        if not self.ALLOW_CROSS and self.book.best_bid is not None and self.book.best_ask is not None:
            assert self.book.best_bid < self.book.best_ask

    @invariant()
    def original_untouched_by_copy(self):
        if self.stale is not None:
            old_book, old_model = self.stale
            compare_books(old_book, old_model, "original of a copy")


class CrossingBookMachine(BookMachine):
    ALLOW_CROSS = True


TestBookStateful = BookMachine.TestCase
TestBookStateful.settings = SETTINGS

TestCrossingBookStateful = CrossingBookMachine.TestCase
TestCrossingBookStateful.settings = SETTINGS
