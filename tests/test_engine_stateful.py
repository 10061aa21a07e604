"""Stateful property test: ``lob.MatchingEngine`` against the plain-Python ``ModelEngine``.

Hypothesis drives both engines with the same random mixed flow: passive limit orders near
the touch, crossing limit orders (about a third of the limit orders) that sweep one or more
levels, market orders, IOC / FOK / post-only orders, icebergs (``display_qty``), orders with
an ``owner`` (1..3, so that self-trade prevention happens often) and every ``stp`` mode,
cancels, modifies (in place, to the back of the queue, and through the opposite best; of
plain orders and of icebergs), plus malformed calls (duplicate and unknown ids, bad sides /
tifs / qtys / display_qtys / owners / stp modes, floats, out-of-range integers, post_only
with IOC/FOK, display_qty with IOC/FOK).

For every request both must raise the same kind of error, or return the same report:
``(status, filled, remaining, fills, self_trades)`` with ``rep.fills.tolist()`` and
``rep.self_trades.tolist()`` equal to the model's lists. Every report is also checked on its
own (filled is the sum of the fills, statuses, what each STP mode's rows look like, GTC qty
conservation), and the engine's total resting qty (visible + hidden, from ``eng.order``)
must move exactly as the report says. After every step an invariant compares all
observable state of ``eng.book`` with the model's book (top of book, depth, every resting
order and its queue position, FIFO order within each price, trade-flow signals), runs
``eng.book.check()``, and compares ``eng.order(id)`` (visible, hidden, display, owner) for
every resting id; a resting iceberg never shows more than its display, and shows all of it
while it has hidden qty unless a fill took part of the slice.

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
    from engine_model import STP_MODES, ModelEngine
except ImportError:  # tests/ collected as a package
    from tests.engine_model import STP_MODES, ModelEngine

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1

# the contract's parameter names (the machine also calls with keywords)
PARAMS = {
    "submit": ("order_id", "side", "price", "qty", "tif", "post_only"),
    "market": ("order_id", "side", "qty"),
    "cancel": ("order_id",),
    "modify": ("order_id", "price", "qty"),
    "order": ("order_id",),
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
# owners 1..3 so that a taker often meets its own orders; 0 means none, as None does
OWNER = st.sampled_from([None, None, 1, 1, 2, 2, 3, 0, np.uint64(2)])
STP = st.sampled_from(STP_MODES)
BAD_DISPLAY = st.sampled_from([0, -1, INT64_MIN, np.int64(0), 2**63, 2**70, 1.0, 2.5, "3", np.float64(2.0)])
BAD_OWNER = st.sampled_from([-1, 2**64, 2**70, 1.0, "1", np.float64(1.0), np.int64(-1)])
BAD_STP = st.sampled_from(["CANCEL_TAKER", "cancel-taker", "Decrement", "", "none", " decrement", None,
                           0, 3, b"decrement"])
# an iceberg is swept one slice per fill: keep qty / display small enough for the sweeps
MAX_SLICES = 30


def display_for(data, qty):
    """A valid display_qty for `qty`: mostly an iceberg (< qty), sometimes >= qty (plain)."""
    lo = max(1, qty // MAX_SLICES)
    k = data.draw(st.integers(0, 4), label="display_kind")
    if k <= 2 and lo < qty:
        d = data.draw(st.integers(lo, min(qty - 1, lo + 5)) if k <= 1 else st.integers(lo, qty - 1),
                      label="display_qty")
    else:
        d = data.draw(st.integers(max(lo, qty), qty + 2), label="display_ge_qty")
    return np.int64(d) if d <= INT64_MAX and data.draw(st.integers(0, 9), label="np_display?") == 0 else d


def report_tuple(rep, what):
    """A real lob.Report as the model's tuple, after checking its types."""
    assert isinstance(rep, lob.Report), f"{what}: returned {type(rep).__name__}, not lob.Report"
    status, filled, remaining, fills, stps = rep.status, rep.filled, rep.remaining, rep.fills, rep.self_trades
    assert type(status) is str, f"{what}: status is {type(status).__name__}"
    assert type(filled) is int, f"{what}: filled is {type(filled).__name__}"
    assert type(remaining) is int, f"{what}: remaining is {type(remaining).__name__}"
    assert isinstance(fills, np.ndarray), f"{what}: fills is {type(fills).__name__}"
    assert fills.dtype == lob.FILL_DTYPE, f"{what}: fills dtype {fills.dtype}"
    assert fills.ndim == 1, f"{what}: fills has shape {fills.shape}"
    assert isinstance(stps, np.ndarray), f"{what}: self_trades is {type(stps).__name__}"
    assert stps.dtype == lob.SELF_TRADE_DTYPE, f"{what}: self_trades dtype {stps.dtype}"
    assert stps.ndim == 1, f"{what}: self_trades has shape {stps.shape}"
    return (status, filled, remaining, fills.tolist(), stps.tolist())


