# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""MatchingEngine: an OrderBook that matches incoming orders, price-time.

A crossing order trades at each resting order's price, best price first,
FIFO within a price, until it is filled or no longer crosses.  Each fill
executes the maker through the book's C-level execute, so the book's
trade-flow signals see the taker as the aggressor.  The matching loop holds
no Python objects.
"""
from libc.stdint cimport int64_t, uint64_t, uint32_t, INT64_MAX
from libc.stdlib cimport realloc, free
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_FromStringAndSize

from lob._book cimport (OrderBook, Level, Order, lob_ladder, LOB_NIL, E_SIDE, E_QTY, E_DUPLICATE,
                        E_UNKNOWN, E_NOMEM, E_OVERFLOW, E_KIND)
from lob._convert cimport to_int64, to_uint64, to_side

cimport numpy as cnp
import numpy as np

from lob.dtypes import FILL_DTYPE, ORDER_DTYPE, REPORT_DTYPE
from lob.errors import UnknownOrderError

cnp.import_array()

# the C structs must mirror the dtypes
if (sizeof(Fill), sizeof(OrderRequest), sizeof(ReportRow)) != (FILL_DTYPE.itemsize, ORDER_DTYPE.itemsize,
                                                                REPORT_DTYPE.itemsize):
    raise ImportError("lob._engine: a C struct does not match its NumPy dtype")

OUTCOMES = ("filled", "partial", "resting", "cancelled", "rejected")
TIFS = {"GTC": GTC, "IOC": IOC, "FOK": FOK}

cdef enum:
    E_TIF = 11          # submit_many: tif not 0..2, or post only without GTC

_NO_FILLS = np.zeros(0, dtype=FILL_DTYPE)
_NO_FILLS.flags.writeable = False


cdef inline int64_t top_price(OrderBook book, int side) noexcept nogil:
    cdef lob_ladder *lad = &book.ladder[side]
    return book.levels[lad.levels[lad.n - 1]].price


cdef class Report:
    """What one request did.

    status: "filled" (all of it traded), "partial" (some traded; the rest
    rests for GTC or was dropped for IOC / market), "resting" (nothing
    traded, all rests), "cancelled" (IOC / market, nothing traded),
    "rejected" (post-only would trade, or FOK could not fill in full:
    nothing traded, book unchanged).
    filled: qty traded.  remaining: qty left resting (0 if none rests).
    fills: lob.FILL_DTYPE array (taker_id, maker_id, price, qty,
    maker_remaining) in execution order; read-only and empty when nothing
    traded.
    """

    @property
    def fills(self):
        """The fills, a read-only lob.FILL_DTYPE array in execution order."""
        if self.fill_array is None:
            self.fill_array = (_NO_FILLS if not self.fill_bytes
                               else np.frombuffer(self.fill_bytes, dtype=FILL_DTYPE))
        return self.fill_array

    def __repr__(self):
        return (f"Report(status={self.status!r}, filled={self.filled}, remaining={self.remaining}, "
                f"fills={len(self.fill_bytes) // sizeof(Fill)})")


cdef class MatchingEngine:
    """A venue simulator: an OrderBook (allow_cross=False) that matches.

    Prices, quantities and ids as in OrderBook.  Read `book` for the book and
    its signals; write through the engine.
    """

    def __cinit__(self):
        self.book = OrderBook()
        self.fills = NULL
        self.nfills = 0
        self.fills_cap = 0

    def __dealloc__(self):
        free(self.fills)

    # ------------------------------------------------------------------
    # C level

    cdef int push_fill(self, uint64_t taker, uint64_t maker, int64_t price, int64_t qty,
                       int64_t maker_left) noexcept nogil:
        cdef Py_ssize_t cap
        cdef Fill *grown
        cdef Fill *f
        if self.nfills == self.fills_cap:
            cap = 64 if self.fills_cap == 0 else self.fills_cap * 2
            grown = <Fill *>realloc(self.fills, cap * sizeof(Fill))
            if grown == NULL:
                return E_NOMEM
            self.fills = grown
            self.fills_cap = cap
        f = &self.fills[self.nfills]
        f.taker_id = taker
        f.maker_id = maker
        f.price = price
        f.qty = qty
        f.maker_remaining = maker_left
        self.nfills += 1
        return 0

    cdef bint crosses(self, int side, int64_t limit, bint market) noexcept nogil:
        """Would an order of `side` at `limit` trade against the best level?"""
        cdef int opp = 1 - side
        if self.book.ladder[opp].n == 0:
            return False
        if market:
            return True
        if side == 0:
            return top_price(self.book, opp) <= limit
        return top_price(self.book, opp) >= limit

    cdef int64_t crossing_qty(self, int side, int64_t limit, bint market, int64_t want) noexcept nogil:
        """Qty resting at prices the order would trade at, counted until `want`."""
        cdef lob_ladder *lad = &self.book.ladder[1 - side]
        cdef Py_ssize_t i = <Py_ssize_t>lad.n - 1
        cdef Level *lvl
        cdef int64_t total = 0
        while i >= 0 and total < want:
            lvl = &self.book.levels[lad.levels[i]]
            if not market and ((side == 0 and lvl.price > limit) or (side == 1 and lvl.price < limit)):
                break
            total += lvl.qty - lvl.anon
            i -= 1
        return total

    cdef int match(self, uint64_t taker, int side, int64_t limit, bint market, int64_t *left) noexcept nogil:
        """Trade `left` against the opposite side while it crosses."""
        cdef lob_ladder *lad = &self.book.ladder[1 - side]
        cdef Level *lvl
        cdef uint32_t slot, next_slot
        cdef int64_t price, fill, maker_left
        cdef uint64_t maker
        cdef int status
        while left[0] > 0 and lad.n and self.crosses(side, limit, market):
            lvl = &self.book.levels[lad.levels[lad.n - 1]]
            price = lvl.price
            slot = lvl.head
            if slot == LOB_NIL:
                break                  # only anonymous (seeded) qty: nothing to trade against
            while left[0] > 0 and slot != LOB_NIL:
                next_slot = self.book.orders[slot].next
                maker = self.book.orders[slot].order_id
                fill = self.book.orders[slot].qty
                if fill > left[0]:
                    fill = left[0]
                status = self.book.c_execute(maker, fill, &maker_left)
                if status:
                    return status
                status = self.push_fill(taker, maker, price, fill, maker_left)
                if status:
                    return status
                left[0] -= fill
                slot = next_slot
        return 0

    cdef int c_submit(self, uint64_t order_id, int side, int64_t price, int64_t qty, int tif,
                      bint post_only, bint market, int *outcome, int64_t *filled,
                      int64_t *remaining) noexcept nogil:
        cdef int64_t left = qty
        cdef int status
        cdef bint crossing
        filled[0] = 0
        remaining[0] = 0
        if <unsigned>side > 1:
            return E_SIDE
        if qty <= 0:
            return E_QTY
        if self.book.c_find(order_id) != LOB_NIL:
            return E_DUPLICATE
        # checked up front, so no fill can fail on it midway: only what can trade counts
        if self.book.flow_room(side, qty) and self.book.flow_room(
                side, self.crossing_qty(side, price, market, qty)):
            return E_OVERFLOW
        crossing = self.crosses(side, price, market)
        if post_only and crossing:
            outcome[0] = REJECTED
            return 0
        if tif == FOK and self.crossing_qty(side, price, market, qty) < qty:
            outcome[0] = REJECTED
            return 0
        if crossing:
            status = self.match(order_id, side, price, market, &left)
            if status:
                return status
        filled[0] = qty - left
        if left == 0:
            outcome[0] = FILLED
        elif tif == GTC and not market:
            status = self.book.c_add(order_id, side, price, left)
            if status:
                return status
            remaining[0] = left
            outcome[0] = PARTIAL if filled[0] else RESTING
        else:
            outcome[0] = PARTIAL if filled[0] else CANCELLED
        return 0

    cdef Report report(self, int outcome, int64_t filled, int64_t remaining):
        cdef Report rep = Report.__new__(Report)
        cdef cnp.npy_intp n = self.nfills
        rep.status = OUTCOMES[outcome]
        rep.filled = filled
        rep.remaining = remaining
        # raw bytes now (one small copy); the NumPy array only if someone reads it
        rep.fill_bytes = PyBytes_FromStringAndSize(<char *>self.fills, n * sizeof(Fill)) if n else b""
        rep.fill_array = None
        return rep

    # ------------------------------------------------------------------
    # Python

    def submit(self, order_id, side, price, qty, tif="GTC", post_only=False):
        """Submit a limit order; returns a lob.Report.

        order_id: int in [0, 2**64), not resting.  side: 0 (BID, buy) or 1
        (ASK, sell).  price: int64 limit.  qty: int64 > 0.
        tif: "GTC" (the rest rests), "IOC" (the rest is dropped) or "FOK"
        (all of it trades at once, or nothing: status "rejected").
        post_only: refuse (status "rejected") instead of trading; GTC only.
        Malformed input raises as OrderBook.add does and changes nothing.
        """
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int s = to_side(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int t, outcome = RESTING, status
        cdef int64_t filled, remaining
        try:
            t = TIFS[tif]
        except (KeyError, TypeError):
            raise ValueError(f"tif must be 'GTC', 'IOC' or 'FOK', got {tif!r}") from None
        if post_only and t != GTC:
            raise ValueError(f"post_only needs tif='GTC', got tif={tif!r}")
        self.book.guard()
        self.nfills = 0
        status = self.c_submit(oid, s, p, q, t, post_only, False, &outcome, &filled, &remaining)
        if status:
            self.book.raise_status(status, oid, s, p, q, side)
        return self.report(outcome, filled, remaining)

    def market(self, order_id, side, qty):
        """A market order: IOC at any price; returns a lob.Report (status
        "filled", "partial" or "cancelled")."""
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int s = to_side(side)
        cdef int64_t q = to_int64(qty, "qty")
        cdef int outcome = CANCELLED, status
        cdef int64_t filled, remaining
        self.book.guard()
        self.nfills = 0
        status = self.c_submit(oid, s, INT64_MAX if s == 0 else -INT64_MAX - 1, q, IOC, False, True,
                               &outcome, &filled, &remaining)
        if status:
            self.book.raise_status(status, oid, s, 0, q, side)
        return self.report(outcome, filled, remaining)

    def cancel(self, order_id):
        """Cancel a resting order; returns the qty it had resting."""
        return self.book.cancel(order_id)

    def modify(self, order_id, price, qty):
        """Cancel-replace a resting order; returns a lob.Report.

        It keeps its queue place only when the price is unchanged and qty does
        not grow (status "resting").  A new price that crosses the book trades
        as a GTC order with the same id (fills, then the rest rests at the back
        of the queue); otherwise the order goes to the back of the queue at
        its new price.
        """
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int outcome = RESTING, status
        cdef int64_t filled = 0, remaining = q
        self.book.guard()
        self.nfills = 0
        status = self.c_modify_order(oid, p, q, &outcome, &filled, &remaining)
        if status:
            self.book.raise_status(status, oid, 0, p, q, 0)
        return self.report(outcome, filled, remaining)

    cdef int c_modify_order(self, uint64_t order_id, int64_t price, int64_t qty, int *outcome,
                            int64_t *filled, int64_t *remaining) noexcept nogil:
        cdef uint32_t slot
        cdef int side, status
        cdef int64_t was
        if qty <= 0:
            return E_QTY
        slot = self.book.c_find(order_id)
        if slot == LOB_NIL:
            return E_UNKNOWN
        side = self.book.levels[self.book.orders[slot].level].side
        if not self.crosses(side, price, False):
            status = self.book.c_modify(order_id, price, qty)
            if status:
                return status
            outcome[0] = RESTING
            filled[0] = 0
            remaining[0] = qty
            return 0
        if self.book.flow_room(side, qty) and self.book.flow_room(
                side, self.crossing_qty(side, price, False, qty)):
            return E_OVERFLOW
        self.book.c_cancel(order_id, &was)
        return self.c_submit(order_id, side, price, qty, GTC, False, False, outcome, filled, remaining)

    def submit_many(self, orders):
        """Run an array of lob.ORDER_DTYPE requests in order, in C, without
        the GIL; returns (fills, reports).

        Request kinds: 1 limit (tif 0 GTC / 1 IOC / 2 FOK; flags bit 0 post
        only), 2 market, 3 cancel, 4 modify (price and qty are the new ones).
        fills: every fill (lob.FILL_DTYPE) in execution order.  reports: one
        lob.REPORT_DTYPE row per request: status (0 filled, 1 partial, 2
        resting, 3 cancelled, 4 rejected; index lob.OUTCOMES), filled,
        remaining (resting), cancelled (qty that neither traded nor rests: a
        cancel request's resting qty, an IOC's or market's rest, a refused
        order's qty), first_fill and n_fills (its rows of `fills`).

        The results equal the same requests made one call at a time.  A
        malformed request stops the batch with lob.EventError (.index: every
        request before it applied, none from it on; .fills and .reports hold
        the results before it), as OrderBook.apply does.
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
        cdef Py_ssize_t start
        self.book.guard()
        self.nfills = 0
        self.book.busy = True
        try:
            with nogil:
                while i < n:
                    start = self.nfills
                    outcome = RESTING
                    filled = 0
                    remaining = 0
                    was = 0
                    if req[i].kind == 1:
                        if req[i].tif > 2 or ((req[i].flags & 1) and req[i].tif != GTC):
                            status = E_TIF
                        else:
                            status = self.c_submit(req[i].order_id, req[i].side, req[i].price, req[i].qty,
                                                   req[i].tif, req[i].flags & 1, False, &outcome, &filled,
                                                   &remaining)
                    elif req[i].kind == 2:
                        status = self.c_submit(req[i].order_id, req[i].side,
                                               INT64_MAX if req[i].side == 0 else -INT64_MAX - 1, req[i].qty,
                                               IOC, False, True, &outcome, &filled, &remaining)
                    elif req[i].kind == 3:
                        status = self.book.c_cancel(req[i].order_id, &was)
                        outcome = CANCELLED
                    elif req[i].kind == 4:
                        status = self.c_modify_order(req[i].order_id, req[i].price, req[i].qty, &outcome,
                                                     &filled, &remaining)
                    else:
                        status = E_KIND
                    if status:
                        self.nfills = start
                        break
                    row[i].status = outcome
                    row[i].filled = filled
                    row[i].remaining = remaining
                    row[i].cancelled = was if req[i].kind == 3 else (
                        0 if req[i].kind == 4 else req[i].qty - filled - remaining)
                    row[i].first_fill = start
                    row[i].n_fills = self.nfills - start
                    i += 1
        finally:
            self.book.busy = False
        fills = np.empty(self.nfills, dtype=FILL_DTYPE)
        if self.nfills:
            memcpy(cnp.PyArray_DATA(fills), self.fills, self.nfills * sizeof(Fill))
        if i < n:
            self._raise_request(orders, i, status, fills, reports)
        return fills, reports

    cdef _raise_request(self, orders, Py_ssize_t index, int status, fills, reports):
        from lob.errors import EventError
        r = orders[index]
        oid, side, price, qty = int(r["order_id"]), int(r["side"]), int(r["price"]), int(r["qty"])
        try:
            if status == E_TIF:
                raise ValueError(f"tif must be 0 (GTC), 1 (IOC) or 2 (FOK), and post only needs GTC; "
                                 f"got tif={int(r['tif'])} flags={int(r['flags'])}")
            if status == E_KIND:
                raise ValueError(f"kind must be 1 (limit), 2 (market), 3 (cancel) or 4 (modify), got {int(r['kind'])}")
            self.book.raise_status(status, <uint64_t>oid, side, price, qty, side)
        except Exception as exc:
            cause = exc
        err = EventError(f"request {index} (kind {int(r['kind'])} order_id={oid} side={side} price={price} "
                         f"qty={qty}): {cause}", index)
        err.fills = fills
        err.reports = reports[:index]
        raise err from cause
