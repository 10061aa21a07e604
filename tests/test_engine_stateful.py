"""Stateful property test: ``lob.MatchingEngine`` against the plain-Python ``ModelEngine``.

Hypothesis drives both engines with the same random mixed flow: passive limit orders near
the touch, crossing limit orders (about a third of the limit orders) that sweep one or more
levels, market orders, IOC / FOK / post-only orders, cancels, modifies (in place, to the
back of the queue, and through the opposite best), plus malformed calls (duplicate and
unknown ids, bad sides / tifs / qtys, floats, out-of-range integers, post_only with IOC/FOK).

For every request both must raise the same kind of error, or return the same report:
``(status, filled, remaining, fills)`` with ``rep.fills.tolist()`` equal to the model's
list of ``(taker_id, maker_id, price, qty, maker_remaining)``. After every step an
invariant compares all observable state of ``eng.book`` with the model's book (top of
book, depth(20), every resting order and its queue position, FIFO order within each price,
trade-flow signals) and runs ``eng.book.check()``.

LOB_STATEFUL_EXAMPLES=3000 for a soak run.
"""

from __future__ import annotations

import math
import os

import numpy as np
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import lob

try:
    from stateful_support import BAD_PRICE, BAD_QTY_TYPE, BAD_QTY_VALUE, BAD_SIDE, compare_books, exc_matches, mostly
except ImportError:  # tests/ collected as a package
    from tests.stateful_support import BAD_PRICE, BAD_QTY_TYPE, BAD_QTY_VALUE, BAD_SIDE, compare_books, exc_matches, mostly

try:
    from engine_model import ModelEngine
except ImportError:  # tests/ collected as a package
    from tests.engine_model import ModelEngine

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1

# the contract's parameter names (the machine also calls with keywords)
PARAMS = {
    "submit": ("order_id", "side", "price", "qty", "tif", "post_only"),
    "market": ("order_id", "side", "qty"),
    "cancel": ("order_id",),
    "modify": ("order_id", "price", "qty"),
}

