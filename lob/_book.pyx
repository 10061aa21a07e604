# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The order-by-order (L3) book: price-time priority, no matching.

Layout (see _book.pxd): orders in a pooled array with a free list; each price
level an intrusive doubly linked FIFO of its orders with their total; an
open-addressing id map from order id to pool slot (src/lob_idmap.h); per side a
sorted ladder of occupied levels, best last (src/lob_ladder.h).  The c_*
methods hold no Python objects and return status codes; the Python methods
convert arguments, call them, and turn codes into the contract's exceptions.
Every c_* method validates and reserves memory before it changes anything, so
a refused call leaves the book exactly as it was.
"""
from libc.stdint cimport int64_t, uint64_t, uint32_t, INT64_MAX
from libc.stdlib cimport realloc, free
from libc.string cimport memset
from libc.math cimport NAN

from lob._convert cimport to_int64, to_uint64, to_side, to_valid_side, to_aggressor

cimport numpy as cnp
import numpy as np

cnp.import_array()

from lob.errors import CrossedBookError, DuplicateOrderError, UnknownOrderError
from lob.depth import Depth

# Pools stop doubling here, so a slot number never reaches LOB_NIL.
cdef uint64_t MAX_SLOTS = 0x80000000
# 2**53: below it an int64 converts to double exactly.
cdef int64_t EXACT_DOUBLE = 9007199254740992

# Python ints of the quantities cancel / reduce / execute return, made once:
# order sizes repeat (round lots), and a fresh int per call is an allocation
# and a free (~10 ns of a ~60 ns call).
cdef Py_ssize_t QTY_CACHE = 1 << 16
cdef list _qty_ints = [None] * QTY_CACHE


cdef inline object qty_int(int64_t qty):
    cdef object cached
    if 0 <= qty < QTY_CACHE:
        cached = _qty_ints[qty]
        if cached is None:
            cached = qty
            _qty_ints[qty] = cached
        return cached
    return qty


SNAPSHOT_DTYPE = np.dtype([("order_id", "<u8"), ("side", "i1"), ("price", "<i8"), ("qty", "<i8")])
ANON_DTYPE = np.dtype([("side", "i1"), ("price", "<i8"), ("qty", "<i8")])

_SIDE_NAME = ("bid", "ask")

apply_events = None   # lob._batch.apply_events, imported on first use (it cimports this module)


cdef class OrderBook:
    """An order-by-order (L3) limit order book with price-time priority.

    Prices are int64 in the caller's own integer unit (ticks, LOBSTER's
    dollars x 10000, ITCH's 1e-4 dollars); quantities are int64 > 0; order ids
    are integers in [0, 2**64).  The book never matches: ``add`` refuses an
    order that would lock or cross the book unless ``allow_cross=True`` (for
    replaying venue feeds that are momentarily crossed).

    Every call that raises leaves the book exactly as it was.
    """

    def __cinit__(self, allow_cross=False):
        self.orders = NULL
        self.orders_cap = 0
        self.orders_used = 0
        self.free_order = LOB_NIL
        self.levels = NULL
        self.levels_cap = 0
        self.levels_used = 0
        self.free_level = LOB_NIL
        lob_ladder_init(&self.ladder[0])
        lob_ladder_init(&self.ladder[1])
        if lob_pxmap_init(&self.pxmap[0]) != 0 or lob_pxmap_init(&self.pxmap[1]) != 0:
            raise MemoryError("OrderBook: cannot allocate the price maps")
        if lob_idmap_init(&self.ids, 10) != 0:
            raise MemoryError("OrderBook: cannot allocate the order id map")
        self.allow_cross = bool(allow_cross)
        self.flow_buy = 0
        self.flow_sell = 0
        self.flow_cross = 0
        self.flow_trades = 0
        self.flow_last_price = 0
        self.flow_has_last = False
        lob_i128_zero(&self.flow_notional)
        self.busy = False
        self.last_rejected = {}
        self.draw_unknown = True

    def __init__(self, allow_cross=False):
        """Make an empty book.

        allow_cross: accept adds and modifies that lock or cross the book
        (bid >= best ask or ask <= best bid) instead of raising
        ``CrossedBookError``.
        """

    def __dealloc__(self):
        free(self.orders)
        free(self.levels)
        lob_idmap_free(&self.ids)
        lob_ladder_free(&self.ladder[0])
        lob_ladder_free(&self.ladder[1])
        lob_pxmap_free(&self.pxmap[0])
        lob_pxmap_free(&self.pxmap[1])

    # ------------------------------------------------------------------
    # C level: memory

    cdef int grow_orders(self, uint64_t cap) noexcept nogil:
        """Make the order pool hold at least `cap` slots."""
        cdef Order *grown
        if cap <= self.orders_cap:
            return OK
        if cap > MAX_SLOTS:
            return E_FULL
        grown = <Order *>realloc(self.orders, cap * sizeof(Order))
        if grown == NULL:
            return E_NOMEM
        self.orders = grown
        self.orders_cap = <uint32_t>cap
        return OK

    cdef int reserve_level(self, int side) noexcept nogil:
        """Room for one more level on `side`, in the level pool and the ladder."""
        cdef uint32_t cap
        cdef Level *grown
        if self.free_level == LOB_NIL and self.levels_used == self.levels_cap:
            if <uint64_t>self.levels_cap >= MAX_SLOTS:
                return E_FULL
            cap = 256 if self.levels_cap == 0 else self.levels_cap * 2
            grown = <Level *>realloc(self.levels, cap * sizeof(Level))
            if grown == NULL:
                return E_NOMEM
            self.levels = grown
            self.levels_cap = cap
        if lob_ladder_reserve(&self.ladder[side]) != 0 or lob_pxmap_reserve(&self.pxmap[side]) != 0:
            return E_NOMEM
        return OK

    # ------------------------------------------------------------------
    # C level: structure

    cdef uint32_t new_level(self, int side, int64_t price) noexcept nogil:
        """Open an empty level at `price` (reserve_level first)."""
        cdef uint32_t slot
        cdef lob_ladder *lad = &self.ladder[side]
        cdef int64_t key = lob_ladder_key(side, price)
        cdef Level *lvl
        if self.free_level != LOB_NIL:
            slot = self.free_level
            self.free_level = self.levels[slot].head
        else:
            slot = self.levels_used
            self.levels_used += 1
        lvl = &self.levels[slot]
        lvl.price = price
        lvl.qty = 0
        lvl.anon = 0
        lvl.head = LOB_NIL
        lvl.tail = LOB_NIL
        lvl.count = 0
        lvl.side = side
        lob_ladder_insert_at(lad, lob_ladder_lower_bound(lad, key), key, slot)
        lob_pxmap_insert(&self.pxmap[side], price, slot)
        return slot

    cdef void drop_level(self, uint32_t level) noexcept nogil:
        cdef Level *lvl = &self.levels[level]
        cdef lob_ladder *lad = &self.ladder[lvl.side]
        cdef int64_t key = lob_ladder_key(lvl.side, lvl.price)
        cdef size_t pos
        if lad.keys[lad.n - 1] == key:   # the touch: the common case
            pos = lad.n - 1
        else:
            pos = lob_ladder_lower_bound(lad, key)
        lob_ladder_erase_at(lad, pos)
        lob_pxmap_erase(&self.pxmap[lvl.side], lvl.price)
        lvl.head = self.free_level
        self.free_level = level

    cdef int c_requeue(self, uint32_t slot, int64_t qty) noexcept nogil:
        """Give a resting order `qty` and move it to the back of its level's
        queue (the matching engine's iceberg refill); qty > 0."""
        cdef Order *o = &self.orders[slot]
        cdef uint32_t level = o.level
        cdef Level *lvl = &self.levels[level]
        if qty > o.qty and qty - o.qty > INT64_MAX - lvl.qty:
            return E_OVERFLOW
        if lvl.tail != slot:
            # not alone at its level (it is not the tail), so unlink keeps the level
            self.unlink(slot)
            o.qty = qty
            self.link_tail(slot, level)
        else:
            lvl.qty += qty - o.qty
            o.qty = qty
        return OK

    # ------------------------------------------------------------------
    # C level: events

    cdef int c_modify(self, uint64_t order_id, int64_t price, int64_t qty) noexcept nogil:
        cdef uint32_t slot, level
        cdef Order *o
        cdef Level *lvl
        cdef int side, status
        cdef int64_t others
        if qty <= 0:
            return E_QTY
        slot = self.c_find(order_id)
        if slot == LOB_NIL:
            return E_UNKNOWN
        o = &self.orders[slot]
        lvl = &self.levels[o.level]
        side = lvl.side
        if price == lvl.price and qty <= o.qty:
            # same price, no growth: keeps its place in the queue
            lvl.qty -= o.qty - qty
            o.qty = qty
            return OK
        if not self.allow_cross:
            status = self.check_cross(side, price)
            if status:
                return status
        # the total at the new price without this order must take qty more
        level = lob_pxmap_find(&self.pxmap[side], price)
        if level != LOB_PXMAP_EMPTY:
            others = self.levels[level].qty - (o.qty if level == o.level else 0)
            if qty > INT64_MAX - others:
                return E_OVERFLOW
        status = self.reserve_level(side)
        if status:
            return status
        self.unlink(slot)                # may drop the old level
        self.orders[slot].qty = qty
        level = lob_pxmap_find(&self.pxmap[side], price)
        if level == LOB_PXMAP_EMPTY:
            level = self.new_level(side, price)
        self.link_tail(slot, level)
        return OK

    cdef int c_trade(self, int side, int64_t price, int64_t qty) noexcept nogil:
        if <unsigned>side > 2:   # 2: no aggressor (an auction cross)
            return E_SIDE
        if qty <= 0:
            return E_QTY
        if self.flow_room(side, qty):
            return E_OVERFLOW
        self.c_record_trade(side, price, qty)
        return OK

    cdef void c_clear(self) noexcept nogil:
        """Every resting order goes; memory and trade-flow counters stay."""
        lob_idmap_clear(&self.ids)
        self.orders_used = 0
        self.free_order = LOB_NIL
        self.levels_used = 0
        self.free_level = LOB_NIL
        self.ladder[0].n = 0
        self.ladder[1].n = 0
        lob_pxmap_clear(&self.pxmap[0])
        lob_pxmap_clear(&self.pxmap[1])

    cdef int c_seed(self, int side, int64_t price, int64_t qty) noexcept nogil:
        """Anonymous qty at (side, price), ahead of every known order there."""
        cdef int status
        cdef uint32_t level
        if <unsigned>side > 1:
            return E_SIDE
        if qty <= 0:
            return E_QTY
        if not self.allow_cross:
            status = self.check_cross(side, price)
            if status:
                return status
        status = self.open_level(side, price, qty, &level)
        if status:
            return status
        self.levels[level].anon += qty
        self.levels[level].qty += qty
        return OK

    cdef int c_draw(self, int side, int64_t price, int64_t qty, bint execute, int64_t *out_left) noexcept nogil:
        """Take qty from the anonymous qty at (side, price): a cancel, or with
        `execute` a trade at that price against it."""
        cdef uint32_t level
        cdef Level *lvl
        if <unsigned>side > 1:
            return E_SIDE
        if qty <= 0:
            return E_QTY
        level = lob_pxmap_find(&self.pxmap[side], price)
        if level == LOB_PXMAP_EMPTY or self.levels[level].anon == 0:
            return E_UNKNOWN
        lvl = &self.levels[level]
        if qty > lvl.anon:
            return E_QTY_ABOVE
        if execute:
            if self.flow_room(1 - side, qty):
                return E_OVERFLOW
            self.c_record_trade(1 - side, price, qty)
        lvl.anon -= qty
        lvl.qty -= qty
        out_left[0] = lvl.anon
        if lvl.anon == 0 and lvl.count == 0:
            self.drop_level(level)
        return OK

    cdef int c_draw_unknown(self, int kind, int side, int64_t price, int64_t qty) noexcept nogil:
        """A batch's CANCEL (3) / REDUCE (2) / EXECUTE (4) of an id the book
        does not know, when draw_unknown is set: E_UNKNOWN unless the
        anonymous qty at (side, price) covers it."""
        cdef int64_t left
        if not self.draw_unknown or (kind != 2 and kind != 3 and kind != 4):
            return E_UNKNOWN
        return self.c_draw(side, price, qty, kind == 4, &left)

    cdef int c_set_anon(self, int side, int64_t price, int64_t qty) noexcept nogil:
        """The anonymous qty at (side, price) becomes qty (>= 0): an ANON event."""
        cdef uint32_t level
        cdef int64_t current = 0, left
        if <unsigned>side > 1:
            return E_SIDE
        if qty < 0:
            return E_QTY
        level = lob_pxmap_find(&self.pxmap[side], price)
        if level != LOB_PXMAP_EMPTY:
            current = self.levels[level].anon
        if qty > current:
            return self.c_seed(side, price, qty - current)
        if qty < current:
            return self.c_draw(side, price, current - qty, False, &left)
        return OK

    # ------------------------------------------------------------------
    # C level: signals

    cdef double c_side_qty(self, int side, Py_ssize_t levels) noexcept nogil:
        # a double: several int64 level totals may sum past int64 (exact below 2**53)
        cdef lob_ladder *lad = &self.ladder[side]
        cdef Py_ssize_t i, n = <Py_ssize_t>lad.n
        cdef double total = 0
        cdef Py_ssize_t stop = n - levels if levels < n else 0
        i = n - 1
        while i >= stop:
            total += self.levels[lad.levels[i]].qty
            i -= 1
        return total

    cdef double c_microprice(self) noexcept nogil:
        cdef int64_t bid, bid_qty, ask, ask_qty
        self.c_touch(BID, &bid, &bid_qty)
        self.c_touch(ASK, &ask, &ask_qty)
        return microprice_of(bid, bid_qty, ask, ask_qty)

    cdef double c_imbalance(self, Py_ssize_t levels) noexcept nogil:
        return imbalance_of(self.c_side_qty(BID, levels), self.c_side_qty(ASK, levels))

    # ------------------------------------------------------------------
    # Python: errors

    cdef int guard(self) except -1:
        if self.busy:
            raise RuntimeError("OrderBook is busy: another thread is running apply() on it")
        return 0

    cdef raise_status(self, int status, uint64_t order_id, int side, int64_t price, int64_t qty,
                      object side_arg=None):
        cdef uint32_t slot
        cdef lob_ladder *opp
        if status == E_SIDE:
            raise ValueError(f"side must be 0 (BID) or 1 (ASK), got {side_arg!r}")
        if status == E_QTY:
            raise ValueError(f"qty must be > 0, got {qty}")
        if status == E_QTY_ABOVE:
            slot = self.c_find(order_id)
            raise ValueError(f"qty={qty} is above the {self.orders[slot].qty} resting "
                             f"for order_id={order_id}")
        if status == E_UNKNOWN:
            raise UnknownOrderError(f"order_id={order_id} is not resting")
        if status == E_DUPLICATE:
            raise DuplicateOrderError(f"order_id={order_id} is already resting")
        if status == E_CROSSED:
            opp = &self.ladder[1 - side]
            raise CrossedBookError(
                f"{_SIDE_NAME[side]} order_id={order_id} at price={price} would cross the book "
                f"(best {_SIDE_NAME[1 - side]} {best_key_price(opp, 1 - side)}); "
                f"use OrderBook(allow_cross=True) to replay crossed feeds")
        if status == E_OVERFLOW:
            raise OverflowError(f"qty={qty} would take a level total or a volume counter past int64")
        if status == E_FULL:
            raise MemoryError("OrderBook is full: at most 2**31 resting orders and levels")
        raise MemoryError("OrderBook: out of memory")

    # ------------------------------------------------------------------
    # Python: events

    def add(self, order_id, side, price, qty):
        """Rest a new order at the back of the queue at `price`.

        order_id: int in [0, 2**64), not already resting.
        side: 0 (BID) or 1 (ASK).
        price: int64 in the caller's price unit.
        qty: int64 > 0, shares or contracts.
        Raises DuplicateOrderError, CrossedBookError (unless allow_cross), or
        ValueError / TypeError / OverflowError naming the bad field.
        """
        self.guard()
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int s = to_side(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int status = self.c_add(oid, s, p, q)
        if status:
            self.raise_status(status, oid, s, p, q, side)

    def cancel(self, order_id):
        """Delete a resting order; returns the qty it had resting (shares)."""
        self.guard()
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t left = 0
        cdef int status = self.c_cancel(oid, &left)
        if status:
            self.raise_status(status, oid, 0, 0, 0)
        return qty_int(left)

    def reduce(self, order_id, qty):
        """Cancel `qty` shares of a resting order (partial cancel, keeps its
        queue place); returns the qty left.  Reducing by all of it removes the
        order and returns 0.  qty must be in (0, resting qty]."""
        self.guard()
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t left = 0
        cdef int status = self.c_reduce(oid, q, &left)
        if status:
            self.raise_status(status, oid, 0, 0, q)
        return qty_int(left)

    def execute(self, order_id, qty):
        """A resting visible order trades `qty` shares at its own price;
        returns the qty left (0 removes it).  Recorded as a trade whose
        aggressor is the other side (a resting ask executed is a buy)."""
        self.guard()
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t left = 0
        cdef int status = self.c_execute(oid, q, &left)
        if status:
            self.raise_status(status, oid, 0, 0, q)
        return qty_int(left)

    def modify(self, order_id, price, qty):
        """Cancel-replace a resting order to `price` and `qty` (> 0).

        The order keeps its queue place only when the price is unchanged and
        qty does not grow; otherwise it goes to the back of the queue at its
        (new) price.  The cross check applies to the new price."""
        self.guard()
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int status = self.c_modify(oid, p, q)
        cdef uint32_t slot
        if status:
            slot = self.c_find(oid)
            self.raise_status(status, oid,
                              self.levels[self.orders[slot].level].side if slot != LOB_NIL else 0, p, q)

    def trade(self, side, price, qty):
        """Record a trade print that touches no visible order (hidden
        liquidity, auction cross).  side is the AGGRESSOR's side: 0 (BID, a
        buy), 1 (ASK, a sell), or lob.NO_AGGRESSOR (2) for a trade without
        one, such as an auction cross: it counts in trade_count, vwap,
        last_trade_price and cross_volume, not in buy/sell volume or
        volume_delta."""
        self.guard()
        cdef int s = to_aggressor(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int status = self.c_trade(s, p, q)
        if status:
            if status == E_SIDE:
                raise ValueError(f"side must be 0 (BID), 1 (ASK) or 2 (NO_AGGRESSOR), got {side!r}")
            self.raise_status(status, 0, s, p, q, side)

    def reserve(self, orders):
        """Pre-size the order pool and the id map for `orders` resting orders,
        so that no growth (a copy of the pool, a rehash of the id map) happens
        while a stream is being replayed.  Never shrinks anything."""
        self.guard()
        cdef int64_t n = to_int64(orders, "orders")
        cdef int status
        if n < 0:
            raise ValueError(f"orders must be >= 0, got {orders!r}")
        status = self.grow_orders(<uint64_t>n)
        if status == OK and lob_idmap_reserve_total(&self.ids, <uint64_t>n) != 0:
            status = E_NOMEM
        if status:
            self.raise_status(status, 0, 0, 0, 0)

    @classmethod
    def from_depth(cls, bid_price, bid_qty, ask_price, ask_qty, allow_cross=False):
        """A book seeded from a level snapshot (prices and total qtys, any
        order), for replaying a feed that starts mid-day, as LOBSTER files do.

        Each level's qty rests as anonymous qty: ahead of every order added
        later at that price, with no order id.  The book has draw_unknown set,
        so in apply() a CANCEL, REDUCE or EXECUTE of an id it does not know
        takes its qty from the anonymous qty at the event's (side, price); the
        per-call equivalents are cancel_anonymous / execute_anonymous.
        Levels with qty 0 are skipped.
        """
        book = cls(allow_cross)
        for side, prices, qtys in ((0, bid_price, bid_qty), (1, ask_price, ask_qty)):
            prices = np.asarray(prices).ravel().tolist()
            qtys = np.asarray(qtys).ravel().tolist()
            if len(prices) != len(qtys):
                raise ValueError(f"{_SIDE_NAME[side]}_price has {len(prices)} levels but "
                                 f"{_SIDE_NAME[side]}_qty {len(qtys)}")
            for price, qty in zip(prices, qtys):
                if qty != 0:
                    book.seed(side, price, qty)
        book.draw_unknown = True
        return book

    def seed(self, side, price, qty):
        """Rest `qty` (> 0) anonymous shares at (side, price): qty known to
        rest there whose orders are unknown.  It queues ahead of every known
        order at that price and counts in every level total and signal."""
        self.guard()
        cdef int s = to_side(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int status = self.c_seed(s, p, q)
        if status:
            self.raise_status(status, 0, s, p, q, side)

    def set_anonymous(self, side, price, qty):
        """Make the anonymous qty at (side, price) `qty` (>= 0 shares): what
        an ANON event does.  0 removes it (the level goes if no known order
        rests there)."""
        self.guard()
        cdef int s = to_side(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int status = self.c_set_anon(s, p, q)
        if status == E_QTY:
            raise ValueError(f"qty must be >= 0, got {q}")
        if status:
            self.raise_status(status, 0, s, p, q, side)

    def cancel_anonymous(self, side, price, qty):
        """Cancel `qty` of the anonymous qty at (side, price); returns the
        anonymous qty left there.  UnknownOrderError if none rests there."""
        return self._draw(side, price, qty, False)

    def execute_anonymous(self, side, price, qty):
        """Execute `qty` of the anonymous qty at (side, price), recorded as a
        trade at that price whose aggressor is the other side; returns the
        anonymous qty left there."""
        return self._draw(side, price, qty, True)

    def _draw(self, side, price, qty, bint execute):
        self.guard()
        cdef int s = to_side(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t left = 0
        cdef int status = self.c_draw(s, p, q, execute, &left)
        if status == E_UNKNOWN:
            raise UnknownOrderError(f"no anonymous qty rests at {_SIDE_NAME[s]} price={p}")
        if status == E_QTY_ABOVE:
            raise ValueError(f"qty={q} is above the anonymous qty at {_SIDE_NAME[s]} price={p}")
        if status:
            self.raise_status(status, 0, s, p, q, side)
        return left

    def apply(self, events, depth=0, record=True, on_error="raise", out=None):
        """Apply an array of lob.EVENT_DTYPE events in order, in C, with the
        GIL released; returns one row of lob.feature_dtype(depth) per event
        (top of book, microprice, top-level imbalance, volume delta, and
        `depth` levels a side padded with 0) or None if record is false.

        The result equals the same events applied one call at a time.
        on_error="raise": a bad event raises lob.EventError whose .index is its
        position (every event before it applied, none from it on; .features
        holds the rows before it) and whose __cause__ is the call's error.
        on_error="skip": bad events are left out (their rows still show the
        unchanged book) and counted by reason in book.last_rejected.
        out: an array of lob.feature_dtype(depth) with at least len(events)
        rows to write the features into (returned as out[:len(events)]), so a
        stream replayed in chunks reuses one buffer instead of faulting in
        fresh memory for every chunk.
        While the batch runs, other threads calling this book get RuntimeError.
        """
        global apply_events
        if apply_events is None:
            from lob._batch import apply_events
        return apply_events(self, events, to_int64(depth, "depth"), record, on_error, out)

    def clear(self):
        """Remove every resting order (a venue's book clear).  Trade-flow
        counters are kept; reset_flow() zeroes them."""
        self.guard()
        self.c_clear()

    def reset_flow(self):
        """Zero the trade-flow counters (volume delta, buy/sell volume, trade
        count, vwap, last trade price); the book itself is untouched."""
        self.guard()
        self.flow_buy = 0
        self.flow_sell = 0
        self.flow_cross = 0
        self.flow_trades = 0
        self.flow_last_price = 0
        self.flow_has_last = False
        lob_i128_zero(&self.flow_notional)

    # ------------------------------------------------------------------
    # Python: top of book

    @property
    def best_bid(self):
        """Highest bid price (int), or None when there are no bids."""
        self.guard()
        cdef lob_ladder *lad = &self.ladder[BID]
        return best_key_price(lad, BID) if lad.n else None

    @property
    def best_ask(self):
        """Lowest ask price (int), or None when there are no asks."""
        self.guard()
        cdef lob_ladder *lad = &self.ladder[ASK]
        return best_key_price(lad, ASK) if lad.n else None

    @property
    def best_bid_qty(self):
        """Total qty at the best bid (0 when there are no bids)."""
        self.guard()
        cdef int64_t price, qty
        self.c_touch(BID, &price, &qty)
        return qty_int(qty)

    @property
    def best_ask_qty(self):
        """Total qty at the best ask (0 when there are no asks)."""
        self.guard()
        cdef int64_t price, qty
        self.c_touch(ASK, &price, &qty)
        return qty_int(qty)

    @property
    def spread(self):
        """best_ask - best_bid (int, price units), or None if a side is empty."""
        self.guard()
        if self.ladder[BID].n == 0 or self.ladder[ASK].n == 0:
            return None
        return <object>best_key_price(&self.ladder[ASK], ASK) - <object>best_key_price(&self.ladder[BID], BID)

    @property
    def mid(self):
        """(best_bid + best_ask) / 2 as a float, nan if a side is empty."""
        self.guard()
        cdef int64_t b, a
        if self.ladder[BID].n == 0 or self.ladder[ASK].n == 0:
            return NAN
        b = best_key_price(&self.ladder[BID], BID)
        a = best_key_price(&self.ladder[ASK], ASK)
        if -EXACT_DOUBLE < b < EXACT_DOUBLE and -EXACT_DOUBLE < a < EXACT_DOUBLE:
            return (<double>b + <double>a) * 0.5
        return (<object>b + <object>a) / 2   # exact ints, one rounding

    def microprice(self):
        """(bid*ask_qty + ask*bid_qty) / (bid_qty + ask_qty) at the best level,
        a float in price units; nan if a side is empty."""
        self.guard()
        return self.c_microprice()

    def top(self):
        """The top of book and its signals in one call, for strategies that
        read them after every event: a tuple (best_bid, best_bid_qty,
        best_ask, best_ask_qty, microprice, imbalance), prices as int or
        None for an empty side, qtys as int (0 when empty), microprice() and
        imbalance() (top level) as floats (nan where undefined)."""
        self.guard()
        cdef int64_t bid, bid_qty, ask, ask_qty
        self.c_touch(BID, &bid, &bid_qty)
        self.c_touch(ASK, &ask, &ask_qty)
        # a level's total is never 0, so qty 0 means an empty side
        return (bid if bid_qty else None, qty_int(bid_qty), ask if ask_qty else None, qty_int(ask_qty),
                microprice_of(bid, bid_qty, ask, ask_qty), imbalance_of(<double>bid_qty, <double>ask_qty))

    def imbalance(self, levels=1):
        """(B - A) / (B + A) over the total qty of the best `levels` (>= 1)
        levels of each side: +1 all bids, -1 all asks; nan when both sides are
        empty."""
        self.guard()
        cdef Py_ssize_t n = to_int64(levels, "levels")
        if n < 1:
            raise ValueError(f"levels must be >= 1, got {levels!r}")
        return self.c_imbalance(n)

    # ------------------------------------------------------------------
    # Python: trade flow

    @property
    def volume_delta(self):
        """Buy-aggressor qty minus sell-aggressor qty since the last reset_flow()."""
        self.guard()
        return self.flow_buy - self.flow_sell

    @property
    def buy_volume(self):
        """Qty traded with a buy aggressor since the last reset_flow()."""
        self.guard()
        return self.flow_buy

    @property
    def sell_volume(self):
        """Qty traded with a sell aggressor since the last reset_flow()."""
        self.guard()
        return self.flow_sell

    @property
    def cross_volume(self):
        """Qty traded with no aggressor (side NO_AGGRESSOR: auction crosses)
        since the last reset_flow()."""
        self.guard()
        return self.flow_cross

    @property
    def trade_count(self):
        """Trades recorded (executes, trade prints, engine fills) since the last reset_flow()."""
        self.guard()
        return self.flow_trades

    @property
    def vwap(self):
        """Volume-weighted average trade price (float, price units) since the
        last reset_flow(); nan before the first trade.  The notional is summed
        exactly in 128 bits."""
        self.guard()
        if self.flow_buy == 0 and self.flow_sell == 0 and self.flow_cross == 0:
            return NAN
        return lob_i128_to_double(&self.flow_notional) / (
            <double>self.flow_buy + <double>self.flow_sell + <double>self.flow_cross)

    @property
    def last_trade_price(self):
        """Price of the last trade (int), or None before one."""
        self.guard()
        return self.flow_last_price if self.flow_has_last else None

    # ------------------------------------------------------------------
    # Python: inspection

    def __len__(self):
        self.guard()
        return self.ids.count

    def __contains__(self, order_id):
        self.guard()
        try:
            return self.c_find(to_uint64(order_id, "order_id")) != LOB_NIL
        except (TypeError, OverflowError):
            return False

    cdef uint32_t _slot(self, object order_id) except? 0xFFFFFFFF:
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef uint32_t slot = self.c_find(oid)
        if slot == LOB_NIL:
            raise UnknownOrderError(f"order_id={oid} is not resting")
        return slot

    def order(self, order_id):
        """(side, price, qty) of a resting order."""
        self.guard()
        cdef uint32_t slot = self._slot(order_id)
        cdef Level *lvl = &self.levels[self.orders[slot].level]
        return (<int>lvl.side, lvl.price, self.orders[slot].qty)

    def queue_ahead(self, order_id):
        """Total qty resting before this order at its price (shares),
        anonymous seeded qty included."""
        self.guard()
        cdef uint32_t slot = self._slot(order_id)
        cdef int64_t ahead = self.levels[self.orders[slot].level].anon
        slot = self.orders[slot].prev
        while slot != LOB_NIL:
            ahead += self.orders[slot].qty
            slot = self.orders[slot].prev
        return ahead

    cdef int _side_then_price(self, object side, object price) except -1:
        """The side of (side, price) arguments, checked in the contract's
        order: type and range errors of either field first, then the value."""
        cdef int s = to_side(side)
        to_int64(price, "price")
        if s < 0:
            raise ValueError(f"side must be 0 (BID) or 1 (ASK), got {side!r}")
        return s

    cdef uint32_t _level_at(self, int side, int64_t price) noexcept:
        cdef uint32_t level = lob_pxmap_find(&self.pxmap[side], price)
        return LOB_NIL if level == LOB_PXMAP_EMPTY else level

    def level_qty(self, side, price):
        """Total qty resting at (side, price); 0 if no order rests there."""
        self.guard()
        cdef uint32_t level = self._level_at(self._side_then_price(side, price), to_int64(price, "price"))
        return self.levels[level].qty if level != LOB_NIL else 0

    def level_count(self, side):
        """Number of occupied price levels on `side`."""
        self.guard()
        return self.ladder[to_valid_side(side)].n

    def orders_at(self, side, price):
        """Ids of the orders resting at (side, price), in FIFO order."""
        self.guard()
        cdef uint32_t level = self._level_at(self._side_then_price(side, price), to_int64(price, "price"))
        cdef uint32_t slot
        cdef list ids = []
        if level == LOB_NIL:
            return ids
        slot = self.levels[level].head
        while slot != LOB_NIL:
            ids.append(self.orders[slot].order_id)
            slot = self.orders[slot].next
        return ids

    def depth(self, levels=10):
        """The best `levels` (>= 0) levels of each side, best first, as
        lob.Depth(bid_price, bid_qty, ask_price, ask_qty): four int64 NumPy
        arrays with one row per occupied level (at most `levels`)."""
        self.guard()
        cdef Py_ssize_t want = to_int64(levels, "levels")
        if want < 0:
            raise ValueError(f"levels must be >= 0, got {levels!r}")
        bid_price, bid_qty = self._side_depth(BID, want)
        ask_price, ask_qty = self._side_depth(ASK, want)
        # tuple.__new__ skips the namedtuple's Python-level __new__
        return tuple.__new__(Depth, (bid_price, bid_qty, ask_price, ask_qty))

    cdef tuple _side_depth(self, int side, Py_ssize_t want):
        cdef lob_ladder *lad = &self.ladder[side]
        cdef cnp.npy_intp n = min(want, <Py_ssize_t>lad.n), i
        cdef cnp.ndarray prices = cnp.PyArray_EMPTY(1, &n, cnp.NPY_INT64, 0)
        cdef cnp.ndarray qtys = cnp.PyArray_EMPTY(1, &n, cnp.NPY_INT64, 0)
        cdef int64_t *p = <int64_t *>cnp.PyArray_DATA(prices)
        cdef int64_t *q = <int64_t *>cnp.PyArray_DATA(qtys)
        cdef Level *lvl
        for i in range(n):
            lvl = &self.levels[lad.levels[lad.n - 1 - i]]
            p[i] = lvl.price
            q[i] = lvl.qty
        return (prices, qtys)

    def __repr__(self):
        self.guard()
        return (f"<OrderBook orders={self.ids.count} bid={self.best_bid}x{self.best_bid_qty} "
                f"ask={self.best_ask}x{self.best_ask_qty}>")

    def memory_bytes(self):
        """Bytes of C memory the book holds (pools, id map, ladders)."""
        self.guard()
        return (<size_t>self.orders_cap * sizeof(Order) + <size_t>self.levels_cap * sizeof(Level)
                + lob_idmap_bytes(&self.ids) + lob_pxmap_bytes(&self.pxmap[0]) + lob_pxmap_bytes(&self.pxmap[1])
                + (self.ladder[0].cap + self.ladder[1].cap) * (sizeof(int64_t) + sizeof(uint32_t)))

    # ------------------------------------------------------------------
    # Invariants

    def check(self):
        """Verify every internal invariant: FIFO links, level totals and
        counts, ladder order and sides, best prices, the id map, the free
        lists, and (unless allow_cross) an uncrossed book.  Raises
        AssertionError naming the first broken one; returns None."""
        self.guard()
        cdef int side
        cdef size_t pos
        cdef uint32_t level, slot, prev, nlive = 0, nfree = 0, nlevels = 0
        cdef int64_t qty_sum
        cdef uint32_t count
        cdef Level *lvl
        cdef lob_ladder *lad
        for side in range(2):
            lad = &self.ladder[side]
            for pos in range(lad.n):
                if pos and lad.keys[pos - 1] >= lad.keys[pos]:
                    raise AssertionError(f"{_SIDE_NAME[side]} ladder not strictly sorted at {pos}")
                level = lad.levels[pos]
                if level >= self.levels_used:
                    raise AssertionError(f"{_SIDE_NAME[side]} ladder entry {pos} names level slot {level} "
                                         f"beyond {self.levels_used}")
                lvl = &self.levels[level]
                if lvl.side != side:
                    raise AssertionError(f"level {lvl.price} on the {_SIDE_NAME[side]} ladder has side {lvl.side}")
                if lob_ladder_key(side, lvl.price) != lad.keys[pos]:
                    raise AssertionError(f"{_SIDE_NAME[side]} ladder key at {pos} does not match level price {lvl.price}")
                if lob_pxmap_find(&self.pxmap[side], lvl.price) != level:
                    raise AssertionError(f"price map does not map {_SIDE_NAME[side]} {lvl.price} to its level")
                if lvl.anon < 0:
                    raise AssertionError(f"{_SIDE_NAME[side]} level {lvl.price} has anonymous qty {lvl.anon}")
                if lvl.count == 0 and lvl.anon == 0:
                    raise AssertionError(f"empty {_SIDE_NAME[side]} level {lvl.price} still on the ladder")
                if (lvl.count == 0) != (lvl.head == LOB_NIL):
                    raise AssertionError(f"{_SIDE_NAME[side]} level {lvl.price}: count {lvl.count} but head {lvl.head}")
                nlevels += 1
                qty_sum = lvl.anon
                count = 0
                prev = LOB_NIL
                slot = lvl.head
                while slot != LOB_NIL:
                    if slot >= self.orders_used:
                        raise AssertionError(f"level {lvl.price} links to slot {slot} beyond the pool")
                    if self.orders[slot].prev != prev:
                        raise AssertionError(f"FIFO at {_SIDE_NAME[side]} {lvl.price}: prev link of order "
                                             f"{self.orders[slot].order_id} is broken")
                    if self.orders[slot].level != level:
                        raise AssertionError(f"order {self.orders[slot].order_id} sits at level {lvl.price} "
                                             f"but names another level")
                    if self.orders[slot].qty <= 0:
                        raise AssertionError(f"order {self.orders[slot].order_id} has qty {self.orders[slot].qty}")
                    if self.c_find(self.orders[slot].order_id) != slot:
                        raise AssertionError(f"id map does not map order {self.orders[slot].order_id} to its slot")
                    qty_sum += self.orders[slot].qty
                    count += 1
                    if count > self.orders_used:
                        raise AssertionError(f"FIFO at {_SIDE_NAME[side]} {lvl.price} has a cycle")
                    prev = slot
                    slot = self.orders[slot].next
                if prev != lvl.tail:
                    raise AssertionError(f"tail of {_SIDE_NAME[side]} level {lvl.price} is not its last order")
                if qty_sum != lvl.qty:
                    raise AssertionError(f"{_SIDE_NAME[side]} level {lvl.price} total {lvl.qty} != anonymous + "
                                         f"orders {qty_sum}")
                if count != lvl.count:
                    raise AssertionError(f"{_SIDE_NAME[side]} level {lvl.price} count {lvl.count} != orders {count}")
                nlive += count
        for side in range(2):
            if self.pxmap[side].count != self.ladder[side].n:
                raise AssertionError(f"{_SIDE_NAME[side]} price map holds {self.pxmap[side].count} prices "
                                     f"but the ladder {self.ladder[side].n} levels")
        if nlive != self.ids.count:
            raise AssertionError(f"id map holds {self.ids.count} ids but {nlive} orders rest")
        slot = self.free_order
        while slot != LOB_NIL:
            nfree += 1
            if nfree > self.orders_used:
                raise AssertionError("order free list has a cycle")
            slot = self.orders[slot].next
        if nlive + nfree != self.orders_used:
            raise AssertionError(f"order pool leaks: {nlive} live + {nfree} free != {self.orders_used} used")
        nfree = 0
        level = self.free_level
        while level != LOB_NIL:
            nfree += 1
            if nfree > self.levels_used:
                raise AssertionError("level free list has a cycle")
            level = self.levels[level].head
        if nlevels + nfree != self.levels_used:
            raise AssertionError(f"level pool leaks: {nlevels} live + {nfree} free != {self.levels_used} used")
        if not self.allow_cross and self.ladder[BID].n and self.ladder[ASK].n:
            if best_key_price(&self.ladder[BID], BID) >= best_key_price(&self.ladder[ASK], ASK):
                raise AssertionError(f"book is crossed: bid {self.best_bid} >= ask {self.best_ask}")
        if self.flow_buy < 0 or self.flow_sell < 0 or self.flow_cross < 0 or self.flow_trades < 0:
            raise AssertionError("negative trade-flow counter")

    # ------------------------------------------------------------------
    # Pickle and copy

    def snapshot(self):
        """Every resting order as a NumPy array of (order_id, side, price, qty),
        bids then asks, each side best level first and FIFO within a level."""
        self.guard()
        cdef Py_ssize_t i = 0
        cdef int side
        cdef size_t pos
        cdef uint32_t slot
        cdef Level *lvl
        cdef Py_ssize_t n = self.ids.count
        id_arr = np.empty(n, dtype=np.uint64)
        side_arr = np.empty(n, dtype=np.int8)
        price_arr = np.empty(n, dtype=np.int64)
        qty_arr = np.empty(n, dtype=np.int64)
        cdef uint64_t[::1] ids = id_arr
        cdef signed char[::1] sides = side_arr
        cdef int64_t[::1] prices = price_arr
        cdef int64_t[::1] qtys = qty_arr
        for side in range(2):
            for pos in reversed(range(self.ladder[side].n)):
                lvl = &self.levels[self.ladder[side].levels[pos]]
                slot = lvl.head
                while slot != LOB_NIL:
                    ids[i] = self.orders[slot].order_id
                    sides[i] = side
                    prices[i] = lvl.price
                    qtys[i] = self.orders[slot].qty
                    i += 1
                    slot = self.orders[slot].next
        out = np.empty(n, dtype=SNAPSHOT_DTYPE)
        out["order_id"] = id_arr
        out["side"] = side_arr
        out["price"] = price_arr
        out["qty"] = qty_arr
        return out

    def anonymous_levels(self):
        """The anonymous (seeded, id-less) qty still resting, as a NumPy array
        of (side, price, qty): bids then asks, best level first."""
        self.guard()
        cdef int side
        cdef size_t pos
        cdef Level *lvl
        rows = []
        for side in range(2):
            for pos in reversed(range(self.ladder[side].n)):
                lvl = &self.levels[self.ladder[side].levels[pos]]
                if lvl.anon:
                    rows.append((side, lvl.price, lvl.anon))
        return np.array(rows, dtype=ANON_DTYPE)

    def _flow_state(self):
        notional = (<object>self.flow_notional.hi << 64) + <object>self.flow_notional.lo
        return (self.flow_buy, self.flow_sell, self.flow_trades, notional,
                self.flow_last_price if self.flow_has_last else None, self.flow_cross)

    def _restore(self, orders, flow, anonymous, bint draw_unknown):
        """Load anonymous_levels(), snapshot() and _flow_state() output into an
        empty book."""
        self.guard()
        cdef bint allow = self.allow_cross
        cdef int status = 0
        if self.ids.count or self.ladder[0].n or self.ladder[1].n:
            raise ValueError("_restore needs an empty book")
        self.allow_cross = True   # a crossed book pickles and comes back crossed
        try:
            for side, price, qty in anonymous.tolist():
                status = self.c_seed(side, price, qty)
                if status:
                    self.c_clear()
                    self.raise_status(status, 0, side, price, qty, side)
            for oid, side, price, qty in zip(orders["order_id"].tolist(), orders["side"].tolist(),
                                             orders["price"].tolist(), orders["qty"].tolist()):
                status = self.c_add(oid, side, price, qty)
                if status:
                    self.c_clear()
                    self.raise_status(status, oid, side, price, qty, side)
        finally:
            self.allow_cross = allow
        buy, sell, trades, notional, last = flow[:5]
        self.flow_cross = flow[5] if len(flow) > 5 else 0
        self.flow_buy = buy
        self.flow_sell = sell
        self.flow_trades = trades
        self.flow_notional.lo = notional & 0xFFFFFFFFFFFFFFFF
        self.flow_notional.hi = notional >> 64
        self.flow_has_last = last is not None
        self.flow_last_price = last if last is not None else 0
        self.draw_unknown = draw_unknown

    def _state(self):
        return (self.allow_cross, self.snapshot(), self._flow_state(), self.anonymous_levels(),
                self.draw_unknown)

    def __reduce__(self):
        return (_rebuild_book, self._state())

    def __copy__(self):
        return _rebuild_book(*self._state())

    def __deepcopy__(self, memo):
        return _rebuild_book(*self._state())


def _rebuild_book(allow_cross, orders, flow, anonymous=None, draw_unknown=False):
    book = OrderBook(allow_cross)
    book._restore(orders, flow, np.zeros(0, ANON_DTYPE) if anonymous is None else anonymous, draw_unknown)
    return book