def check_report_invariants(rep, oid, side, qty, tif, owner, mode, what):
    """Properties of any report, independent of the model. `owner` 0: none; `mode`: the
    taker's stp mode; `tif` "GTC" also for a modify."""
    status, filled, remaining, fills, stps = rep
    assert status in ("filled", "partial", "resting", "cancelled", "rejected"), f"{what}: status {status!r}"
    assert filled == sum(f[3] for f in fills), f"{what}: filled {filled} != sum of fill qtys"
    assert filled >= 0 and remaining >= 0, f"{what}: negative filled/remaining {rep!r}"
    taker_removed = sum(s[2] for s in stps)
    assert filled + remaining + taker_removed <= qty, \
        f"{what}: filled + remaining + STP-removed above qty {qty}: {rep!r}"
    if tif == "GTC" and status != "rejected":
        # a GTC order's qty traded, rests, or was removed by STP: nothing else
        assert filled + remaining + taker_removed == qty, f"{what}: GTC qty not conserved: {rep!r}"
    if tif != "GTC":
        assert remaining == 0, f"{what}: {tif} left something resting: {rep!r}"
    for taker, maker, price, fq, maker_left in fills:
        assert taker == oid, f"{what}: fill taker {taker} is not {oid}"
        assert maker != oid, f"{what}: order traded with itself"
        assert fq > 0 and maker_left >= 0, f"{what}: bad fill {(taker, maker, price, fq, maker_left)}"
    prices = [f[2] for f in fills]
    # best price first: a buyer pays more and more, a seller gets less and less
    assert prices == sorted(prices, reverse=(side == 1)), f"{what}: fills not best price first: {prices}"
    # self-trade prevention rows
    if not owner:
        assert not stps, f"{what}: self-trade rows for a taker without an owner: {stps!r}"
    for i, row in enumerate(stps):
        taker, maker, t_rm, m_rm, m_left = row
        assert taker == oid and maker != oid, f"{what}: bad self-trade row {row!r}"
        assert t_rm >= 0 and m_rm >= 0 and m_left >= 0, f"{what}: negative self-trade row {row!r}"
        if mode == "cancel_taker":
            assert t_rm > 0 and m_rm == 0 and m_left > 0, f"{what}: cancel_taker row {row!r}"
        elif mode == "cancel_maker":
            assert t_rm == 0 and m_rm > 0 and m_left == 0, f"{what}: cancel_maker row {row!r}"
        elif mode == "cancel_both":
            assert t_rm > 0 and m_rm > 0 and m_left == 0, f"{what}: cancel_both row {row!r}"
        else:
            assert t_rm == m_rm > 0, f"{what}: decrement row {row!r}"
        if mode in ("cancel_taker", "cancel_both"):
            # the taker stops there: one row, nothing rests
            assert i == len(stps) - 1 and remaining == 0, f"{what}: {mode} did not stop the taker: {rep!r}"
    if status == "filled":
        assert filled == qty and remaining == 0 and taker_removed == 0, f"{what}: {rep!r}"
    elif status == "partial":
        assert 0 < filled < qty, f"{what}: {rep!r}"
    elif status == "resting":
        assert filled == 0 and remaining > 0 and not fills, f"{what}: {rep!r}"
    elif status == "cancelled":
        assert filled == 0 and remaining == 0 and not fills, f"{what}: {rep!r}"
    else:  # rejected: nothing happened, STP included
        assert filled == 0 and remaining == 0 and not fills and not stps, f"{what}: {rep!r}"


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

    def model_totals(self):
        """Resting visible + hidden qty per side, in the model."""
        totals = [0, 0]
        for oid, (side, _price, _visible) in self.mbook._orders.items():
            totals[side] += self.model.total(oid)
        return totals

    def engine_totals(self, what):
        """Resting visible + hidden qty per side, read from eng.order for the model's ids."""
        totals = [0, 0]
        for oid in self.mbook._orders:
            try:
                o = self.eng.order(oid)
            except lob.UnknownOrderError:
                raise AssertionError(f"{what}: the model rests {oid}, eng.order({oid}) raises") from None
            totals[int(o[0])] += int(o[2]) + int(o[3])
        return totals

    def request(self, name, *args, **kwargs):
        """Run `name(*args, **kwargs)` on model and engine: same error type, or same result."""
        model_exc = real_exc = None
        exp = got = None
        a = dict(zip(PARAMS[name], args), **kwargs)  # every argument by name
        # for modify: the order as it was (side, total, owner, stp mode)
        before = None
        if name in ("modify", "cancel") and isinstance(a["order_id"], (int, np.integer)) \
                and int(a["order_id"]) in self.mbook:
            mid = int(a["order_id"])
            x = self.model._extra[mid]
            before = (self.mbook._orders[mid][0], self.model.total(mid), x.owner, x.stp)
        totals_before = self.model_totals()
        icebergs_before = {i for i, x in self.model._extra.items() if x.display is not None}
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
        if name == "order":
            assert isinstance(got, lob.EngineOrder), f"{what}: returned {type(got).__name__}"
            assert tuple(got) == exp, f"{what}: engine {got!r}, model {exp!r}"
            return exp
        if name == "cancel":
            event("cancel: ok" + (" (iceberg)" if before and int(a["order_id"]) in icebergs_before else ""))
            assert type(got) is int and got == exp, f"{what}: engine returned {got!r}, model {exp!r}"
            totals = list(totals_before)
            totals[before[0]] -= exp
            assert self.engine_totals(what) == totals, f"{what}: resting qty does not drop by {exp}"
            return exp
        rep = report_tuple(got, what)
        n = len(exp[3])
        kind = a.get("tif", "GTC") if name == "submit" else ""
        if a.get("post_only", False):
            kind += " post_only"
        if a.get("display_qty") is not None and name == "submit":
            kind += " iceberg" if int(a["display_qty"]) < int(a["qty"]) else " display>=qty"
        event(f"{name}{' ' + kind if kind else ''}: {exp[0]}"
              + ("" if n == 0 else " (1 fill)" if n == 1 else " (2-4 fills)" if n <= 4 else
                 " (5-64 fills)" if n <= 64 else " (65+ fills)"))
        if name == "modify":
            side, old_total, owner, mode = before
        else:
            side = int(a["side"])
            owner = int(a.get("owner") or 0)
            mode = a.get("stp", "cancel_taker")
        if exp[4]:
            event(f"self-trade prevented: {mode}" + (" (2+ rows)" if len(exp[4]) > 1 else ""))
        makers = [f[1] for f in exp[3]]
        if any(m in icebergs_before for m in makers):
            event("fills against an iceberg" + (" (met one again after a refill)"
                                                if len(set(makers)) < len(makers) else ""))
        assert rep == exp, f"{what}:\n  engine {rep!r}\n  model  {exp!r}"
        # any report's own consistency
        oid = int(a["order_id"])
        qty = int(a["qty"])
        tif = "IOC" if name == "market" else a.get("tif", "GTC")
        check_report_invariants(rep, oid, side, qty, tif, owner, mode, what)
        # resting qty (visible + hidden) moves exactly as the report says
        status, filled, remaining, fills, stps = rep
        totals = list(totals_before)
        if name == "modify":
            totals[side] -= old_total
        totals[side] += remaining
        totals[1 - side] -= filled + sum(s[3] for s in stps)
        assert self.engine_totals(what) == totals, \
            f"{what}: resting qty per side {self.engine_totals(what)}, expected {totals} from {rep!r}"
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
            icebergs = [i for i in ids if self.model._extra[i].display is not None]
            if icebergs and k >= 9:
                return data.draw(st.sampled_from(icebergs), label="iceberg_id")
            return data.draw(st.sampled_from(ids), label="resting_id")
        return data.draw(st.sampled_from(ALL_IDS), label="pool_id")

    def side_arg(self, data, side):
        form = data.draw(SIDE_FORM, label="side_form")
        if form == "enum":
            return lob.Side(side)
        if form == "np":
            return np.int64(side)
        return side

    def owner_stp(self, data):
        """Keyword arguments owner / stp (each left out sometimes: the defaults)."""
        kw = {}
        owner = data.draw(OWNER, label="owner")
        if owner is not None or data.draw(st.booleans(), label="owner=None?"):
            kw["owner"] = owner
        if data.draw(st.integers(0, 4), label="stp?") != 0:
            kw["stp"] = data.draw(STP, label="stp")
        return kw

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

    def crossing_qty(self, side, price, owner=None, stp="cancel_taker"):
        """What the order could trade (an FOK's bound), hidden qty and STP included."""
        return self.model._crossing_qty(side, price, int(owner or 0), stp)

    def cap_qty(self, oid, qty):
        """An iceberg's new total at most MAX_SLICES of its display (sweeps stay short)."""
        x = self.model._extra.get(oid) if isinstance(oid, int) else None
        if x is not None and x.display is not None and isinstance(qty, int) and qty > 0:
            return min(qty, x.display * MAX_SLICES)
        return qty

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
        kw = self.owner_stp(data)
        avail = self.crossing_qty(side, price, kw.get("owner"), kw.get("stp", "cancel_taker"))
        k = data.draw(st.integers(0, 5), label="qty_kind")
        if avail and k == 0:
            qty = avail  # exactly what can trade: FOK fills, GTC/IOC fill
        elif avail and k == 1:
            qty = avail + 1  # one more: FOK rejected, GTC partial
        elif avail and k == 2:
            qty = data.draw(st.integers(1, avail), label="qty_le_avail")
        else:
            qty = data.draw(QTY, label="qty")
        d = data.draw(st.integers(0, 9), label="iceberg?")
        if tif == "GTC" and d <= 2:
            kw["display_qty"] = display_for(data, qty)
        elif d == 3:
            kw["display_qty"] = None
        elif d == 4 and tif != "GTC":
            kw["display_qty"] = display_for(data, qty)  # ValueError: display_qty needs GTC
        self._submit(data, oid, side, price, qty, tif, post_only, kw)

    @rule(data=st.data())
    def limit_again(self, data):
        self.limit(data)

    @rule(data=st.data())
    def limit_once_more(self, data):
        self.limit(data)

    def _submit(self, data, oid, side, price, qty, tif, post_only, kw=None):
        """Call submit with the optional arguments in one of several forms."""
        kw = kw or {}
        side = self.side_arg(data, side)
        form = data.draw(st.integers(0, 4), label="arg_form")
        if form == 0 and tif == "GTC" and not post_only:
            self.request("submit", oid, side, price, qty, **kw)
        elif form == 1:
            self.request("submit", oid, side, price, qty, tif, post_only, **kw)
        elif form == 2 and not post_only:
            self.request("submit", oid, side, price, qty, tif=tif, **kw)
        elif form == 3:
            self.request("submit", order_id=oid, side=side, price=price, qty=qty, tif=tif,
                         post_only=post_only, **kw)
        else:
            self.request("submit", oid, side, price, qty, tif=tif, post_only=post_only, **kw)

    @rule(data=st.data())
    def build_depth(self, data):
        """Several passive GTC orders in one step: books with queues and many levels, some
        icebergs, some owned."""
        width = data.draw(st.sampled_from([1, 6]), label="width")  # 1: queues at two prices
        for _ in range(data.draw(st.integers(1, 8), label="how_many")):
            side = data.draw(st.sampled_from([0, 1]), label="side")
            if side == 0:
                ba = self.mbook.best_ask
                top = 100 if ba is None else ba - 1
                price = data.draw(st.integers(top - width, top), label="deep_bid")
            else:
                bb = self.mbook.best_bid
                bottom = 101 if bb is None else bb + 1
                price = data.draw(st.integers(bottom, bottom + width), label="deep_ask")
            qty = data.draw(st.integers(1, 20), label="qty")
            kw = {}
            owner = data.draw(OWNER, label="owner")
            if owner is not None:
                kw["owner"] = owner
            if data.draw(st.integers(0, 2), label="iceberg?") == 0:
                kw["display_qty"] = display_for(data, qty)
            self.request("submit", self.fresh_id(data), side, price, qty, **kw)

    @rule(data=st.data())
    def many_small_orders(self, data):
        """Sometimes: dozens of small orders on one side over a few levels, so that one sweep
        makes more fills than a small fills buffer holds."""
        if data.draw(st.integers(0, 3), label="many?") != 0:
            return
        side = data.draw(st.sampled_from([0, 1]), label="side")
        owner = data.draw(OWNER, label="owner")
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
            qty = data.draw(st.integers(1, 3), label="qty")
            if owner is None:
                self.request("submit", free[0], side, price, qty)
            else:
                self.request("submit", free[0], side, price, qty, owner=owner, display_qty=1)

    @rule(data=st.data())
    def market(self, data):
        side = data.draw(st.sampled_from([0, 1]), label="side")
        kw = self.owner_stp(data)
        avail = self.crossing_qty(side, None, kw.get("owner"), kw.get("stp", "cancel_taker"))
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
            self.request("market", order_id=oid, side=side, qty=qty, **kw)
        else:
            self.request("market", oid, side, qty, **kw)

    @rule(data=st.data())
    def cross_own_order(self, data):
        """A taker of the same owner as a resting order, crossing at least to its price:
        self-trade prevention in every mode, with every tif, FOK at its bound."""
        owned = [i for i, x in self.model._extra.items() if x.owner]
        if not owned:
            return
        # often one with orders ahead of it (an FOK counts only their visible qty)
        behind = [i for i in owned if self.mbook.queue_ahead(i) > 0]
        if behind and data.draw(st.booleans(), label="behind?"):
            owned = behind
        target = data.draw(st.sampled_from(sorted(owned)), label="own_order")
        tside, tprice, _visible = self.mbook._orders[target]
        side = 1 - tside
        through = data.draw(st.integers(0, 3), label="through")
        price = tprice + through if side == 0 else tprice - through
        owner = self.model._extra[target].owner
        stp = data.draw(STP, label="stp")
        queue = self.mbook._levels[tside][tprice]
        if any(self.model._extra[i].hidden for i in queue[:queue.index(target)]):
            event("cross_own_order: an iceberg with reserve is ahead of the own order")
        tif = data.draw(st.sampled_from(["GTC", "GTC", "IOC", "FOK", "FOK"]), label="tif")
        avail = self.crossing_qty(side, price, owner, stp)
        k = data.draw(st.sampled_from(["avail", "one more", "one more", "any"]), label="qty_kind")
        if k == "avail" and avail:
            qty = avail  # an FOK fills exactly
        elif k == "one more":
            qty = avail + 1  # an FOK is one short
        else:
            qty = data.draw(st.integers(1, 40), label="qty")
        kw = {"owner": owner, "stp": stp}
        if tif == "GTC" and data.draw(st.integers(0, 3), label="iceberg?") == 0:
            kw["display_qty"] = display_for(data, qty)
        self._submit(data, self.fresh_id(data), side, price, qty, tif, False, kw)

    @rule(data=st.data())
    def nibble_iceberg(self, data):
        """A small taker that ends inside an iceberg's slice at the touch (a slice partly
        taken while the iceberg has reserve), maybe after taking a few whole slices."""
        heads = []
        for side in (0, 1):  # side of the taker
            best = self.mbook.best_ask if side == 0 else self.mbook.best_bid
            if best is not None:
                head = self.mbook._levels[1 - side][best][0]
                x = self.model._extra[head]
                if x.display is not None and x.display > 1 and x.hidden:
                    heads.append((side, best, head, x.display))
        if not heads:
            return
        side, best, head, display = data.draw(st.sampled_from(heads), label="iceberg_at_touch")
        visible = self.mbook._orders[head][2]
        slices = data.draw(st.integers(0, 2), label="whole_slices")
        qty = (visible if slices else 0) + max(0, slices - 1) * display \
            + data.draw(st.integers(1, display - 1), label="part")
        if qty > self.model.total(head):
            qty = data.draw(st.integers(1, self.model.total(head)), label="qty")
        if data.draw(st.booleans(), label="market?"):
            self.request("market", self.fresh_id(data), side, qty)
        else:
            self.request("submit", self.fresh_id(data), side, best, qty,
                         data.draw(st.sampled_from(["GTC", "IOC", "FOK"]), label="tif"))

    # ----------------------------------------------------------------- cancel / modify
    @rule(data=st.data())
    def cancel(self, data):
        self.request("cancel", self.resting_id(data))

    @rule(data=st.data())
    def modify(self, data):
        oid = self.resting_id(data)
        resting = self.mbook._orders.get(oid) if isinstance(oid, int) else None
        total = self.model.total(oid) if resting is not None else None
        k = data.draw(st.integers(0, 9), label="modify_kind")
        if resting is not None and k <= 1:
            # same price, same or smaller total: keeps priority (an iceberg: less hidden, or
            # less visible than it shows)
            low = 1 if total == resting[2] or data.draw(st.booleans(), label="below_visible?") else resting[2]
            price, qty = resting[1], data.draw(st.integers(low, total), label="qty_le")
        elif resting is not None and k == 2:
            # same price, more qty: back of the queue
            price, qty = resting[1], total + data.draw(st.integers(1, 10), label="qty_gt")
        elif resting is not None and k <= 4:
            price, qty = self.passive_price(data, resting[0]), data.draw(QTY, label="qty")
        elif resting is not None and k <= 7:
            side = resting[0]
            x = self.model._extra[oid]
            price = self.crossing_price(data, side)
            avail = self.crossing_qty(side, price, x.owner, x.stp)
            if avail and data.draw(st.booleans(), label="exact?"):
                qty = avail + data.draw(st.integers(-min(avail - 1, 2), 2), label="around_avail")
            else:
                qty = data.draw(QTY, label="qty")
        else:
            price = data.draw(mostly(st.integers(90, 110), st.one_of(FAR_PRICE, BAD_PRICE), 4), label="price")
            qty = data.draw(mostly(QTY, st.one_of(BAD_QTY_VALUE, BAD_QTY_TYPE), 4), label="qty")
        qty = self.cap_qty(oid, qty)
        if data.draw(st.integers(0, 5), label="keywords?") == 0:
            self.request("modify", order_id=oid, price=price, qty=qty)
        else:
            self.request("modify", oid, price, qty)

    @rule(data=st.data())
    def order_query(self, data):
        """eng.order of a resting id, an unknown one, or a malformed one."""
        self.request("order", self.resting_id(data))

    # ----------------------------------------------------------------- malformed / odd requests
    @rule(data=st.data())
    def submit_any(self, data):
        """Submits with anything: bad ids, sides, prices, qtys, tifs, post_only combinations,
        display_qtys, owners and stp modes."""
        oid = data.draw(mostly(st.sampled_from(ALL_IDS), BAD_ID, 4), label="oid")
        side = data.draw(mostly(st.sampled_from([0, 1, lob.BID, lob.ASK, True, False]), BAD_SIDE, 4),
                         label="side")
        price = data.draw(mostly(st.integers(85, 115), st.one_of(FAR_PRICE, BAD_PRICE), 3), label="price")
        qty = data.draw(mostly(QTY, st.one_of(BAD_QTY_VALUE, BAD_QTY_TYPE), 4), label="qty")
        tif = data.draw(mostly(TIF, BAD_TIF, 4), label="tif")
        post_only = data.draw(st.booleans(), label="post_only")
        kw = {}
        k = data.draw(st.integers(0, 7), label="display_kind")
        if k == 0:
            kw["display_qty"] = data.draw(BAD_DISPLAY, label="bad_display")
        elif k <= 2:
            kw["display_qty"] = display_for(data, qty) if isinstance(qty, int) and qty > 0 else 1
        k = data.draw(st.integers(0, 7), label="owner_kind")
        if k == 0:
            kw["owner"] = data.draw(BAD_OWNER, label="bad_owner")
        elif k <= 3:
            kw["owner"] = data.draw(OWNER, label="owner")
        k = data.draw(st.integers(0, 7), label="stp_kind")
        if k == 0:
            kw["stp"] = data.draw(BAD_STP, label="bad_stp")
        elif k <= 3:
            kw["stp"] = data.draw(STP, label="stp")
        self.request("submit", oid, side, price, qty, tif=tif, post_only=post_only, **kw)

    @rule(data=st.data())
    def market_any(self, data):
        oid = data.draw(mostly(st.sampled_from(ALL_IDS), BAD_ID, 3), label="oid")
        side = data.draw(mostly(st.sampled_from([0, 1]), BAD_SIDE, 3), label="side")
        qty = data.draw(mostly(QTY, st.one_of(BAD_QTY_VALUE, BAD_QTY_TYPE), 3), label="qty")
        kw = {}
        if data.draw(st.integers(0, 2), label="owner?") == 0:
            kw["owner"] = data.draw(mostly(OWNER, BAD_OWNER, 3), label="owner")
        if data.draw(st.integers(0, 2), label="stp?") == 0:
            kw["stp"] = data.draw(mostly(STP, BAD_STP, 3), label="stp")
        self.request("market", oid, side, qty, **kw)

    @rule(data=st.data())
    def post_only_at_touch(self, data):
        """Post-only at, through, or one tick off the opposite best (owners do not matter)."""
        side = data.draw(st.sampled_from([0, 1]), label="side")
        other = self.mbook.best_ask if side == 0 else self.mbook.best_bid
        other = 100 if other is None else other
        d = data.draw(st.integers(-1, 2), label="through")
        price = other + d if side == 0 else other - d
        qty = data.draw(QTY, label="qty")
        kw = self.owner_stp(data)
        if data.draw(st.booleans(), label="iceberg?"):
            kw["display_qty"] = display_for(data, qty)
        self.request("submit", self.new_id(data), side, price, qty, "GTC", True, **kw)

    # ----------------------------------------------------------------- invariants
    @invariant()
    def matches_model(self):
        levels = max(len(lv) for lv in self.mbook._levels)
        event(f"levels on a side >= {min(levels, 6) // 2 * 2}")
        self.model.check()
        compare_books(self.eng.book, self.mbook, absent_ids=ALL_IDS)
        self.eng.check()  # the engine's own invariants (reserves, displays, level totals)

    @invariant()
    def engine_orders_match_model(self):
        """eng.order(id) for every resting id: visible, hidden, display, owner; icebergs."""
        hidden_any = False
        for oid in self.mbook._orders:
            got = self.eng.order(oid)
            assert isinstance(got, lob.EngineOrder), f"order({oid}) returned {type(got).__name__}"
            side, price, visible, hidden, display, owner = got
            assert all(type(v) is int for v in (side, price, visible, hidden)), f"order({oid}) -> {got!r}"
            assert display is None or type(display) is int, f"order({oid}).display_qty {display!r}"
            assert owner is None or type(owner) is int, f"order({oid}).owner {owner!r}"
            exp = self.model.order(oid)
            assert tuple(got) == exp, f"order({oid}): engine {got!r} model {exp!r}"
            assert visible == self.eng.book.order(oid)[2], f"order({oid}).qty is not what the book shows"
            assert visible >= 1 and hidden >= 0, f"order({oid}) -> {got!r}"
            assert owner != 0, f"order({oid}): owner 0 is shown as None"
            if display is None:
                assert hidden == 0, f"order({oid}): a plain order with hidden qty: {got!r}"
            else:
                assert visible <= display, f"order({oid}): shows more than its display: {got!r}"
                hidden_any = hidden_any or hidden > 0
                # a slice is shown whole while there is reserve, until a fill takes part of it
                if hidden > 0 and not self.model._extra[oid].partly:
                    assert visible == display, f"order({oid}): a short slice with reserve: {got!r}"
                if hidden > 0 and visible < display:
                    event("an iceberg with a partly taken slice and reserve rests")
        if hidden_any:
            event("an iceberg with hidden qty rests")
        for oid in (0, 1, 2, 159, UINT64_MAX):
            if oid not in self.mbook._orders:
                try:
                    self.eng.order(oid)
                except lob.UnknownOrderError:
                    pass
                else:
                    raise AssertionError(f"eng.order({oid}) of an id that does not rest did not raise")

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

    def both(name, *args, **kwargs):
        exp = getattr(model, name)(*args, **kwargs)
        try:
            got = getattr(eng, name)(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            raise AssertionError(f"{name}{args!r}: engine raised {e!r}, model returned {exp!r}") from e
        if name == "cancel":
            assert got == exp, f"cancel{args!r}: engine {got!r} model {exp!r}"
        else:
            assert report_tuple(got, name) == exp, \
                f"{name}{args!r}: engine {report_tuple(got, name)!r} model {exp!r}"
        compare_books(eng.book, model.book, f"{name}{args!r}", absent_ids=ALL_IDS)
        for oid in model.book._orders:
            assert tuple(eng.order(oid)) == model.order(oid), f"{name}{args!r}: order({oid})"

    both("submit", 1, lob.ASK, 101, 5)
    both("market", 2, lob.BID, INT64_MAX)               # partial: 5 traded, buy_volume 5
    both("market", 3, lob.BID, INT64_MAX)               # nothing to buy: cancelled
    both("submit", 4, lob.ASK, 101, 5)
    both("submit", 5, lob.BID, 100, INT64_MAX)          # rests INT64_MAX alone at 100
    both("submit", 6, lob.BID, 101, INT64_MAX, "IOC")   # buys the 5 at 101, rest dropped
    both("submit", 7, lob.ASK, 101, 3, "FOK")           # nothing to sell at 101: rejected
    both("submit", 8, lob.ASK, 100, INT64_MAX, "FOK")   # sells exactly INT64_MAX: sell_volume == INT64_MAX
    # an iceberg of INT64_MAX showing INT64_MAX - 1: hidden 1, the level shows INT64_MAX - 1
    # (whether another order may then join that level is not pinned: the engine counts
    # hidden reserves in its level-total overflow check, so that a refill cannot overflow)
    both("submit", 9, lob.ASK, 105, INT64_MAX, display_qty=INT64_MAX - 1, owner=UINT64_MAX)
    both("submit", 10, lob.ASK, 106, 1, owner=UINT64_MAX)
    both("cancel", 9)
