# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""MatchingEngine: an OrderBook that matches incoming orders, price-time.

A crossing order trades at each resting order's price, best price first,
FIFO within a price, until it is filled or no longer crosses.  Fills go
straight to the maker's pool slot (no id lookup per fill) and record the
trade in the book's flow with the taker as the aggressor.  The matching loop
holds no Python objects.

Beyond the contract: icebergs (only `display_qty` of the order is in the
book; each refill goes to the back of the queue) and self-trade prevention
by `owner` (modes "cancel_taker", "cancel_maker", "cancel_both",
"decrement").  The hidden reserve, owner and mode of such orders live in an
array beside the book indexed by pool slot, flagged in the book's
Order.flags, so plain orders pay nothing for them.
"""
from libc.stdint cimport int64_t, uint64_t, uint32_t, INT64_MAX
from libc.stdlib cimport realloc, free
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_FromStringAndSize

from lob._book cimport (OrderBook, Level, Order, lob_ladder, lob_pxmap_find, best_key_price, LOB_NIL, LOB_PXMAP_EMPTY,
                        E_SIDE, E_QTY, E_DUPLICATE, E_UNKNOWN, E_NOMEM, E_OVERFLOW, E_KIND)
from lob._convert cimport to_int64, to_uint64, to_side

cimport numpy as cnp
import numpy as np

from lob.dtypes import FILL_DTYPE, ORDER_DTYPE, REPORT_DTYPE, SELF_TRADE_DTYPE
from lob.engine_order import EngineOrder as _EngineOrder

cnp.import_array()

# the C structs must mirror the dtypes
if (sizeof(Fill), sizeof(OrderRequest), sizeof(ReportRow), sizeof(SelfTrade)) != (
        FILL_DTYPE.itemsize, ORDER_DTYPE.itemsize, REPORT_DTYPE.itemsize, SELF_TRADE_DTYPE.itemsize):
    raise ImportError("lob._engine: a C struct does not match its NumPy dtype")

OUTCOMES = ("filled", "partial", "resting", "cancelled", "rejected")
STP_MODES = ("cancel_taker", "cancel_maker", "cancel_both", "decrement")
TIFS = {"GTC": GTC, "IOC": IOC, "FOK": FOK}
_GTC = "GTC"
_STP_CODES = {name: code for code, name in enumerate(STP_MODES)}
_CANCEL_TAKER = STP_MODES[0]

cdef enum:
    E_TIF = 11          # submit_many: tif not 0..2, post only without GTC, or an iceberg without GTC
    E_DISPLAY = 12      # submit_many: display_qty < 0
    E_STP = 13          # submit_many: stp not 0..3

_NO_FILLS = np.zeros(0, dtype=FILL_DTYPE)
_NO_FILLS.flags.writeable = False
_NO_SELF_TRADES = np.zeros(0, dtype=SELF_TRADE_DTYPE)
_NO_SELF_TRADES.flags.writeable = False


cdef int grow_rows(void **rows, Py_ssize_t *cap, Py_ssize_t used, size_t item) noexcept nogil:
    """Room for one more row of `item` bytes in a buffer of `cap` rows
    (doubling, from 16); E_NOMEM leaves it as it was."""
    cdef Py_ssize_t new_cap
    cdef void *grown
    if used < cap[0]:
        return 0
    new_cap = 16 if cap[0] == 0 else cap[0] * 2
    grown = realloc(rows[0], new_cap * item)
    if grown == NULL:
        return E_NOMEM
    rows[0] = grown
    cap[0] = new_cap
    return 0


cdef inline int64_t min64(int64_t a, int64_t b) noexcept nogil:
    return a if a < b else b


cdef inline bint outside(int side, int64_t level_price, int64_t limit) noexcept nogil:
    """Is an opposite level at level_price beyond the limit of a `side` order?"""
    return level_price > limit if side == 0 else level_price < limit


cdef int _tif_code(object tif) except -1:
    if tif is _GTC:                   # the default: skip the dict
        return GTC
    try:
        return TIFS[tif]
    except (KeyError, TypeError):
        raise ValueError(f"tif must be 'GTC', 'IOC' or 'FOK', got {tif!r}") from None


cdef int _stp_code(object stp) except -1:
    if stp is _CANCEL_TAKER:          # the default: skip the dict
        return CANCEL_TAKER
    try:
        return _STP_CODES[stp]
    except (KeyError, TypeError):
        raise ValueError(f"stp must be one of {STP_MODES}, got {stp!r}") from None


cdef class Report:
    """What one request did.

    status: "filled" (all of it traded), "partial" (some traded; the rest
    rests for GTC or was dropped), "resting" (nothing traded, something
    rests), "cancelled" (nothing traded, nothing rests: IOC / market with
    nothing to trade, or self-trade prevention took it), "rejected"
    (post-only would trade, or FOK could not fill in full: nothing traded,
    book unchanged).
    filled: qty traded.  remaining: qty left resting, visible + hidden (0 if
    none rests).
    fills: lob.FILL_DTYPE array (taker_id, maker_id, price, qty,
    maker_remaining) in execution order; read-only, empty when nothing traded.
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
    """A venue simulator: an OrderBook (allow_cross=False) that matches.

    Prices, quantities and ids as in OrderBook (integer ticks and shares).
    Read `book` for the book and its signals; write through the engine (an
    iceberg's hidden reserve and an order's owner live in the engine, so
    writing to the book directly would bypass them).
    """

    def __cinit__(self):
        self.book = OrderBook()
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

    def __dealloc__(self):
        free(self.fills)
        free(self.stps)
        free(self.extra)

    # ------------------------------------------------------------------
    # C level: buffers and the per-order extras

    cdef int push_fill(self, uint64_t taker, uint64_t maker, int64_t price, int64_t qty,
                       int64_t maker_left) noexcept nogil:
        cdef Fill *f
        if grow_rows(<void **>&self.fills, &self.fills_cap, self.nfills, sizeof(Fill)):
            return E_NOMEM
        f = &self.fills[self.nfills]
        f.taker_id = taker
        f.maker_id = maker
        f.price = price
        f.qty = qty
        f.maker_remaining = maker_left
        self.nfills += 1
        return 0

    cdef int push_stp(self, uint64_t taker, uint64_t maker, int64_t taker_removed,
                      int64_t maker_removed, int64_t maker_left) noexcept nogil:
        cdef SelfTrade *r
        if grow_rows(<void **>&self.stps, &self.stps_cap, self.nstps, sizeof(SelfTrade)):
            return E_NOMEM
        r = &self.stps[self.nstps]
        r.taker_id = taker
        r.maker_id = maker
        r.taker_removed = taker_removed
        r.maker_removed = maker_removed
        r.maker_remaining = maker_left
        self.nstps += 1
        return 0

    cdef int reserve_extra(self) noexcept nogil:
        """Room for one more order in the book's pool and in `extra`, so an
        order can rest with extras after matching without any allocation."""
        cdef int status = self.book.reserve_order()
        cdef EngineOrder *grown
        if status:
            return status
        if self.extra_cap < self.book.orders_cap:
            grown = <EngineOrder *>realloc(self.extra, <size_t>self.book.orders_cap * sizeof(EngineOrder))
            if grown == NULL:
                return E_NOMEM
            self.extra = grown
            self.extra_cap = self.book.orders_cap
        return 0

    cdef void set_extra(self, uint32_t slot, int64_t hidden, int64_t display, uint64_t owner,
                        int stp) noexcept nogil:
        cdef EngineOrder *x = &self.extra[slot]
        cdef Order *o = &self.book.orders[slot]
        if not (o.flags & HAS_EXTRA):
            o.flags |= HAS_EXTRA
            self.n_extra += 1
        self.set_hidden(x, hidden)
        x.display = display
        x.owner = owner
        x.stp = stp

    cdef void set_hidden(self, EngineOrder *x, int64_t hidden) noexcept nogil:
        """Set a reserve, keeping hidden_bound an upper bound of their sum (it
        only grows while any order has extras; decreases are not tracked)."""
        x.hidden = hidden
        if hidden > 0:
            self.hidden_bound = (self.hidden_bound + <uint64_t>hidden
                                 if self.hidden_bound + <uint64_t>hidden >= self.hidden_bound else <uint64_t>-1)

    cdef void remove_slot(self, uint32_t slot) noexcept nogil:
        """The order at `slot` leaves the book (no trade recorded)."""
        if self.book.orders[slot].flags & HAS_EXTRA:
            self.book.orders[slot].flags = 0
            self.n_extra -= 1
            if self.n_extra == 0:
                self.hidden_bound = 0
        self.book.unlink(slot)
        self.book.release_order(slot)

    cdef int64_t hidden_at(self, uint32_t slot) noexcept nogil:
        return self.extra[slot].hidden if self.book.orders[slot].flags & HAS_EXTRA else 0

    cdef int level_room(self, int side, int64_t price, int64_t add, uint32_t exclude) noexcept nogil:
        """E_OVERFLOW unless the level at (side, price), hidden reserves
        included and the order at `exclude` left out, can take `add` more.
        Holding this for every order that rests means an iceberg refill can
        never overflow its level's total in the middle of a match."""
        cdef uint32_t level = lob_pxmap_find(&self.book.pxmap[side], price)
        cdef uint32_t slot
        cdef int64_t total, room
        if level == LOB_PXMAP_EMPTY:
            return 0
        total = self.book.levels[level].qty
        room = INT64_MAX - total
        if self.hidden_bound < <uint64_t>room and add <= room - <int64_t>self.hidden_bound:
            return 0                 # every reserve in the book would fit: no need to walk the level
        slot = self.book.levels[level].head
        while slot != LOB_NIL:
            if slot == exclude:
                total -= self.book.orders[slot].qty
            elif self.n_extra:
                total += self.hidden_at(slot)
            slot = self.book.orders[slot].next
        if add > INT64_MAX - total:
            return E_OVERFLOW
        return 0

    # ------------------------------------------------------------------
    # C level: matching

    cdef bint crosses(self, int side, int64_t limit, bint market) noexcept nogil:
        """Would an order of `side` at `limit` trade against the best level?"""
        cdef int opp = 1 - side
        if self.book.ladder[opp].n == 0:
            return False
        if market:
            return True
        return not outside(side, best_key_price(&self.book.ladder[opp], opp), limit)

    cdef int64_t crossing_qty(self, const Taker *t, int64_t want, bint stop_at_self) noexcept nogil:
        """Qty the taker could trade (visible + hidden, anonymous seeded qty
        excluded, its owner's orders excluded), counted until `want`.

        stop_at_self: count as matching would reach it when meeting an own
        order stops the taker's fills (every mode but cancel_maker): earlier
        levels in full, at that level only the visible qty queued ahead
        (refills there would go behind the own order)."""
        cdef lob_ladder *lad = &self.book.ladder[1 - t.side]
        cdef Py_ssize_t i = <Py_ssize_t>lad.n - 1
        cdef Level *lvl
        cdef Order *o
        cdef uint32_t slot
        cdef int64_t total = 0, visible, hidden
        while i >= 0 and total < want:
            lvl = &self.book.levels[lad.levels[i]]
            if not t.market and outside(t.side, lvl.price, t.price):
                break
            if self.n_extra == 0:
                total += lvl.qty - lvl.anon
            else:
                visible = 0
                hidden = 0
                slot = lvl.head
                while slot != LOB_NIL:
                    o = &self.book.orders[slot]
                    if (o.flags & HAS_EXTRA) and t.owner and self.extra[slot].owner == t.owner:
                        if stop_at_self:
                            return total + visible
                    else:
                        visible += o.qty
                        hidden += self.hidden_at(slot)
                    slot = o.next
                total += visible + hidden
            i -= 1
        return total

    cdef int prevent(self, const Taker *t, uint32_t slot, int64_t *left, bint *stopped) noexcept nogil:
        """The taker meets its owner's order at `slot`: apply its STP mode."""
        cdef Order *o = &self.book.orders[slot]
        cdef EngineOrder *x = &self.extra[slot]
        cdef uint64_t maker = o.order_id
        cdef int64_t total = o.qty + x.hidden, d, from_hidden, from_visible
        cdef Level *lvl
        if t.stp == CANCEL_TAKER:
            stopped[0] = True
            d = left[0]
            left[0] = 0
            return self.push_stp(t.order_id, maker, d, 0, total)
        if t.stp == CANCEL_MAKER:
            self.remove_slot(slot)
            return self.push_stp(t.order_id, maker, 0, total, 0)
        if t.stp == CANCEL_BOTH:
            stopped[0] = True
            d = left[0]
            left[0] = 0
            self.remove_slot(slot)
            return self.push_stp(t.order_id, maker, d, total, 0)
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
            lvl = &self.book.levels[o.level]
            lvl.qty -= from_visible
        return self.push_stp(t.order_id, maker, d, d, total - d)

    cdef int match(self, const Taker *t, int64_t *left, int64_t *filled, bint *stopped) noexcept nogil:
        """Trade `left` against the opposite side while it crosses."""
        cdef lob_ladder *lad = &self.book.ladder[1 - t.side]
        cdef Level *lvl
        cdef Order *o
        cdef EngineOrder *x
        cdef uint32_t slot
        cdef int64_t price, fill, maker_left, refill
        cdef uint64_t maker
        cdef int status
        while left[0] > 0 and lad.n and self.crosses(t.side, t.price, t.market):
            lvl = &self.book.levels[lad.levels[lad.n - 1]]
            slot = lvl.head
            if slot == LOB_NIL:
                break                  # only anonymous (seeded) qty: nothing to trade against
            o = &self.book.orders[slot]
            if (o.flags & HAS_EXTRA) and t.owner and self.extra[slot].owner == t.owner:
                status = self.prevent(t, slot, left, stopped)
                if status or stopped[0]:
                    return status
                continue
            price = lvl.price
            maker = o.order_id
            fill = min64(o.qty, left[0])
            self.book.c_record_trade(t.side, price, fill)
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
                status = self.book.c_requeue(slot, refill)   # cannot overflow: level_room held
                if status:
                    return status
                maker_left = refill + x.hidden
            else:
                maker_left = 0
                self.remove_slot(slot)
            status = self.push_fill(t.order_id, maker, price, fill, maker_left)
            if status:
                return status
        return 0

    cdef int c_submit(self, const Taker *t, int *outcome, int64_t *filled,
                      int64_t *remaining) noexcept nogil:
        cdef int64_t left = t.qty, visible
        cdef int status
        cdef bint crossing, stopped = False, may_rest, iceberg
        cdef uint32_t slot
        filled[0] = 0
        remaining[0] = 0
        if <unsigned>t.side > 1:
            return E_SIDE
        if t.qty <= 0:
            return E_QTY
        if self.book.c_find(t.order_id) != LOB_NIL:
            return E_DUPLICATE
        # checked up front, so no fill can fail on it midway: only what can trade counts
        if self.book.flow_room(t.side, t.qty) and self.book.flow_room(
                t.side, self.crossing_qty(t, t.qty, False)):
            return E_OVERFLOW
        crossing = self.crosses(t.side, t.price, t.market)
        if t.post_only and crossing:
            outcome[0] = REJECTED
            return 0
        if t.tif == FOK and self.crossing_qty(t, t.qty, t.stp != CANCEL_MAKER) < t.qty:
            outcome[0] = REJECTED
            return 0
        may_rest = t.tif == GTC and not t.market
        iceberg = t.display > 0 and (t.display < t.qty or t.keep_display)
        if may_rest and (iceberg or t.owner):
            status = self.reserve_extra()
            if status:
                return status
        if may_rest and not crossing and (iceberg or self.n_extra):
            # a crossing order rests at a fresh level (the book is never crossed)
            status = self.level_room(t.side, t.price, t.qty, LOB_NIL)
            if status:
                return status
        if crossing:
            status = self.match(t, &left, filled, &stopped)
            if status:
                return status
        if left and may_rest and not stopped:
            visible = min64(t.display, left) if iceberg else left
            status = self.book.c_add(t.order_id, t.side, t.price, visible)
            if status:
                return status
            if iceberg or t.owner:
                slot = self.book.c_find(t.order_id)
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
        return 0

    cdef int c_cancel_order(self, uint64_t order_id, int64_t *out_qty) noexcept nogil:
        cdef uint32_t slot = self.book.c_find(order_id)
        if slot == LOB_NIL:
            return E_UNKNOWN
        out_qty[0] = self.book.orders[slot].qty + self.hidden_at(slot)
        self.remove_slot(slot)
        return 0

    cdef int c_modify_order(self, uint64_t order_id, int64_t price, int64_t qty, int *outcome,
                            int64_t *filled, int64_t *remaining) noexcept nogil:
        cdef uint32_t slot
        cdef Order *o
        cdef EngineOrder *x = NULL
        cdef int side, status
        cdef int64_t visible
        cdef Taker t
        if qty <= 0:
            return E_QTY
        slot = self.book.c_find(order_id)
        if slot == LOB_NIL:
            return E_UNKNOWN
        o = &self.book.orders[slot]
        side = self.book.levels[o.level].side
        if o.flags & HAS_EXTRA:
            x = &self.extra[slot]
        filled[0] = 0
        if not self.crosses(side, price, False):
            outcome[0] = RESTING
            remaining[0] = qty
            if x == NULL or x.display == 0:
                if self.n_extra:
                    status = self.level_room(side, price, qty, slot)
                    if status:
                        return status
                return self.book.c_modify(order_id, price, qty)
            if price == self.book.levels[o.level].price and qty <= o.qty + x.hidden:
                # same price, total not growing: keeps its place; the reserve shrinks first
                visible = min64(o.qty, qty)
                status = self.book.c_modify(order_id, price, visible)
                if status:
                    return status
                x.hidden = qty - visible             # smaller: hidden_bound still holds
                return 0
            status = self.level_room(side, price, qty, slot)
            if status:
                return status
            visible = min64(x.display, qty)
            if price == self.book.levels[o.level].price:
                status = self.book.c_requeue(slot, visible)
            else:
                status = self.book.c_modify(order_id, price, visible)
            if status:
                return status
            self.set_hidden(&self.extra[slot], qty - visible)     # c_modify keeps the slot
            return 0
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
        if self.book.flow_room(side, qty) and self.book.flow_room(side, self.crossing_qty(&t, qty, False)):
            return E_OVERFLOW
        status = self.reserve_extra()
        if status:
            return status
        self.remove_slot(slot)
        return self.c_submit(&t, outcome, filled, remaining)

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

    # ------------------------------------------------------------------
    # Python

    def submit(self, order_id, side, price, qty, tif="GTC", post_only=False, *, display_qty=None,
               owner=None, stp="cancel_taker"):
        """Submit a limit order; returns a lob.Report.

        order_id: int in [0, 2**64), not resting.  side: 0 (BID, buy) or 1
        (ASK, sell).  price: int64 limit (ticks).  qty: int64 > 0 (shares).
        tif: "GTC" (the rest rests), "IOC" (the rest is dropped) or "FOK"
        (all of it trades at once, or nothing: status "rejected").
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
            no trade; the resting order's hidden reserve goes first).
            Each appears in Report.self_trades.
        Malformed input raises as OrderBook.add does and changes nothing.
        """
        cdef Taker t
        cdef int outcome = RESTING, status, s
        cdef int64_t filled, remaining
        t.order_id = to_uint64(order_id, "order_id")
        s = to_side(side)
        t.price = to_int64(price, "price")
        t.qty = to_int64(qty, "qty")
        t.display = to_int64(display_qty, "display_qty") if display_qty is not None else 0
        t.owner = to_uint64(owner, "owner") if owner is not None else 0
        if s < 0:
            self.book.raise_status(E_SIDE, t.order_id, s, t.price, t.qty, side)
        if t.qty <= 0:
            self.book.raise_status(E_QTY, t.order_id, s, t.price, t.qty, side)
        t.tif = _tif_code(tif)
        if post_only and t.tif != GTC:
            raise ValueError(f"post_only needs tif='GTC', got tif={tif!r}")
        if display_qty is not None:
            if t.display < 1:
                raise ValueError(f"display_qty must be >= 1, got {display_qty!r}")
            if t.tif != GTC:
                raise ValueError(f"display_qty (an iceberg) needs tif='GTC', got tif={tif!r}")
        t.stp = _stp_code(stp)
        t.side = s
        t.post_only = bool(post_only)
        t.market = False
        t.keep_display = False
        self.book.guard()
        self.nfills = 0
        self.nstps = 0
        status = self.c_submit(&t, &outcome, &filled, &remaining)
        if status:
            self.book.raise_status(status, t.order_id, s, t.price, t.qty, side)
        return self.report(outcome, filled, remaining)

    def market(self, order_id, side, qty, *, owner=None, stp="cancel_taker"):
        """A market order: IOC at any price; returns a lob.Report (status
        "filled", "partial" or "cancelled").  owner, stp: as in submit."""
        cdef Taker t
        cdef int outcome = CANCELLED, status, s
        cdef int64_t filled, remaining
        t.order_id = to_uint64(order_id, "order_id")
        s = to_side(side)
        t.qty = to_int64(qty, "qty")
        t.owner = to_uint64(owner, "owner") if owner is not None else 0
        if s < 0:
            self.book.raise_status(E_SIDE, t.order_id, s, 0, t.qty, side)
        if t.qty <= 0:
            self.book.raise_status(E_QTY, t.order_id, s, 0, t.qty, side)
        t.stp = _stp_code(stp)
        t.side = s
        t.price = INT64_MAX if s == 0 else -INT64_MAX - 1
        t.tif = IOC
        t.post_only = False
        t.market = True
        t.display = 0
        t.keep_display = False
        self.book.guard()
        self.nfills = 0
        self.nstps = 0
        status = self.c_submit(&t, &outcome, &filled, &remaining)
        if status:
            self.book.raise_status(status, t.order_id, s, 0, t.qty, side)
        return self.report(outcome, filled, remaining)

    def cancel(self, order_id):
        """Cancel a resting order; returns the qty it had, visible + hidden (shares)."""
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t was = 0
        self.book.guard()
        if self.c_cancel_order(oid, &was):
            self.book.raise_status(E_UNKNOWN, oid, 0, 0, 0)
        return was

    def modify(self, order_id, price, qty):
        """Cancel-replace a resting order; returns a lob.Report.

        price: the new limit (ticks); qty: the new qty (shares; for an
        iceberg the new total, visible + hidden).  It keeps its queue place
        only when the price is unchanged and qty does not grow (status
        "resting"; an iceberg's reserve shrinks first).  A new price that
        crosses the book trades as a GTC order with the same id, display,
        owner and stp mode (fills, then the rest rests at the back of the
        queue); otherwise the order goes to the back of the queue at its new
        price (an iceberg with a fresh slice of display_qty).
        """
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int outcome = RESTING, status
        cdef int64_t filled = 0, remaining = q
        self.book.guard()
        self.nfills = 0
        self.nstps = 0
        status = self.c_modify_order(oid, p, q, &outcome, &filled, &remaining)
        if status:
            self.book.raise_status(status, oid, 0, p, q, 0)
        return self.report(outcome, filled, remaining)

    def order(self, order_id):
        """A resting order as the engine sees it: lob.EngineOrder(side, price,
        qty, hidden_qty, display_qty, owner).  qty is the visible part (what
        the book shows); display_qty and owner are None when not set."""
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef uint32_t slot
        cdef Order *o
        cdef EngineOrder *x
        self.book.guard()
        slot = self.book.c_find(oid)
        if slot == LOB_NIL:
            self.book.raise_status(E_UNKNOWN, oid, 0, 0, 0)
        o = &self.book.orders[slot]
        side = <int>self.book.levels[o.level].side
        price = self.book.levels[o.level].price
        if not (o.flags & HAS_EXTRA):
            return _EngineOrder(side, price, o.qty, 0, None, None)
        x = &self.extra[slot]
        return _EngineOrder(side, price, o.qty, x.hidden, x.display or None, x.owner or None)

    def check(self):
        """Verify the book's invariants and the engine's own (every iceberg
        shows at most display_qty, reserves are >= 0, the count of orders
        with extras; no level's total with reserves passes int64); raises
        AssertionError naming the first broken one.  For tests."""
        cdef uint32_t slot
        cdef Order *o
        cdef EngineOrder *x
        cdef Py_ssize_t flagged = 0
        self.book.check()
        for slot in range(self.book.orders_used):
            o = &self.book.orders[slot]
            if not (o.flags & HAS_EXTRA) or self.book.c_find(o.order_id) != slot:
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
            for price in self.book.depth(1 << 30)[2 * side].tolist():
                total = self.book.level_qty(side, price) + sum(self.order(i).hidden_qty
                                                               for i in self.book.orders_at(side, price))
                if total > INT64_MAX:
                    raise AssertionError(f"level (side={side}, price={price}): total with reserves "
                                         f"{total} passes int64")

    def submit_many(self, orders, self_trades=False):
        """Run an array of lob.ORDER_DTYPE requests in order, in C, without
        the GIL; returns (fills, reports), or (fills, reports, self_trades)
        with self_trades=True.

        Request kinds: 1 limit (tif 0 GTC / 1 IOC / 2 FOK; flags bit 0 post
        only; display_qty > 0 makes a GTC order an iceberg), 2 market, 3
        cancel, 4 modify (price and qty are the new ones).  owner (0: none)
        and stp (0 cancel_taker, 1 cancel_maker, 2 cancel_both, 3 decrement;
        index lob.STP_MODES) as in submit.
        fills: every fill (lob.FILL_DTYPE) in execution order.  reports: one
        lob.REPORT_DTYPE row per request: status (0 filled, 1 partial, 2
        resting, 3 cancelled, 4 rejected; index lob.OUTCOMES), filled,
        remaining (resting, visible + hidden), cancelled (qty that neither
        traded nor rests: a cancel request's resting qty, an IOC's or
        market's rest, qty removed by self-trade prevention, a refused
        order's qty), first_fill and n_fills (its rows of `fills`).
        self_trades: every prevented self-trade (lob.SELF_TRADE_DTYPE).

        The results equal the same requests made one call at a time.  A
        malformed request stops the batch with lob.EventError (.index: every
        request before it applied, none from it on; .fills, .reports and
        .self_trades hold the results before it), as OrderBook.apply does.
        """
        if not isinstance(orders, np.ndarray) or orders.dtype != ORDER_DTYPE or orders.ndim != 1:
            raise TypeError(f"orders must be a 1-d NumPy array of lob.ORDER_DTYPE, got "
                            f"{getattr(orders, 'dtype', type(orders).__name__)!r}")
        orders = np.ascontiguousarray(orders)
        cdef Py_ssize_t n = orders.shape[0], i = 0
        cdef const unsigned char[::1] order_bytes = orders.view(np.uint8).reshape(-1)
        cdef const OrderRequest *req = <const OrderRequest *>&order_bytes[0] if n else NULL
        reports = np.zeros(n, dtype=REPORT_DTYPE)
        cdef unsigned char[::1] report_bytes = reports.view(np.uint8).reshape(-1)
        cdef ReportRow *row = <ReportRow *>&report_bytes[0] if n else NULL
        cdef int status = 0, outcome
        cdef int64_t filled, remaining, was
        cdef Py_ssize_t start, stp_start
        cdef Taker t
        self.book.guard()
        self.nfills = 0
        self.nstps = 0
        self.book.busy = True
        try:
            with nogil:
                while i < n:
                    start = self.nfills
                    stp_start = self.nstps
                    outcome = RESTING
                    filled = 0
                    remaining = 0
                    was = 0
                    if req[i].kind == 1 or req[i].kind == 2:
                        t.order_id = req[i].order_id
                        t.side = req[i].side
                        t.qty = req[i].qty
                        t.display = req[i].display_qty
                        t.keep_display = False
                        t.owner = req[i].owner
                        t.stp = req[i].stp
                        if req[i].kind == 1:
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
                            status = E_SIDE
                        elif t.qty <= 0:
                            status = E_QTY
                        elif req[i].kind == 1 and (req[i].tif > 2 or (t.post_only and req[i].tif != GTC)):
                            status = E_TIF
                        elif t.display < 0:
                            status = E_DISPLAY
                        elif t.display and (req[i].kind == 2 or req[i].tif != GTC):
                            status = E_TIF
                        elif req[i].stp > 3:
                            status = E_STP
                        else:
                            status = self.c_submit(&t, &outcome, &filled, &remaining)
                    elif req[i].kind == 3:
                        status = self.c_cancel_order(req[i].order_id, &was)
                        outcome = CANCELLED
                    elif req[i].kind == 4:
                        status = self.c_modify_order(req[i].order_id, req[i].price, req[i].qty, &outcome,
                                                     &filled, &remaining)
                    else:
                        status = E_KIND
                    if status:
                        self.nfills = start
                        self.nstps = stp_start
                        break
                    row[i].status = outcome
                    row[i].filled = filled
                    row[i].remaining = remaining
                    row[i].cancelled = was if req[i].kind == 3 else req[i].qty - filled - remaining
                    row[i].first_fill = start
                    row[i].n_fills = self.nfills - start
                    i += 1
        finally:
            self.book.busy = False
        fills = np.empty(self.nfills, dtype=FILL_DTYPE)
        if self.nfills:
            memcpy(cnp.PyArray_DATA(fills), self.fills, self.nfills * sizeof(Fill))
        stps = np.empty(self.nstps, dtype=SELF_TRADE_DTYPE)
        if self.nstps:
            memcpy(cnp.PyArray_DATA(stps), self.stps, self.nstps * sizeof(SelfTrade))
        if i < n:
            self._raise_request(orders, i, status, fills, reports, stps)
        return (fills, reports, stps) if self_trades else (fills, reports)

    cdef _raise_request(self, orders, Py_ssize_t index, int status, fills, reports, stps):
        from lob.errors import EventError
        r = orders[index]
        oid, side, price, qty = int(r["order_id"]), int(r["side"]), int(r["price"]), int(r["qty"])
        try:
            if status == E_TIF:
                raise ValueError(f"tif must be 0 (GTC), 1 (IOC) or 2 (FOK), and post only and display_qty "
                                 f"need a GTC limit; got kind={int(r['kind'])} tif={int(r['tif'])} "
                                 f"flags={int(r['flags'])} display_qty={int(r['display_qty'])}")
            if status == E_DISPLAY:
                raise ValueError(f"display_qty must be >= 0 (0: a plain order), got {int(r['display_qty'])}")
            if status == E_STP:
                raise ValueError(f"stp must be 0 (cancel_taker), 1 (cancel_maker), 2 (cancel_both) or "
                                 f"3 (decrement), got {int(r['stp'])}")
            if status == E_KIND:
                raise ValueError(f"kind must be 1 (limit), 2 (market), 3 (cancel) or 4 (modify), got {int(r['kind'])}")
            self.book.raise_status(status, <uint64_t>oid, side, price, qty, side)
        except Exception as exc:
            cause = exc
        err = EventError(f"request {index} (kind {int(r['kind'])} order_id={oid} side={side} price={price} "
                         f"qty={qty}): {cause}", index)
        err.fills = fills
        err.reports = reports[:index]
        err.self_trades = stps
        raise err from cause
