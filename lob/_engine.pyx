# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""MatchingEngine: a book of its own that matches incoming orders, price-time.

A crossing order trades at each resting order's price, best price first,
FIFO within a price, until it is filled or no longer crosses.  Fills go
straight to the maker's pool slot (no id lookup per fill) and record the
trade in the book's flow and signals with the taker as the aggressor.  The
matching loop holds no Python objects, and every request reserves what it
can need (fill rows, signal buffers, a pool slot to rest in) before it
changes anything: it completes, or raises with the book unchanged.

Beyond the contract: icebergs (only `display_qty` of the order is in the
book; each refill goes to the back of the queue) and self-trade prevention
by `owner` (modes "cancel_taker", "cancel_maker", "cancel_both",
"decrement").  The hidden reserve, owner and mode of such orders live in an
array beside the book indexed by pool slot, flagged in lob_order.flags, so
plain orders pay nothing for them.  A taker that passes the same icebergs
many times at one level (a queue of icebergs refilling behind each other)
takes the complete passes in one step: time and fill rows grow with the
makers touched, not with qty / display_qty.
"""
import warnings

from libc.stdint cimport int64_t, uint64_t, uint32_t, INT64_MAX
from libc.stdlib cimport realloc, free
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_FromStringAndSize

from lob._core cimport *
from lob._book cimport OrderBook, view_of
from lob._convert cimport to_int64, to_uint64, to_side
from lob._rows cimport grow_rows

cimport numpy as cnp
import numpy as np

from lob.dtypes import FILL_DTYPE, ORDER_DTYPE, REPORT_DTYPE, SELF_TRADE_DTYPE
from lob.errors import EventError, REASONS, error as _error
from lob.kinds import RequestKind, StpMode, Tif
from lob.orders import EngineOrder as _EngineOrder

cnp.import_array()

# the C structs must mirror the dtypes
if (sizeof(Fill), sizeof(OrderRequest), sizeof(ReportRow), sizeof(SelfTrade)) != (
        FILL_DTYPE.itemsize, ORDER_DTYPE.itemsize, REPORT_DTYPE.itemsize, SELF_TRADE_DTYPE.itemsize):
    raise ImportError("lob._engine: a C struct does not match its NumPy dtype")

#: Report.status names, by REPORT_DTYPE.status code (lob.Outcome).
OUTCOMES = ("filled", "partial", "resting", "cancelled", "rejected", "refused")
#: Self-trade prevention modes, by ORDER_DTYPE.stp code (lob.StpMode).
STP_MODES = ("cancel_taker", "cancel_maker", "cancel_both", "decrement")
_TIF_NAMES = {"GTC": GTC, "IOC": IOC, "FOK": FOK}
_STP_CODES = {name: code for code, name in enumerate(STP_MODES)}
_GTC = "GTC"
_CANCEL_TAKER = STP_MODES[0]
_NO_SIDE = object()

_NO_FILLS = np.zeros(0, dtype=FILL_DTYPE)
_NO_FILLS.flags.writeable = False
_NO_SELF_TRADES = np.zeros(0, dtype=SELF_TRADE_DTYPE)
_NO_SELF_TRADES.flags.writeable = False


cdef inline int64_t min64(int64_t a, int64_t b) noexcept nogil:
    return a if a < b else b


cdef inline bint outside(int side, int64_t level_price, int64_t limit) noexcept nogil:
    """Is an opposite level at level_price beyond the limit of a `side` order?"""
    return level_price > limit if side == 0 else level_price < limit


cdef inline int64_t add_capped(int64_t total, int64_t x, int64_t cap) noexcept nogil:
    """min(total + x, cap) for 0 <= total <= cap, x >= 0, without overflow."""
    return cap if x >= cap - total else total + x


cdef inline int64_t drained(int64_t visible, int64_t total, int64_t display, int64_t rounds) noexcept nogil:
    """Qty an iceberg showing `visible` of `total` gives a taker that passes it
    `rounds` (>= 1) times, refilling `display` behind the queue each time."""
    cdef int64_t hidden = total - visible
    cdef int64_t refills = hidden / display + (1 if hidden % display else 0)
    if rounds - 1 >= refills:
        return total
    return visible + (rounds - 1) * display


cdef int tif_code(object tif) except -1:
    if tif is _GTC:                   # the default: skip the lookups
        return GTC
    if isinstance(tif, str):
        code = _TIF_NAMES.get(tif)
        if code is not None:
            return code
    elif isinstance(tif, Tif):
        return int(tif)
    raise ValueError(f"tif must be 'GTC', 'IOC' or 'FOK' (or a lob.Tif), got {tif!r}")


cdef int stp_code(object stp) except -1:
    if stp is _CANCEL_TAKER:          # the default: skip the lookups
        return CANCEL_TAKER
    if isinstance(stp, str):
        code = _STP_CODES.get(stp)
        if code is not None:
            return code
    elif isinstance(stp, StpMode):
        return int(stp)
    raise ValueError(f"stp must be one of {STP_MODES} (or a lob.StpMode), got {stp!r}")


cdef class Report:
    """What one request did.

    status: "filled" (all of it traded), "partial" (some traded; the rest
    rests for GTC or was dropped), "resting" (nothing traded, something
    rests), "cancelled" (nothing traded, nothing rests: IOC / market with
    nothing to trade, or self-trade prevention took it), "rejected"
    (post-only would trade, or FOK could not fill in full: nothing traded,
    book unchanged).
    filled: qty traded (shares).  remaining: qty left resting, visible +
    hidden (0 if none rests).
    fills: lob.FILL_DTYPE array (taker_id, maker_id, price, qty,
    maker_remaining) in execution order; read-only, empty when nothing
    traded.  The complete passes a taker makes through a level of icebergs
    refilling behind each other are one row per iceberg (its qty over those
    passes); the first pass and the last, partial one have a row per order.
    self_trades: lob.SELF_TRADE_DTYPE array (taker_id, maker_id,
    taker_removed, maker_removed, maker_remaining) of the self-trades
    prevented, in order; read-only, empty when none.
    """

    @property
    def fills(self):
        """The fills, a read-only lob.FILL_DTYPE array in execution order."""
        if self.fill_array is None:
            self.fill_array = (_NO_FILLS if not self.fill_bytes
                               else np.frombuffer(self.fill_bytes, dtype=FILL_DTYPE))
        return self.fill_array

    @property
    def self_trades(self):
        """Prevented self-trades, a read-only lob.SELF_TRADE_DTYPE array, in order."""
        if self.stp_array is None:
            self.stp_array = (_NO_SELF_TRADES if not self.stp_bytes
                              else np.frombuffer(self.stp_bytes, dtype=SELF_TRADE_DTYPE))
        return self.stp_array

    def __repr__(self):
        extra = f", self_trades={len(self.stp_bytes) // sizeof(SelfTrade)}" if self.stp_bytes else ""
        return (f"Report(status={self.status!r}, filled={self.filled}, remaining={self.remaining}, "
                f"fills={len(self.fill_bytes) // sizeof(Fill)}{extra})")


cdef class MatchingEngine:
    """A venue simulator: a book (allow_cross=False) of its own that matches.

    Prices, quantities and ids as in OrderBook (integer ticks and shares);
    ts (int64 ns) on every request moves the book's clock.  `book` is a
    read-only view of the engine's book (every reader of OrderBook, signals
    included): write through the engine, whose icebergs and owners live
    beside the book.  Pickle and copy.deepcopy round-trip the whole engine.
    """

    def __cinit__(self):
        self._book = OrderBook()
        self.core = self._book.core
        self._view = None
        self.fills = NULL
        self.nfills = 0
        self.fills_cap = 0
        self.stps = NULL
        self.nstps = 0
        self.stps_cap = 0
        self.extra = NULL
        self.extra_cap = 0
        self.n_extra = 0
        self.hidden_bound = 0
        self.scratch = NULL
        self.scratch_cap = 0
        self.last_rejected = {}
        self.last_self_trades = _NO_SELF_TRADES

    def __init__(self):
        """An empty engine."""

    def __dealloc__(self):
        free(self.fills)
        free(self.stps)
        free(self.extra)
        free(self.scratch)

    @property
    def book(self):
        """The engine's book, read-only (a lob.BookView): top of book, depth,
        signals, orders; no writer."""
        if self._view is None:
            self._view = view_of(self.core, self)
        return self._view

    # ------------------------------------------------------------------
    # C level: buffers and the per-order extras

    cdef int reserve_rows(self, Py_ssize_t fills, Py_ssize_t stps) noexcept nogil:
        if not grow_rows(<void **>&self.fills, &self.fills_cap, self.nfills + fills, sizeof(Fill)):
            return LOB_E_NOMEM
        if not grow_rows(<void **>&self.stps, &self.stps_cap, self.nstps + stps, sizeof(SelfTrade)):
            return LOB_E_NOMEM
        return LOB_OK

    cdef void push_fill(self, uint64_t taker, uint64_t maker, int64_t price, int64_t qty,
                        int64_t maker_left) noexcept nogil:
        cdef Fill *f
        # reserve_match sized the buffer; growing here is the fallback it never needs
        if self.nfills == self.fills_cap and not grow_rows(<void **>&self.fills, &self.fills_cap,
                                                          self.nfills + 1, sizeof(Fill)):
            return
        f = &self.fills[self.nfills]
        f.taker_id = taker
        f.maker_id = maker
        f.price = price
        f.qty = qty
        f.maker_remaining = maker_left
        self.nfills += 1

    cdef void push_stp(self, uint64_t taker, uint64_t maker, int64_t taker_removed,
                       int64_t maker_removed, int64_t maker_left) noexcept nogil:
        cdef SelfTrade *r
        if self.nstps == self.stps_cap and not grow_rows(<void **>&self.stps, &self.stps_cap,
                                                        self.nstps + 1, sizeof(SelfTrade)):
            return
        r = &self.stps[self.nstps]
        r.taker_id = taker
        r.maker_id = maker
        r.taker_removed = taker_removed
        r.maker_removed = maker_removed
        r.maker_remaining = maker_left
        self.nstps += 1

    cdef int reserve_extra(self) noexcept nogil:
        """Room for one more order in the book's pool and in `extra`, so an
        order can rest with extras after matching without any allocation."""
        cdef int status = lob_book_reserve_order(self.core)
        cdef EngineExtra *grown
        if status:
            return status
        if self.extra_cap < self.core.orders_cap:
            grown = <EngineExtra *>realloc(self.extra, <size_t>self.core.orders_cap * sizeof(EngineExtra))
            if grown == NULL:
                return LOB_E_NOMEM
            self.extra = grown
            self.extra_cap = self.core.orders_cap
        return LOB_OK

    cdef void set_extra(self, uint32_t slot, int64_t hidden, int64_t display, uint64_t owner,
                        int stp) noexcept nogil:
        cdef EngineExtra *x = &self.extra[slot]
        cdef lob_order *o = &self.core.orders[slot]
        if not (o.flags & HAS_EXTRA):
            o.flags |= HAS_EXTRA
            self.n_extra += 1
        self.set_hidden(x, hidden)
        x.display = display
        x.owner = owner
        x.stp = stp

    cdef void set_hidden(self, EngineExtra *x, int64_t hidden) noexcept nogil:
        """Set a reserve, keeping hidden_bound an upper bound of their sum (it
        only grows while any order has extras; decreases are not tracked)."""
        x.hidden = hidden
        if hidden > 0:
            self.hidden_bound = (self.hidden_bound + <uint64_t>hidden
                                 if self.hidden_bound + <uint64_t>hidden >= self.hidden_bound else <uint64_t>-1)

    cdef void remove_slot(self, uint32_t slot) noexcept nogil:
        """The order at `slot` leaves the book (no trade recorded)."""
        if self.core.orders[slot].flags & HAS_EXTRA:
            self.core.orders[slot].flags = 0
            self.n_extra -= 1
            if self.n_extra == 0:
                self.hidden_bound = 0
        lob_book_remove(self.core, slot)

    cdef int64_t hidden_at(self, uint32_t slot) noexcept nogil:
        return self.extra[slot].hidden if self.core.orders[slot].flags & HAS_EXTRA else 0

    cdef bint owned_by(self, uint32_t slot, uint64_t owner) noexcept nogil:
        return owner != 0 and (self.core.orders[slot].flags & HAS_EXTRA) and self.extra[slot].owner == owner

    cdef int level_room(self, int side, int64_t price, int64_t add, uint32_t exclude) noexcept nogil:
        """LOB_E_OVERFLOW unless the level at (side, price), hidden reserves
        included and the order at `exclude` left out, can take `add` more.
        Holding this for every order that rests means an iceberg refill can
        never overflow its level's total in the middle of a match."""
        cdef uint32_t level = lob_book_level_of(self.core, side, price)
        cdef uint32_t slot
        cdef int64_t total, room
        if level == LOB_NIL:
            return LOB_OK
        total = self.core.levels[level].qty
        room = INT64_MAX - total
        if self.hidden_bound < <uint64_t>room and add <= room - <int64_t>self.hidden_bound:
            return LOB_OK            # every reserve in the book would fit: no need to walk the level
        slot = self.core.levels[level].head
        while slot != LOB_NIL:
            if slot == exclude:
                total -= self.core.orders[slot].qty
            elif self.n_extra:
                # each visible + hidden total is <= INT64_MAX: saturate the sum there
                total = add_capped(total, self.hidden_at(slot), INT64_MAX) if total >= 0 else total
            slot = self.core.orders[slot].next
        if total >= 0 and add > INT64_MAX - total:
            return LOB_E_OVERFLOW
        return LOB_OK

    # ------------------------------------------------------------------
    # C level: matching

    cdef bint crosses(self, int side, int64_t limit, bint market) noexcept nogil:
        """Would an order of `side` at `limit` trade against the best level?"""
        cdef int opp = 1 - side
        if self.core.ladder[opp].n == 0:
            return False
        if market:
            return True
        return not outside(side, lob_book_best(self.core, opp), limit)

    cdef int64_t crossing_qty(self, const Taker *t, int64_t want, bint stop_at_self) noexcept nogil:
        """Qty the taker could trade (visible + hidden, anonymous qty and its
        owner's orders excluded), counted up to `want` (saturating there).

        stop_at_self: count as matching would reach it when meeting an own
        order stops the taker's fills (every mode but cancel_maker): earlier
        levels in full, at that level only the visible qty queued ahead
        (refills there would go behind the own order)."""
        cdef lob_ladder *lad = &self.core.ladder[1 - t.side]
        cdef Py_ssize_t i = <Py_ssize_t>lad.n - 1
        cdef lob_level *lvl
        cdef lob_order *o
        cdef uint32_t slot
        cdef int64_t total = 0, visible, hidden
        while i >= 0 and total < want:
            lvl = &self.core.levels[lad.levels[i]]
            if not t.market and outside(t.side, lvl.price, t.price):
                break
            if self.n_extra == 0:
                total = add_capped(total, lvl.qty - lvl.anon, want)
            else:
                visible = 0
                hidden = 0
                slot = lvl.head
                while slot != LOB_NIL:
                    o = &self.core.orders[slot]
                    if self.owned_by(slot, t.owner):
                        if stop_at_self:
                            return add_capped(total, visible, want)
                    else:
                        visible = add_capped(visible, o.qty, want)
                        hidden = add_capped(hidden, self.hidden_at(slot), want)
                    slot = o.next
                total = add_capped(add_capped(total, visible, want), hidden, want)
            i -= 1
        return total

    cdef int reserve_match(self, const Taker *t) noexcept nogil:
        """Reserve what matching `t` can need, before it changes anything: fill
        and self-trade rows (at most three per maker touched: its first pass,
        one for the complete passes, the last pass), signal buffers (a VWAP
        ring entry per row, a run price per level) and the scratch queue."""
        cdef lob_ladder *lad = &self.core.ladder[1 - t.side]
        cdef Py_ssize_t i = <Py_ssize_t>lad.n - 1, orders = 0, levels = 0, widest = 0
        cdef lob_level *lvl
        cdef int64_t visible = 0
        cdef uint32_t *grown
        while i >= 0 and visible < t.qty:
            lvl = &self.core.levels[lad.levels[i]]
            if not t.market and outside(t.side, lvl.price, t.price):
                break
            orders += lvl.count
            levels += 1
            if lvl.count > widest:
                widest = lvl.count
            visible = add_capped(visible, lvl.qty, INT64_MAX)
            i -= 1
        if self.reserve_rows(3 * orders + 1, orders + 1 if t.owner else 0):
            return LOB_E_NOMEM
        if lob_sig_reserve(&self.core.sig, <size_t>(3 * orders + 1), <size_t>(levels + 1)):
            return LOB_E_NOMEM
        if widest > self.scratch_cap:
            grown = <uint32_t *>realloc(self.scratch, widest * sizeof(uint32_t))
            if grown == NULL:
                return LOB_E_NOMEM
            self.scratch = grown
            self.scratch_cap = widest
        return LOB_OK

    cdef void prevent(self, const Taker *t, uint32_t slot, int64_t *left, bint *stopped) noexcept nogil:
        """The taker meets its owner's order at `slot`: apply its STP mode."""
        cdef lob_order *o = &self.core.orders[slot]
        cdef EngineExtra *x = &self.extra[slot]
        cdef uint64_t maker = o.order_id
        cdef int64_t total = o.qty + x.hidden, d, from_hidden, from_visible
        if t.stp == CANCEL_TAKER:
            stopped[0] = True
            d = left[0]
            left[0] = 0
            self.push_stp(t.order_id, maker, d, 0, total)
        elif t.stp == CANCEL_MAKER:
            self.remove_slot(slot)
            self.push_stp(t.order_id, maker, 0, total, 0)
        elif t.stp == CANCEL_BOTH:
            stopped[0] = True
            d = left[0]
            left[0] = 0
            self.remove_slot(slot)
            self.push_stp(t.order_id, maker, d, total, 0)
        else:
            # DECREMENT: both lose the smaller qty; the maker's reserve goes first
            d = min64(left[0], total)
            left[0] -= d
            if d == total:
                self.remove_slot(slot)
            else:
                from_hidden = min64(x.hidden, d)
                from_visible = d - from_hidden
                x.hidden -= from_hidden
                o.qty -= from_visible
                self.core.levels[o.level].qty -= from_visible
            self.push_stp(t.order_id, maker, d, d, total - d)

    cdef void take(self, const Taker *t, uint32_t slot, int64_t *left, int64_t *filled) noexcept nogil:
        """The taker trades with the order at `slot` (its level's head) once."""
        cdef lob_order *o = &self.core.orders[slot]
        cdef lob_level *lvl = &self.core.levels[o.level]
        cdef EngineExtra *x
        cdef int64_t price = lvl.price, fill = min64(o.qty, left[0]), maker_left, refill
        cdef uint64_t maker = o.order_id
        lob_book_record_trade(self.core, t.side, price, fill)
        left[0] -= fill
        filled[0] += fill
        if fill < o.qty:
            o.qty -= fill
            lvl.qty -= fill
            maker_left = o.qty + self.hidden_at(slot)
        elif (o.flags & HAS_EXTRA) and self.extra[slot].hidden > 0:
            # an iceberg's slice is gone: refill it at the back of the queue
            x = &self.extra[slot]
            refill = min64(x.display, x.hidden)
            x.hidden -= refill
            lob_book_requeue(self.core, slot, refill)    # cannot overflow: level_room held
            maker_left = refill + x.hidden
        else:
            maker_left = 0
            self.remove_slot(slot)
        self.push_fill(t.order_id, maker, price, fill, maker_left)
        self.core.sig.dirty |= 1 << (1 - t.side)      # fills happen at the best level of the maker side
        lob_book_after(self.core, LOB_AFTER_FLOW)     # a fill is an event of the book, as a feed's EXECUTE

    cdef void bulk_rounds(self, const Taker *t, uint32_t level, int64_t *left, int64_t *filled) noexcept nogil:
        """After the first pass through a level only icebergs remain, each
        refilling behind the others: take as many complete passes as `left`
        covers in one step (one row per iceberg), leaving a last pass that
        `left` cannot complete."""
        cdef lob_level *lvl = &self.core.levels[level]
        cdef Py_ssize_t k = lvl.count, i
        cdef uint32_t slot
        cdef lob_order *o
        cdef EngineExtra *x
        cdef int64_t lo = 0, hi = 0, mid, need, total, q, rest, visible, price = lvl.price, refills
        if k == 0 or k > self.scratch_cap:
            return
        slot = lvl.head
        for i in range(k):
            if not (self.core.orders[slot].flags & HAS_EXTRA) or self.extra[slot].display <= 0:
                return                       # not a queue of icebergs: the stepwise pass handles it
            self.scratch[i] = slot
            x = &self.extra[slot]
            refills = x.hidden / x.display + (1 if x.hidden % x.display else 0)
            if refills + 1 > hi:
                hi = refills + 1             # passes after which this one is gone
            slot = self.core.orders[slot].next
        # the most complete passes r in [0, hi] whose qty fits in left
        while lo < hi:
            mid = lo + (hi - lo + 1) / 2
            need = 0
            for i in range(k):
                o = &self.core.orders[self.scratch[i]]
                total = o.qty + self.extra[self.scratch[i]].hidden
                need = add_capped(need, drained(o.qty, total, self.extra[self.scratch[i]].display, mid),
                                  INT64_MAX)
                if need > left[0]:
                    break
            if need <= left[0]:
                lo = mid
            else:
                hi = mid - 1
        if lo == 0:
            return
        for i in range(k):
            slot = self.scratch[i]
            o = &self.core.orders[slot]
            x = &self.extra[slot]
            total = o.qty + x.hidden
            q = drained(o.qty, total, x.display, lo)
            rest = total - q
            lob_book_record_trade(self.core, t.side, price, q)
            left[0] -= q
            filled[0] += q
            if rest == 0:
                self.push_fill(t.order_id, o.order_id, price, q, 0)
                self.remove_slot(slot)
            else:
                visible = min64(x.display, rest)
                self.core.levels[o.level].qty += visible - o.qty
                o.qty = visible
                x.hidden = rest - visible
                self.push_fill(t.order_id, o.order_id, price, q, rest)
            self.core.sig.dirty |= 1 << (1 - t.side)
            lob_book_after(self.core, LOB_AFTER_FLOW)

    cdef void match_level(self, const Taker *t, uint32_t level, int64_t *left, int64_t *filled,
                          bint *stopped) noexcept nogil:
        """The taker at one level: a pass through the orders resting there
        (self-trade prevention on the way), then complete passes through the
        icebergs that refilled in one step, then the last pass."""
        cdef lob_level *lvl = &self.core.levels[level]
        cdef uint32_t slot, last = lvl.tail
        cdef bint is_last
        cdef Py_ssize_t k, i
        while True:
            slot = lvl.head
            is_last = slot == last
            if self.owned_by(slot, t.owner):
                self.prevent(t, slot, left, stopped)
                self.core.sig.dirty |= 1 << (1 - t.side)
                lob_book_after(self.core, LOB_AFTER_FLOW)
                if stopped[0]:
                    return
            else:
                self.take(t, slot, left, filled)
            if left[0] == 0 or lvl.count == 0 or is_last:
                break
        while left[0] > 0 and lvl.count > 0:
            self.bulk_rounds(t, level, left, filled)
            k = lvl.count
            for i in range(k):
                if left[0] == 0 or lvl.count == 0:
                    break
                self.take(t, lvl.head, left, filled)

    cdef void match(self, const Taker *t, int64_t *left, int64_t *filled, bint *stopped) noexcept nogil:
        """Trade `left` against the opposite side while it crosses."""
        cdef lob_ladder *lad = &self.core.ladder[1 - t.side]
        cdef uint32_t level
        while left[0] > 0 and lad.n and self.crosses(t.side, t.price, t.market):
            level = lad.levels[lad.n - 1]
            if self.core.levels[level].head == LOB_NIL:
                break                  # only anonymous qty: nothing to trade against
            self.match_level(t, level, left, filled, stopped)
            if stopped[0]:
                return

    cdef int begin(self, int64_t ts) noexcept nogil:
        """Start a request at `ts`: the clock moves (undone if it fails)."""
        if ts > self.core.sig.ts:
            self.core.sig.ts = ts
        return LOB_OK

    cdef int end(self, int status, int64_t before, int kind) noexcept nogil:
        """Finish a request: the signals' work for what it did last (each fill
        was an event of its own), or on failure the clock back."""
        if status:
            self.core.sig.ts = before
            self.core.fail.kind = kind
        else:
            lob_book_after(self.core, LOB_AFTER_FLOW)
        return status

    cdef int c_submit(self, const Taker *t, int64_t ts, int *outcome, int64_t *filled,
                      int64_t *remaining) noexcept nogil:
        cdef int64_t left = t.qty, visible
        cdef int status
        cdef bint crossing, stopped = False, may_rest, iceberg
        cdef uint32_t slot
        cdef lob_failure *f = &self.core.fail
        filled[0] = 0
        remaining[0] = 0
        if <unsigned>t.side > 1:
            return lob_fail(f, LOB_E_SIDE, t.order_id, t.side, t.price, t.qty)
        if t.qty <= 0:
            return lob_fail(f, LOB_E_QTY, t.order_id, t.side, t.price, t.qty)
        if lob_book_find(self.core, t.order_id) != LOB_NIL:
            return lob_fail(f, LOB_E_DUPLICATE, t.order_id, t.side, t.price, t.qty)
        # checked up front, so no fill can fail on it midway: only what can trade counts
        if lob_book_flow_room(self.core, t.side, t.qty) and lob_book_flow_room(
                self.core, t.side, self.crossing_qty(t, t.qty, False)):
            return lob_fail(f, LOB_E_OVERFLOW, t.order_id, t.side, t.price, t.qty)
        crossing = self.crosses(t.side, t.price, t.market)
        if t.post_only and crossing:
            outcome[0] = REJECTED
            return LOB_OK
        if t.tif == FOK and self.crossing_qty(t, t.qty, t.stp != CANCEL_MAKER) < t.qty:
            outcome[0] = REJECTED
            return LOB_OK
        may_rest = t.tif == GTC and not t.market
        iceberg = t.display > 0 and (t.display < t.qty or t.keep_display)
        if may_rest:
            # room to rest the rest after matching (a pool slot, extras, a level);
            # an order that does not cross goes straight to lob_book_add, which reserves
            status = LOB_OK
            if iceberg or t.owner:
                status = self.reserve_extra()
            elif crossing:
                status = lob_book_reserve_order(self.core)
            if status == LOB_OK and crossing:
                status = lob_book_reserve_level(self.core, t.side)
            if status:
                return lob_fail(f, status, t.order_id, t.side, t.price, t.qty)
            if not crossing and (iceberg or self.n_extra):
                # a crossing order rests at a fresh level (the book is never crossed)
                if self.level_room(t.side, t.price, t.qty, LOB_NIL):
                    return lob_fail(f, LOB_E_OVERFLOW, t.order_id, t.side, t.price, t.qty)
        if crossing:
            if self.reserve_match(t):
                return lob_fail(f, LOB_E_NOMEM, t.order_id, t.side, t.price, t.qty)
            self.core.sig.run_open = 0          # every taker starts its own run
            self.match(t, &left, filled, &stopped)
        if left and may_rest and not stopped:
            visible = min64(t.display, left) if iceberg else left
            status = lob_book_add(self.core, t.order_id, t.side, t.price, visible)
            if status:                          # reserved and checked above: cannot happen
                return status
            if iceberg or t.owner:
                slot = lob_book_find(self.core, t.order_id)
                self.set_extra(slot, left - visible, t.display if iceberg else 0, t.owner, t.stp)
            remaining[0] = left
        if filled[0] == t.qty:
            outcome[0] = FILLED
        elif filled[0]:
            outcome[0] = PARTIAL
        elif remaining[0]:
            outcome[0] = RESTING
        else:
            outcome[0] = CANCELLED
        return LOB_OK

    cdef int c_cancel_order(self, uint64_t order_id, int64_t ts, int64_t *out_qty) noexcept nogil:
        cdef uint32_t slot = lob_book_find(self.core, order_id)
        if slot == LOB_NIL:
            return lob_fail(&self.core.fail, LOB_E_UNKNOWN, order_id, -1, 0, 0)
        out_qty[0] = self.core.orders[slot].qty + self.hidden_at(slot)
        self.remove_slot(slot)
        return LOB_OK

    cdef int c_modify_order(self, uint64_t order_id, int64_t price, int64_t qty, int64_t ts, int *outcome,
                            int64_t *filled, int64_t *remaining) noexcept nogil:
        cdef uint32_t slot
        cdef lob_order *o
        cdef EngineExtra *x = NULL
        cdef int side, status
        cdef int64_t visible
        cdef Taker t
        cdef lob_failure *f = &self.core.fail
        if qty <= 0:
            return lob_fail(f, LOB_E_QTY, order_id, -1, price, qty)
        slot = lob_book_find(self.core, order_id)
        if slot == LOB_NIL:
            return lob_fail(f, LOB_E_UNKNOWN, order_id, -1, price, qty)
        o = &self.core.orders[slot]
        side = self.core.levels[o.level].side
        if o.flags & HAS_EXTRA:
            x = &self.extra[slot]
        filled[0] = 0
        if not self.crosses(side, price, False):
            outcome[0] = RESTING
            remaining[0] = qty
            if x == NULL or x.display == 0:
                if self.n_extra and self.level_room(side, price, qty, slot):
                    return lob_fail(f, LOB_E_OVERFLOW, order_id, side, price, qty)
                return lob_book_modify(self.core, order_id, price, qty)
            if price == self.core.levels[o.level].price and qty <= o.qty + x.hidden:
                # same price, total not growing: keeps its place; the reserve shrinks first
                visible = min64(o.qty, qty)
                status = lob_book_modify(self.core, order_id, price, visible)
                if status:
                    return status
                x.hidden = qty - visible             # smaller: hidden_bound still holds
                return LOB_OK
            if self.level_room(side, price, qty, slot):
                return lob_fail(f, LOB_E_OVERFLOW, order_id, side, price, qty)
            visible = min64(x.display, qty)
            if price == self.core.levels[o.level].price:
                status = lob_book_requeue(self.core, slot, visible)
            else:
                status = lob_book_modify(self.core, order_id, price, visible)
            if status:
                return status
            self.set_hidden(&self.extra[slot], qty - visible)     # lob_book_modify keeps the slot
            return LOB_OK
        # a crossing modify trades as a GTC taker with the same id: the checks of
        # c_submit first, on the book without the order, so a refusal changes nothing
        t.order_id = order_id
        t.side = side
        t.price = price
        t.qty = qty
        t.tif = GTC
        t.post_only = False
        t.market = False
        t.display = x.display if x != NULL else 0
        t.keep_display = True
        t.owner = x.owner if x != NULL else 0
        t.stp = x.stp if x != NULL else CANCEL_TAKER
        if lob_book_flow_room(self.core, side, qty) and lob_book_flow_room(
                self.core, side, self.crossing_qty(&t, qty, False)):
            return lob_fail(f, LOB_E_OVERFLOW, order_id, side, price, qty)
        status = self.reserve_extra()
        if status == LOB_OK:
            status = lob_book_reserve_level(self.core, side)
        if status == LOB_OK and self.reserve_match(&t):
            status = LOB_E_NOMEM
        if status:
            return lob_fail(f, status, order_id, side, price, qty)
        self.remove_slot(slot)
        return self.c_submit(&t, ts, outcome, filled, remaining)

    cdef Report report(self, int outcome, int64_t filled, int64_t remaining):
        cdef Report rep = Report.__new__(Report)
        rep.status = OUTCOMES[outcome]
        rep.filled = filled
        rep.remaining = remaining
        # raw bytes now (one small copy); the NumPy arrays only if someone reads them
        rep.fill_bytes = (PyBytes_FromStringAndSize(<char *>self.fills, self.nfills * sizeof(Fill))
                          if self.nfills else b"")
        rep.fill_array = None
        rep.stp_bytes = (PyBytes_FromStringAndSize(<char *>self.stps, self.nstps * sizeof(SelfTrade))
                         if self.nstps else b"")
        rep.stp_array = None
        return rep

    cdef int fail(self, object side=_NO_SIDE) except -1:
        context = failure_context(&self.core.fail)
        if side is not _NO_SIDE:
            context["side"] = side
        raise _error(self.core.fail.code, **context)

    # ------------------------------------------------------------------
    # Python

    def submit(self, order_id, side, price, qty, tif="GTC", post_only=False, *, display_qty=None,
               owner=None, stp="cancel_taker", ts=None):
        """Submit a limit order; returns a lob.Report.

        order_id: int in [0, 2**64), not resting.  side: 0 (BID, buy) or 1
        (ASK, sell).  price: int64 limit (ticks).  qty: int64 > 0 (shares).
        tif: "GTC" (the rest rests), "IOC" (the rest is dropped) or "FOK"
        (all of it trades at once, or nothing: status "rejected"); or lob.Tif.
        post_only: refuse (status "rejected") instead of trading; GTC only.
        display_qty: make a GTC order an iceberg showing this many shares
            (int >= 1; an order with display_qty >= qty is a plain order).
            Only the visible slice is in the book; when a fill takes all of
            it, `min(display_qty, hidden)` more becomes visible at the back
            of the queue.  FOK and matching count the hidden qty.
        owner: int in [1, 2**64) or None (0 means None): the account, for
            self-trade prevention.  A resting order keeps its owner.
        stp: when this order would trade with a resting order of the same
            owner: "cancel_taker" (this order's rest is cancelled),
            "cancel_maker" (the resting order is cancelled, matching goes
            on), "cancel_both", or "decrement" (both lose the smaller qty,
            no trade; the resting order's hidden reserve goes first); or
            lob.StpMode.  Each appears in Report.self_trades.
        ts: the request's time (int64 ns; default: the book's clock).
        Malformed input raises as OrderBook.add does and changes nothing.
        """
        cdef Taker t
        cdef int outcome = RESTING, status, s
        cdef int64_t filled, remaining, before, when
        t.order_id = to_uint64(order_id, "order_id")
        s = to_side(side)
        t.price = to_int64(price, "price")
        t.qty = to_int64(qty, "qty")
        t.display = to_int64(display_qty, "display_qty") if display_qty is not None else 0
        t.owner = to_uint64(owner, "owner") if owner is not None else 0
        when = self.core.sig.ts if ts is None else to_int64(ts, "ts")
        if s < 0:
            raise _error(LOB_E_SIDE, side=side)
        if t.qty <= 0:
            raise _error(LOB_E_QTY, qty=t.qty)
        t.tif = tif_code(tif)
        if post_only and t.tif != GTC:
            raise ValueError(f"post_only needs tif='GTC', got tif={tif!r}")
        if display_qty is not None:
            if t.display < 1:
                raise ValueError(f"display_qty must be >= 1, got {display_qty!r}")
            if t.tif != GTC:
                raise ValueError(f"display_qty (an iceberg) needs tif='GTC', got tif={tif!r}")
        t.stp = stp_code(stp)
        t.side = s
        t.post_only = bool(post_only)
        t.market = False
        t.keep_display = False
        self._book.guard()
        self.nfills = 0
        self.nstps = 0
        before = self.core.sig.ts
        self.begin(when)
        status = self.end(self.c_submit(&t, when, &outcome, &filled, &remaining), before, LIMIT)
        if status:
            self.fail(side)
        return self.report(outcome, filled, remaining)

    def market(self, order_id, side, qty, *, owner=None, stp="cancel_taker", ts=None):
        """A market order: IOC at any price; returns a lob.Report (status
        "filled", "partial" or "cancelled").  owner, stp, ts: as in submit."""
        cdef Taker t
        cdef int outcome = CANCELLED, status, s
        cdef int64_t filled, remaining, before, when
        t.order_id = to_uint64(order_id, "order_id")
        s = to_side(side)
        t.qty = to_int64(qty, "qty")
        t.owner = to_uint64(owner, "owner") if owner is not None else 0
        when = self.core.sig.ts if ts is None else to_int64(ts, "ts")
        if s < 0:
            raise _error(LOB_E_SIDE, side=side)
        if t.qty <= 0:
            raise _error(LOB_E_QTY, qty=t.qty)
        t.stp = stp_code(stp)
        t.side = s
        t.price = INT64_MAX if s == 0 else -INT64_MAX - 1
        t.tif = IOC
        t.post_only = False
        t.market = True
        t.display = 0
        t.keep_display = False
        self._book.guard()
        self.nfills = 0
        self.nstps = 0
        before = self.core.sig.ts
        self.begin(when)
        status = self.end(self.c_submit(&t, when, &outcome, &filled, &remaining), before, MARKET)
        if status:
            self.fail(side)
        return self.report(outcome, filled, remaining)

    def cancel(self, order_id, *, ts=None):
        """Cancel a resting order; returns the qty it had, visible + hidden (shares)."""
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t was = 0, before, when = self.core.sig.ts if ts is None else to_int64(ts, "ts")
        self._book.guard()
        before = self.core.sig.ts
        self.begin(when)
        if self.end(self.c_cancel_order(oid, when, &was), before, CANCEL_REQUEST):
            self.fail()
        return was

    def modify(self, order_id, price, qty, *, ts=None):
        """Cancel-replace a resting order; returns a lob.Report.

        price: the new limit (ticks); qty: the new qty (shares; for an
        iceberg the new total, visible + hidden).  It keeps its queue place
        only when the price is unchanged and qty does not grow (status
        "resting"; an iceberg's reserve shrinks first).  A new price that
        crosses the book trades as a GTC order with the same id, display,
        owner and stp mode (fills, then the rest rests at the back of the
        queue); otherwise the order goes to the back of the queue at its new
        price (an iceberg with a fresh slice of display_qty).  A refused
        modify changes nothing.
        """
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t when = self.core.sig.ts if ts is None else to_int64(ts, "ts")
        cdef int outcome = RESTING, status
        cdef int64_t filled = 0, remaining = q, before
        self._book.guard()
        self.nfills = 0
        self.nstps = 0
        before = self.core.sig.ts
        self.begin(when)
        status = self.end(self.c_modify_order(oid, p, q, when, &outcome, &filled, &remaining), before,
                          MODIFY_REQUEST)
        if status:
            self.fail()
        return self.report(outcome, filled, remaining)

    def order(self, order_id):
        """A resting order as the engine sees it: lob.EngineOrder(side, price,
        qty, hidden_qty, display_qty, owner) (a named tuple).  qty is the
        visible part (what the book shows); display_qty and owner are None
        when not set."""
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef uint32_t slot
        cdef lob_order *o
        cdef EngineExtra *x
        self._book.guard()
        slot = lob_book_find(self.core, oid)
        if slot == LOB_NIL:
            raise _error(LOB_E_UNKNOWN, order_id=oid)
        o = &self.core.orders[slot]
        side = <int>self.core.levels[o.level].side
        price = self.core.levels[o.level].price
        if not (o.flags & HAS_EXTRA):
            return _EngineOrder(side, price, o.qty, 0, None, None)
        x = &self.extra[slot]
        return _EngineOrder(side, price, o.qty, x.hidden, x.display or None, x.owner or None)

    def __len__(self):
        return len(self._book)

    def __contains__(self, order_id):
        return order_id in self._book

    def __repr__(self):
        b = self._book
        return (f"<MatchingEngine orders={len(b)} bid={b.best_bid}x{b.best_bid_qty} "
                f"ask={b.best_ask}x{b.best_ask_qty} with_extras={self.n_extra}>")

    def check(self):
        """Verify the book's invariants and the engine's own (every iceberg
        shows at most display_qty, reserves are >= 0, the count of orders
        with extras; no level's total with reserves passes int64); raises
        AssertionError naming the first broken one.  For tests."""
        cdef uint32_t slot
        cdef lob_order *o
        cdef EngineExtra *x
        cdef Py_ssize_t flagged = 0
        self._book.check()
        for slot in range(self.core.orders_used):
            o = &self.core.orders[slot]
            if not (o.flags & HAS_EXTRA) or lob_book_find(self.core, o.order_id) != slot:
                continue
            flagged += 1
            x = &self.extra[slot]
            if x.hidden < 0:
                raise AssertionError(f"order {o.order_id}: hidden qty {x.hidden} < 0")
            if x.display:
                if o.qty > x.display:
                    raise AssertionError(f"order {o.order_id}: visible {o.qty} > display_qty {x.display}")
            elif x.hidden:
                raise AssertionError(f"order {o.order_id}: hidden qty {x.hidden} without display_qty")
            if not (x.owner or x.display):
                raise AssertionError(f"order {o.order_id}: extras with neither owner nor display_qty")
        if flagged != self.n_extra:
            raise AssertionError(f"{flagged} orders with extras, the engine counts {self.n_extra}")
        for side in (0, 1):
            for price in self._book.depth(1 << 30)[2 * side].tolist():
                total = self._book.level_qty(side, price) + sum(self.order(i).hidden_qty
                                                                for i in self._book.orders_at(side, price))
                if total > INT64_MAX:
                    raise AssertionError(f"level (side={side}, price={price}): total with reserves "
                                         f"{total} passes int64")

    # ------------------------------------------------------------------
    # pickle and copy

    def _extras(self):
        cdef uint32_t slot
        cdef EngineExtra x
        rows = []
        for oid in self._book.snapshot()["order_id"].tolist():
            slot = lob_book_find(self.core, oid)
            if self.core.orders[slot].flags & HAS_EXTRA:
                x = self.extra[slot]
                rows.append((oid, x.hidden, x.display, x.owner, x.stp))
        return rows

    def _restore(self, book_state, extras):
        cdef uint32_t slot
        self._book._restore(*book_state[1:])
        for oid, hidden, display, owner, stp in extras:
            if self.reserve_extra():
                raise MemoryError("MatchingEngine: out of memory restoring its orders")
            slot = lob_book_find(self.core, oid)
            self.set_extra(slot, hidden, display, owner, stp)

    def __reduce__(self):
        return (_rebuild_engine, (self._book._state(), self._extras()))

    def __copy__(self):
        return _rebuild_engine(self._book._state(), self._extras())

    def __deepcopy__(self, memo):
        return _rebuild_engine(self._book._state(), self._extras())

    # ------------------------------------------------------------------
    # batches

    def submit_many(self, orders, self_trades=None, *, on_error="raise"):
        """Run an array of lob.ORDER_DTYPE requests in order, in C, without
        the GIL; returns (fills, reports).

        Request kinds (lob.RequestKind): 1 limit (tif lob.Tif 0 GTC / 1 IOC /
        2 FOK; flags bit 0 post only; display_qty > 0 makes a GTC order an
        iceberg), 2 market, 3 cancel, 4 modify (price and qty are the new
        ones).  owner (0: none) and stp (lob.StpMode) as in submit; ts moves
        the clock as in submit.
        fills: every fill (lob.FILL_DTYPE) in execution order.  reports: one
        lob.REPORT_DTYPE row per request: status (lob.Outcome: 0 filled, 1
        partial, 2 resting, 3 cancelled, 4 rejected, 5 refused; index
        lob.OUTCOMES), filled, remaining (resting, visible + hidden),
        cancelled (qty that neither traded nor rests: a cancel request's
        resting qty, an IOC's or market's rest, qty removed by self-trade
        prevention, a refused order's qty), first_fill and n_fills (its rows
        of `fills`).  The prevented self-trades (lob.SELF_TRADE_DTYPE) are
        in eng.last_self_trades afterwards.

        The results equal the same requests made one call at a time.
        on_error="raise": a malformed request stops the batch with
        lob.EventError (.index: every request before it applied, none from
        it on; .fills, .reports and .self_trades hold the results before it).
        on_error="skip": a malformed request is skipped (status 5 "refused",
        its qty cancelled) and counted by reason in eng.last_rejected.
        """
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if not isinstance(orders, np.ndarray) or orders.dtype != ORDER_DTYPE or orders.ndim != 1:
            raise TypeError(f"orders must be a 1-d NumPy array of lob.ORDER_DTYPE, got "
                            f"{getattr(orders, 'dtype', type(orders).__name__)!r}")
        orders = np.ascontiguousarray(orders)
        cdef Py_ssize_t n = orders.shape[0], i = 0
        cdef const OrderRequest *req = <const OrderRequest *>cnp.PyArray_DATA(orders) if n else NULL
        reports = np.zeros(n, dtype=REPORT_DTYPE)
        cdef ReportRow *row = <ReportRow *>cnp.PyArray_DATA(reports) if n else NULL
        cdef int status = 0, outcome
        cdef int64_t filled, remaining, was, before
        cdef Py_ssize_t start, stp_start, rejected[32]
        cdef bint skip = on_error == "skip"
        cdef Taker t
        cdef lob_failure *f = &self.core.fail
        for i in range(32):
            rejected[i] = 0
        i = 0
        self._book.guard()
        self.nfills = 0
        self.nstps = 0
        core_enter(self.core)
        try:
            with nogil:
                while i < n:
                    start = self.nfills
                    stp_start = self.nstps
                    outcome = RESTING
                    filled = 0
                    remaining = 0
                    was = 0
                    before = self.core.sig.ts
                    self.begin(req[i].ts)
                    if req[i].kind == LIMIT or req[i].kind == MARKET:
                        t.order_id = req[i].order_id
                        t.side = req[i].side
                        t.qty = req[i].qty
                        t.display = req[i].display_qty
                        t.keep_display = False
                        t.owner = req[i].owner
                        t.stp = req[i].stp
                        if req[i].kind == LIMIT:
                            t.price = req[i].price
                            t.tif = req[i].tif
                            t.market = False
                            t.post_only = req[i].flags & 1
                        else:                    # a market order: tif and flags do not apply
                            t.price = INT64_MAX if req[i].side == 0 else -INT64_MAX - 1
                            t.tif = IOC
                            t.market = True
                            t.post_only = False
                        if <unsigned>t.side > 1:
                            status = lob_fail(f, LOB_E_SIDE, t.order_id, t.side, t.price, t.qty)
                        elif t.qty <= 0:
                            status = lob_fail(f, LOB_E_QTY, t.order_id, t.side, t.price, t.qty)
                        elif req[i].kind == LIMIT and (req[i].tif > 2 or (t.post_only and req[i].tif != GTC)):
                            status = lob_fail(f, LOB_E_TIF, t.order_id, t.side, t.price, t.qty)
                        elif t.display < 0:
                            status = lob_fail(f, LOB_E_DISPLAY, t.order_id, t.side, t.price, t.display)
                        elif t.display and (req[i].kind == MARKET or req[i].tif != GTC):
                            status = lob_fail(f, LOB_E_TIF, t.order_id, t.side, t.price, t.qty)
                        elif req[i].stp > 3:
                            status = lob_fail(f, LOB_E_STP, t.order_id, t.side, t.price, t.qty)
                        else:
                            status = self.c_submit(&t, req[i].ts, &outcome, &filled, &remaining)
                    elif req[i].kind == CANCEL_REQUEST:
                        status = self.c_cancel_order(req[i].order_id, req[i].ts, &was)
                        outcome = CANCELLED
                    elif req[i].kind == MODIFY_REQUEST:
                        status = self.c_modify_order(req[i].order_id, req[i].price, req[i].qty, req[i].ts,
                                                     &outcome, &filled, &remaining)
                    else:
                        status = lob_fail(f, LOB_E_KIND, req[i].order_id, req[i].side, req[i].price, req[i].qty)
                    status = self.end(status, before, req[i].kind)
                    if status:
                        self.nfills = start
                        self.nstps = stp_start
                        if not skip or LOB_FATAL(status):
                            break
                        rejected[status & 31] += 1
                        outcome = REFUSED
                        filled = 0
                        remaining = 0
                        was = 0
                    row[i].status = outcome
                    row[i].filled = filled
                    row[i].remaining = remaining
                    row[i].cancelled = was if req[i].kind == CANCEL_REQUEST else (
                        req[i].qty - filled - remaining if req[i].qty > 0 else 0)
                    row[i].first_fill = start
                    row[i].n_fills = self.nfills - start
                    status = 0
                    i += 1
        finally:
            core_leave(self.core)
        fills = np.empty(self.nfills, dtype=FILL_DTYPE)
        if self.nfills:
            memcpy(cnp.PyArray_DATA(fills), self.fills, self.nfills * sizeof(Fill))
        stps = np.empty(self.nstps, dtype=SELF_TRADE_DTYPE)
        if self.nstps:
            memcpy(cnp.PyArray_DATA(stps), self.stps, self.nstps * sizeof(SelfTrade))
        self.last_self_trades = stps
        self.last_rejected = {REASONS.get(c, str(c)): int(rejected[c]) for c in range(32) if rejected[c]}
        if i < n:
            raise self._request_error(orders, i, fills, reports, stps)
        if self_trades is not None:
            warnings.warn("submit_many(..., self_trades=True) is deprecated: submit_many returns (fills, "
                          "reports); read eng.last_self_trades", DeprecationWarning, stacklevel=2)
            if self_trades:
                return fills, reports, stps
        return fills, reports

    def _request_error(self, orders, Py_ssize_t index, fills, reports, stps):
        """lob.EventError for request `index` (a valid index) from the failure's context."""
        cdef lob_failure *f = &self.core.fail
        r = orders[index]
        kind, oid, side, price, qty = (int(r["kind"]), int(r["order_id"]), int(r["side"]), int(r["price"]),
                                       int(r["qty"]))
        context = failure_context(f)
        if f.code == LOB_E_TIF:
            context["detail"] = (f"tif must be 0 (GTC), 1 (IOC) or 2 (FOK), and post only and display_qty need "
                                 f"a GTC limit; got kind={kind} tif={int(r['tif'])} flags={int(r['flags'])} "
                                 f"display_qty={int(r['display_qty'])}")
        elif f.code == LOB_E_STP:
            context["detail"] = str(int(r["stp"]))
        elif f.code == LOB_E_KIND:
            context["kinds"] = "1 (limit), 2 (market), 3 (cancel) or 4 (modify) (lob.RequestKind)"
        cause = _error(f.code, **context)
        err = EventError(f"request {index} (kind {kind} order_id={oid} side={side} price={price} qty={qty}): "
                         f"{cause}", index, reason=REASONS.get(f.code), kind=kind, order_id=oid, side=side,
                         price=price, qty=qty)
        err.fills = fills
        err.reports = reports[:index]
        err.self_trades = stps
        err.__cause__ = cause
        return err


def _rebuild_engine(book_state, extras):
    eng = MatchingEngine()
    eng._restore(book_state, extras)
    return eng