SETTINGS = settings(
    max_examples=int(os.environ.get("LOB_STATEFUL_EXAMPLES", "150")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------- strategies
SMALL_IDS = list(range(160))  # room for books of more than 64 orders (sweeps with > 64 fills)
BIG_IDS = [2**32, 2**63, UINT64_MAX]
ALL_IDS = SMALL_IDS + BIG_IDS
BAD_ID = st.sampled_from(
    [-1, -(2**63), 2**64, 2**70, 1.0, 0.0, 3.5, math.nan, None, "1", np.float64(2.0), np.int64(-1)]
)
SIDE_FORM = st.sampled_from(["int", "int", "int", "enum", "np"])
FAR_PRICE = st.sampled_from([-(10**12), 10**12, -100, -1, 0, 1, INT64_MIN, INT64_MIN + 1,
                             INT64_MAX, INT64_MAX - 1])
QTY = st.one_of(st.integers(1, 20), st.integers(1, 20), st.integers(1, 60), st.integers(1, 10**9))
BAD_TIF = st.sampled_from(["gtc", "ioc", "fok", "DAY", "GTD", "", " GTC", "FOK ", None, b"GTC", 0, 1])
# far more than the book can hold (<= 44 orders of <= 10**9), far from int64's edge
SWEEP_QTY = 10**15
TIF = st.sampled_from(["GTC", "GTC", "GTC", "IOC", "FOK"])


def report_tuple(rep, what):
    """A real lob.Report as the model's tuple, after checking its types."""
    assert isinstance(rep, lob.Report), f"{what}: returned {type(rep).__name__}, not lob.Report"
    status, filled, remaining, fills = rep.status, rep.filled, rep.remaining, rep.fills
    assert type(status) is str, f"{what}: status is {type(status).__name__}"
    assert type(filled) is int, f"{what}: filled is {type(filled).__name__}"
    assert type(remaining) is int, f"{what}: remaining is {type(remaining).__name__}"
    assert isinstance(fills, np.ndarray), f"{what}: fills is {type(fills).__name__}"
    assert fills.dtype == lob.FILL_DTYPE, f"{what}: fills dtype {fills.dtype}"
    assert fills.ndim == 1, f"{what}: fills has shape {fills.shape}"
    return (status, filled, remaining, fills.tolist())


def check_report_invariants(rep, oid, side, qty, what):
    """Properties of any report, independent of the model."""
    status, filled, remaining, fills = rep
    assert status in ("filled", "partial", "resting", "cancelled", "rejected"), f"{what}: status {status!r}"
    assert filled == sum(f[3] for f in fills), f"{what}: filled {filled} != sum of fill qtys"
    assert filled >= 0 and remaining >= 0, f"{what}: negative filled/remaining {rep!r}"
    assert filled + remaining <= qty, f"{what}: filled + remaining above qty {qty}: {rep!r}"
    for taker, maker, price, fq, maker_left in fills:
        assert taker == oid, f"{what}: fill taker {taker} is not {oid}"
        assert maker != oid, f"{what}: order traded with itself"
        assert fq > 0 and maker_left >= 0, f"{what}: bad fill {(taker, maker, price, fq, maker_left)}"
    prices = [f[2] for f in fills]
    # best price first: a buyer pays more and more, a seller gets less and less
    assert prices == sorted(prices, reverse=(side == 1)), f"{what}: fills not best price first: {prices}"
    if status == "filled":
        assert filled == qty and remaining == 0, f"{what}: {rep!r}"
    elif status == "partial":
        assert 0 < filled < qty, f"{what}: {rep!r}"
    elif status == "resting":
        assert filled == 0 and remaining == qty and not fills, f"{what}: {rep!r}"
    else:  # cancelled / rejected
        assert filled == 0 and remaining == 0 and not fills, f"{what}: {rep!r}"


# --------------------------------------------------------------------------- the machine
class EngineMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.eng = lob.MatchingEngine()
        self.model = ModelEngine()
        # reports already returned, with what they must still say: a later request must
        # not change an earlier report (e.g. through a reused fills buffer)
        self.old_reports = []

    # ----------------------------------------------------------------- helpers
    @property
    def mbook(self):
        return self.model.book

    def request(self, name, *args, **kwargs):
        """Run `name(*args, **kwargs)` on model and engine: same error type, or same result."""
        model_exc = real_exc = None
        exp = got = None
        a = dict(zip(PARAMS[name], args), **kwargs)  # every argument by name
        before = None  # for modify: the side of the order before the request
        if name == "modify" and isinstance(a["order_id"], (int, np.integer)) and int(a["order_id"]) in self.mbook:
            before = self.mbook._orders[int(a["order_id"])][0]
        try:
            exp = getattr(self.model, name)(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            model_exc = e
        try:
            got = getattr(self.eng, name)(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            real_exc = e
        what = f"{name}({', '.join([repr(v) for v in args] + [f'{k}={v!r}' for k, v in kwargs.items()])})"
        if model_exc is not None:
            event(f"{name}: {type(model_exc).__name__}")
            assert real_exc is None or exc_matches(real_exc, model_exc), (
                f"{what}: model raised {type(model_exc).__name__}({model_exc}), "
                f"engine raised {type(real_exc).__name__}({real_exc})"
            )
            assert real_exc is not None, f"{what}: model raised {model_exc!r}, engine returned {got!r}"
            return None
        assert real_exc is None, f"{what}: model returned {exp!r}, engine raised {real_exc!r}"
        if name == "cancel":
            event("cancel: ok")
            assert type(got) is int and got == exp, f"{what}: engine returned {got!r}, model {exp!r}"
            return exp
        rep = report_tuple(got, what)
        n = len(exp[3])
        kind = a.get("tif", "GTC") if name == "submit" else ""
        if a.get("post_only", False):
            kind += " post_only"
        event(f"{name}{' ' + kind if kind else ''}: {exp[0]}"
              + ("" if n == 0 else " (1 fill)" if n == 1 else " (2-4 fills)" if n <= 4 else
                 " (5-64 fills)" if n <= 64 else " (65+ fills)"))
        assert rep == exp, f"{what}:\n  engine {rep!r}\n  model  {exp!r}"
        # any report's own consistency
        oid = int(a["order_id"])
        side = before if name == "modify" else int(a["side"])
        qty = int(a["qty"])
        if side is not None:
            check_report_invariants(rep, oid, side, qty, what)
        # earlier reports are untouched by this request
        for old, old_exp, old_what in self.old_reports:
            assert report_tuple(old, old_what) == old_exp, f"{old_what}: report changed by {what}"
        self.old_reports = (self.old_reports + [(got, exp, what)])[-3:]
        return exp

    def fresh_id(self, data):
        """An id that does not rest (mostly small, sometimes one of the big ones)."""
        free = [i for i in ALL_IDS if i not in self.mbook]
        oid = data.draw(st.sampled_from(free), label="fresh_id") if free else 0
        if data.draw(st.integers(0, 9), label="np_id?") == 0:
            oid = np.uint64(oid)
        return oid

    def new_id(self, data):
        """A fresh id, sometimes (1 in 10) a resting one: DuplicateOrderError."""
        ids = sorted(self.mbook._orders)
        if ids and data.draw(st.integers(0, 9), label="dup?") == 0:
            return data.draw(st.sampled_from(ids), label="dup_id")
        return self.fresh_id(data)

    def resting_id(self, data):
        """A resting id most of the time, else any from the pool (maybe unknown), rarely a bad one."""
        k = data.draw(st.integers(0, 11), label="id_kind")
        ids = sorted(self.mbook._orders)
        if k == 0:
            return data.draw(BAD_ID, label="bad_id")
        if ids and k >= 3:
            return data.draw(st.sampled_from(ids), label="resting_id")
        return data.draw(st.sampled_from(ALL_IDS), label="pool_id")

    def side_arg(self, data, side):
        form = data.draw(SIDE_FORM, label="side_form")
        if form == "enum":
            return lob.Side(side)
        if form == "np":
            return np.int64(side)
        return side

    def passive_price(self, data, side):
        """A price that does not cross for `side`, mostly within a few ticks of the touch."""
        width = data.draw(st.sampled_from([1, 2, 2, 4, 10]), label="passive_width")
        if side == 0:
            ba = self.mbook.best_ask
            top = 100 if ba is None else ba - 1
            return data.draw(st.integers(top - width, top), label="passive_bid")
        bb = self.mbook.best_bid
        bottom = 101 if bb is None else bb + 1
        return data.draw(st.integers(bottom, bottom + width), label="passive_ask")

    def crossing_price(self, data, side):
        """A price at or through the opposite best (or a sweep at the int64 extreme)."""
        other = self.mbook.best_ask if side == 0 else self.mbook.best_bid
        if other is None:
            other = 100 if side == 0 else 101
        k = data.draw(st.integers(0, 9), label="cross_kind")
        if k == 0:
            return INT64_MAX if side == 0 else INT64_MIN
        through = data.draw(st.integers(0, 3) if k < 7 else st.integers(4, 25), label="through")
        return other + through if side == 0 else other - through

    def crossing_qty(self, side, price):
        return self.model._crossing_qty(side, price)

    # ----------------------------------------------------------------- limit orders
    @rule(data=st.data())
    def limit(self, data):
        """A limit order: passive two times in three, crossing one time in three."""
        side = data.draw(st.sampled_from([0, 1]), label="side")
        crossing = data.draw(st.integers(0, 2), label="crossing?") == 0
        price = self.crossing_price(data, side) if crossing else self.passive_price(data, side)
        oid = self.new_id(data)
        tif = data.draw(TIF, label="tif")
        post_only = tif == "GTC" and data.draw(st.integers(0, 5), label="post_only?") == 0
        avail = self.crossing_qty(side, price)
        k = data.draw(st.integers(0, 5), label="qty_kind")
        if avail and k == 0:
            qty = avail  # exactly what crosses: FOK fills, GTC/IOC fill
        elif avail and k == 1:
            qty = avail + 1  # one more: FOK rejected, GTC partial
        elif avail and k == 2:
            qty = data.draw(st.integers(1, avail), label="qty_le_avail")
        else:
            qty = data.draw(QTY, label="qty")
        self._submit(data, oid, side, price, qty, tif, post_only)

    @rule(data=st.data())
    def limit_again(self, data):
        self.limit(data)

    @rule(data=st.data())
    def limit_once_more(self, data):
        self.limit(data)

    def _submit(self, data, oid, side, price, qty, tif, post_only):
        """Call submit with the optional arguments in one of several forms."""
        side = self.side_arg(data, side)
        form = data.draw(st.integers(0, 4), label="arg_form")
        if form == 0 and tif == "GTC" and not post_only:
            self.request("submit", oid, side, price, qty)
        elif form == 1:
            self.request("submit", oid, side, price, qty, tif, post_only)
        elif form == 2 and not post_only:
            self.request("submit", oid, side, price, qty, tif=tif)
        elif form == 3:
            self.request("submit", order_id=oid, side=side, price=price, qty=qty, tif=tif,
                         post_only=post_only)
        else:
            self.request("submit", oid, side, price, qty, tif=tif, post_only=post_only)

    @rule(data=st.data())
    def build_depth(self, data):
        """Several passive GTC orders in one step: books with queues and many levels."""
        for _ in range(data.draw(st.integers(1, 8), label="how_many")):
            side = data.draw(st.sampled_from([0, 1]), label="side")
            if side == 0:
                ba = self.mbook.best_ask
                top = 100 if ba is None else ba - 1
                price = data.draw(st.integers(top - 6, top), label="deep_bid")
            else:
                bb = self.mbook.best_bid
                bottom = 101 if bb is None else bb + 1
                price = data.draw(st.integers(bottom, bottom + 6), label="deep_ask")
            self.request("submit", self.fresh_id(data), side, price,
                         data.draw(st.integers(1, 20), label="qty"))

    @rule(data=st.data())
    def many_small_orders(self, data):
        """Sometimes: dozens of small orders on one side over a few levels, so that one sweep
        makes more fills than a small fills buffer holds."""
        if data.draw(st.integers(0, 3), label="many?") != 0:
            return
        side = data.draw(st.sampled_from([0, 1]), label="side")
        for _ in range(data.draw(st.integers(20, 90), label="how_many")):
            free = [i for i in SMALL_IDS if i not in self.mbook]
            if not free:
                break
            if side == 0:
                ba = self.mbook.best_ask
                top = 100 if ba is None else ba - 1
                price = data.draw(st.integers(top - 3, top), label="bid")
            else:
                bb = self.mbook.best_bid
                bottom = 101 if bb is None else bb + 1
                price = data.draw(st.integers(bottom, bottom + 3), label="ask")
            self.request("submit", free[0], side, price, data.draw(st.integers(1, 3), label="qty"))

    @rule(data=st.data())
    def market(self, data):
        side = data.draw(st.sampled_from([0, 1]), label="side")
        avail = self.crossing_qty(side, None)
        k = data.draw(st.integers(0, 7), label="qty_kind")
        if k == 0:
            # sweeps the whole side (INT64_MAX itself: see test_int64_max_qty_without_overflow)
            qty = SWEEP_QTY
        elif k == 1 and avail:
            qty = avail
        elif k == 2 and avail:
            qty = avail + data.draw(st.integers(1, 5), label="extra")
        else:
            qty = data.draw(QTY, label="qty")
        oid, side = self.new_id(data), self.side_arg(data, side)
        if data.draw(st.integers(0, 3), label="keywords?") == 0:
            self.request("market", order_id=oid, side=side, qty=qty)
        else:
            self.request("market", oid, side, qty)

    # ----------------------------------------------------------------- cancel / modify
    @rule(data=st.data())
    def cancel(self, data):
        self.request("cancel", self.resting_id(data))

    @rule(data=st.data())
    def modify(self, data):
        oid = self.resting_id(data)
        resting = self.mbook._orders.get(oid) if isinstance(oid, int) else None
        k = data.draw(st.integers(0, 9), label="modify_kind")
        if resting is not None and k <= 1:
            # same price, same or smaller qty: keeps priority
            price, qty = resting[1], data.draw(st.integers(1, resting[2]), label="qty_le")
        elif resting is not None and k == 2:
            # same price, more qty: back of the queue
            price, qty = resting[1], resting[2] + data.draw(st.integers(1, 10), label="qty_gt")
        elif resting is not None and k <= 4:
            price, qty = self.passive_price(data, resting[0]), data.draw(QTY, label="qty")
        elif resting is not None and k <= 7:
            side = resting[0]
            price = self.crossing_price(data, side)
            avail = self.crossing_qty(side, price)
            if avail and data.draw(st.booleans(), label="exact?"):
                qty = avail + data.draw(st.integers(-min(avail - 1, 2), 2), label="around_avail")
            else:
                qty = data.draw(QTY, label="qty")
        else:
            price = data.draw(mostly(st.integers(90, 110), st.one_of(FAR_PRICE, BAD_PRICE), 4), label="price")
            qty = data.draw(mostly(QTY, st.one_of(BAD_QTY_VALUE, BAD_QTY_TYPE), 4), label="qty")
        if data.draw(st.integers(0, 5), label="keywords?") == 0:
            self.request("modify", order_id=oid, price=price, qty=qty)
        else:
            self.request("modify", oid, price, qty)

    # ----------------------------------------------------------------- malformed / odd requests
    @rule(data=st.data())
    def submit_any(self, data):
        """Submits with anything: bad ids, sides, prices, qtys, tifs, post_only combinations."""
        oid = data.draw(mostly(st.sampled_from(ALL_IDS), BAD_ID, 4), label="oid")
        side = data.draw(mostly(st.sampled_from([0, 1, lob.BID, lob.ASK, True, False]), BAD_SIDE, 4),
                         label="side")
        price = data.draw(mostly(st.integers(85, 115), st.one_of(FAR_PRICE, BAD_PRICE), 3), label="price")
        qty = data.draw(mostly(QTY, st.one_of(BAD_QTY_VALUE, BAD_QTY_TYPE), 4), label="qty")
        tif = data.draw(mostly(TIF, BAD_TIF, 4), label="tif")
        post_only = data.draw(st.booleans(), label="post_only")
        self.request("submit", oid, side, price, qty, tif=tif, post_only=post_only)

    @rule(data=st.data())
    def market_any(self, data):
        oid = data.draw(mostly(st.sampled_from(ALL_IDS), BAD_ID, 3), label="oid")
        side = data.draw(mostly(st.sampled_from([0, 1]), BAD_SIDE, 3), label="side")
        qty = data.draw(mostly(QTY, st.one_of(BAD_QTY_VALUE, BAD_QTY_TYPE), 3), label="qty")
        self.request("market", oid, side, qty)

    @rule(data=st.data())
    def post_only_at_touch(self, data):
        """Post-only at, through, or one tick off the opposite best."""
        side = data.draw(st.sampled_from([0, 1]), label="side")
        other = self.mbook.best_ask if side == 0 else self.mbook.best_bid
        other = 100 if other is None else other
        d = data.draw(st.integers(-1, 2), label="through")
        price = other + d if side == 0 else other - d
        self.request("submit", self.new_id(data), side, price, data.draw(QTY, label="qty"),
                     "GTC", True)

    # ----------------------------------------------------------------- invariants
    @invariant()
    def matches_model(self):
        levels = max(len(lv) for lv in self.mbook._levels)
        event(f"levels on a side >= {min(levels, 6) // 2 * 2}")
        self.model.check()
        compare_books(self.eng.book, self.mbook, absent_ids=ALL_IDS)

    @invariant()
    def never_crossed(self):
        book = self.eng.book
        if book.best_bid is not None and book.best_ask is not None:
            assert book.best_bid < book.best_ask, f"book crossed: {book.best_bid} >= {book.best_ask}"


TestEngineStateful = EngineMachine.TestCase
TestEngineStateful.settings = SETTINGS


# --------------------------------------------------------------------------- int64 edge
def test_int64_max_qty_without_overflow():
    """qty = INT64_MAX is a valid qty: it is refused only if a level total or a volume
    counter would really pass int64, not because qty plus the volume so far would.
    (The machine above sweeps with SWEEP_QTY instead, so that it keeps looking elsewhere.)"""
    eng, model = lob.MatchingEngine(), ModelEngine()

    def both(name, *args):
        exp = getattr(model, name)(*args)
        try:
            got = getattr(eng, name)(*args)
        except Exception as e:  # noqa: BLE001
            raise AssertionError(f"{name}{args!r}: engine raised {e!r}, model returned {exp!r}") from e
        assert report_tuple(got, name) == exp, f"{name}{args!r}: engine {report_tuple(got, name)!r} model {exp!r}"
        compare_books(eng.book, model.book, f"{name}{args!r}", absent_ids=ALL_IDS)

    both("submit", 1, lob.ASK, 101, 5)
    both("market", 2, lob.BID, INT64_MAX)               # partial: 5 traded, buy_volume 5
    both("market", 3, lob.BID, INT64_MAX)               # nothing to buy: cancelled
    both("submit", 4, lob.ASK, 101, 5)
    both("submit", 5, lob.BID, 100, INT64_MAX)          # rests INT64_MAX alone at 100
    both("submit", 6, lob.BID, 101, INT64_MAX, "IOC")   # buys the 5 at 101, rest dropped
    both("submit", 7, lob.ASK, 101, 3, "FOK")           # nothing to sell at 101: rejected
    both("submit", 8, lob.ASK, 100, INT64_MAX, "FOK")   # sells exactly INT64_MAX: sell_volume == INT64_MAX
