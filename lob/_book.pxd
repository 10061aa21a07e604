# Declarations of the order-by-order book, so other Cython modules (the batch
# path, the matching engine, the generator) cimport it and call the C-level
# methods without Python overhead.
cimport cython
from libc.stdint cimport int64_t, uint64_t, uint32_t, uint8_t, INT64_MAX
from libc.math cimport NAN


cdef extern from "lob_idmap.h":
    ctypedef struct lob_idmap:
        uint64_t mask
        uint64_t count
    uint32_t LOB_NIL
    int lob_idmap_init(lob_idmap *m, int bits) nogil
    void lob_idmap_free(lob_idmap *m) nogil
    void lob_idmap_clear(lob_idmap *m) nogil
    size_t lob_idmap_bytes(const lob_idmap *m) nogil
    uint32_t lob_idmap_find(const lob_idmap *m, uint64_t id, const char *base, size_t stride) nogil
    uint32_t lob_idmap_locate(const lob_idmap *m, uint64_t id, const char *base, size_t stride, uint64_t *bucket) nogil
    void lob_idmap_erase_at(lob_idmap *m, uint64_t bucket) nogil
    uint32_t lob_idmap_probe(const lob_idmap *m, uint64_t id, const char *base, size_t stride, uint64_t *bucket) nogil
    int lob_idmap_reserve(lob_idmap *m) nogil
    int lob_idmap_reserve_total(lob_idmap *m, uint64_t count) nogil
    void lob_idmap_insert_at(lob_idmap *m, uint64_t bucket, uint64_t id, uint32_t slot) nogil
    void lob_idmap_erase(lob_idmap *m, uint64_t id, uint32_t slot) nogil


cdef extern from "lob_ladder.h":
    ctypedef struct lob_ladder:
        int64_t *keys
        uint32_t *levels
        size_t n
        size_t cap
    int64_t lob_ladder_key(int side, int64_t price) nogil
    void lob_ladder_init(lob_ladder *l) nogil
    void lob_ladder_free(lob_ladder *l) nogil
    size_t lob_ladder_lower_bound(const lob_ladder *l, int64_t key) nogil
    int lob_ladder_reserve(lob_ladder *l) nogil
    void lob_ladder_insert_at(lob_ladder *l, size_t pos, int64_t key, uint32_t level) nogil
    void lob_ladder_erase_at(lob_ladder *l, size_t pos) nogil


cdef extern from "lob_pxmap.h":
    ctypedef struct lob_pxmap:
        uint64_t count
    uint32_t LOB_PXMAP_EMPTY
    int lob_pxmap_init(lob_pxmap *m) nogil
    void lob_pxmap_free(lob_pxmap *m) nogil
    void lob_pxmap_clear(lob_pxmap *m) nogil
    size_t lob_pxmap_bytes(const lob_pxmap *m) nogil
    uint32_t lob_pxmap_find(const lob_pxmap *m, int64_t price) nogil
    int lob_pxmap_reserve(lob_pxmap *m) nogil
    void lob_pxmap_insert(lob_pxmap *m, int64_t price, uint32_t level) nogil
    void lob_pxmap_erase(lob_pxmap *m, int64_t price) nogil


cdef extern from "lob_i128.h":
    ctypedef struct lob_i128:
        uint64_t lo
        int64_t hi
    void lob_i128_zero(lob_i128 *a) nogil
    void lob_i128_add_mul(lob_i128 *a, int64_t x, int64_t y) nogil
    double lob_i128_to_double(const lob_i128 *a) nogil


# Result codes of the C-level operations; 0 is success.  The Python methods
# turn them into the contract's exceptions, the batch path into EventError.
cdef enum BookStatus:
    OK = 0
    E_SIDE = 1          # side not 0/1
    E_QTY = 2           # qty <= 0
    E_QTY_ABOVE = 3     # qty above what rests
    E_DUPLICATE = 4     # id already resting
    E_UNKNOWN = 5       # id not resting
    E_CROSSED = 6       # would lock or cross the book
    E_NOMEM = 7         # allocation failed
    E_FULL = 8          # more than 2**31 orders or levels
    E_KIND = 9          # event kind not 1..7 (batches)
    E_OVERFLOW = 10     # a level total or a volume counter would pass int64


cdef enum:
    BID = 0
    ASK = 1


# One resting order: 32 bytes.  Price and side live on its level.
cdef struct Order:
    uint64_t order_id   # first: the id map reads it at offset 0
    int64_t qty
    uint32_t prev       # FIFO neighbours at the level (LOB_NIL at the ends)
    uint32_t next       # also the free-list link of an unused slot
    uint32_t level      # level slot
    uint32_t flags      # reserved for the matching engine


# One occupied price level: an intrusive FIFO of its orders and their total.
# `anon` is qty seeded from a level snapshot (OrderBook.from_depth) whose
# orders are unknown: it queues ahead of every known order and is counted in
# `qty`.  A level lives while it has orders or anonymous qty.
cdef struct Level:
    int64_t price
    int64_t qty
    int64_t anon
    uint32_t head       # also the free-list link of an unused slot
    uint32_t tail
    uint32_t count
    uint32_t side


cdef inline int64_t best_key_price(const lob_ladder *lad, int side) noexcept nogil:
    """The touch price of a non-empty side (ladder keys are negated for asks)."""
    cdef int64_t key = lad.keys[lad.n - 1]
    return key if side == BID else ~key


# The signal formulas, in one place for the per-call methods, OrderBook.top()
# and the batch feature rows (which must agree to the bit).
cdef inline double microprice_of(int64_t bid, int64_t bid_qty, int64_t ask, int64_t ask_qty) noexcept nogil:
    """(bid*ask_qty + ask*bid_qty) / (bid_qty + ask_qty), summed in doubles (an
    int64 sum may overflow); nan when a side has no qty (is empty)."""
    cdef double bq = <double>bid_qty
    cdef double aq = <double>ask_qty
    if bid_qty == 0 or ask_qty == 0:
        return NAN
    return (<double>bid * aq + <double>ask * bq) / (bq + aq)


cdef inline double imbalance_of(double bid_qty, double ask_qty) noexcept nogil:
    """(B - A) / (B + A); nan when both are 0."""
    if bid_qty + ask_qty == 0:
        return NAN
    return (bid_qty - ask_qty) / (bid_qty + ask_qty)


# The hot C-level methods are `cdef inline` here, in the .pxd, so every module
# that cimports the book (the batch loop, the engine, the ITCH parser) compiles
# them into its own loop: no call through the vtable across modules.
# final: C-level calls bind directly (no vtable), so the compiler inlines them.
@cython.final
cdef class OrderBook:
    cdef Order *orders
    cdef uint32_t orders_cap
    cdef uint32_t orders_used      # slots ever handed out (high-water mark)
    cdef uint32_t free_order       # head of the free list, LOB_NIL if empty
    cdef Level *levels
    cdef uint32_t levels_cap
    cdef uint32_t levels_used
    cdef uint32_t free_level
    cdef lob_idmap ids
    cdef lob_ladder ladder[2]
    cdef lob_pxmap pxmap[2]            # price -> level slot, per side
    cdef readonly bint allow_cross
    # trade flow since the last reset_flow()
    cdef int64_t flow_buy
    cdef int64_t flow_sell
    cdef int64_t flow_cross         # qty of trades with no aggressor (crosses)
    cdef int64_t flow_trades
    cdef int64_t flow_last_price
    cdef bint flow_has_last
    cdef lob_i128 flow_notional
    # set while a batch runs without the GIL; every Python method refuses then
    cdef bint busy
    cdef readonly dict last_rejected
    # batches: a CANCEL / REDUCE / EXECUTE of an unknown id draws on the
    # anonymous qty at the event's (side, price) instead of failing
    cdef public bint draw_unknown

    # C level: no Python objects, no exceptions, status codes out.
    cdef inline int c_add(self, uint64_t order_id, int side, int64_t price, int64_t qty) noexcept nogil:
        cdef int status
        cdef uint32_t slot, level
        cdef uint64_t bucket
        cdef Order *o
        if <unsigned>side > 1:
            return E_SIDE
        if qty <= 0:
            return E_QTY
        # grow first (harmless if the add is then refused), so one probe both
        # checks for a duplicate and finds the bucket to insert at
        status = self.reserve_order()
        if status:
            return status
        if lob_idmap_probe(&self.ids, order_id, <const char *>self.orders, sizeof(Order),
                           &bucket) != LOB_NIL:
            return E_DUPLICATE
        if not self.allow_cross:
            status = self.check_cross(side, price)
            if status:
                return status
        status = self.open_level(side, price, qty, &level)
        if status:
            return status
        if self.free_order != LOB_NIL:
            slot = self.free_order
            self.free_order = self.orders[slot].next
        else:
            slot = self.orders_used
            self.orders_used += 1
        o = &self.orders[slot]
        o.order_id = order_id
        o.qty = qty
        o.flags = 0
        lob_idmap_insert_at(&self.ids, bucket, order_id, slot)
        self.link_tail(slot, level)
        return OK

    cdef inline int c_cancel(self, uint64_t order_id, int64_t *out_qty) noexcept nogil:
        cdef uint64_t bucket
        cdef uint32_t slot = lob_idmap_locate(&self.ids, order_id, <const char *>self.orders, sizeof(Order),
                                              &bucket)
        if slot == LOB_NIL:
            return E_UNKNOWN
        out_qty[0] = self.orders[slot].qty
        self.unlink(slot)
        self.release_at(slot, bucket)
        return OK

    cdef inline int c_reduce(self, uint64_t order_id, int64_t qty, int64_t *out_left) noexcept nogil:
        cdef uint32_t slot
        cdef Order *o
        cdef uint64_t bucket
        if qty <= 0:
            return E_QTY
        slot = lob_idmap_locate(&self.ids, order_id, <const char *>self.orders, sizeof(Order), &bucket)
        if slot == LOB_NIL:
            return E_UNKNOWN
        o = &self.orders[slot]
        if qty > o.qty:
            return E_QTY_ABOVE
        if qty == o.qty:
            self.unlink(slot)
            self.release_at(slot, bucket)
            out_left[0] = 0
        else:
            o.qty -= qty
            self.levels[o.level].qty -= qty
            out_left[0] = o.qty
        return OK

    cdef inline int c_execute(self, uint64_t order_id, int64_t qty, int64_t *out_left) noexcept nogil:
        cdef uint32_t slot
        cdef Level *lvl
        if qty <= 0:
            return E_QTY
        slot = self.c_find(order_id)
        if slot == LOB_NIL:
            return E_UNKNOWN
        if qty > self.orders[slot].qty:
            return E_QTY_ABOVE
        lvl = &self.levels[self.orders[slot].level]
        # a resting bid executed means a sell aggressor, and vice versa
        if self.flow_room(1 - <int>lvl.side, qty):
            return E_OVERFLOW
        self.c_record_trade(1 - <int>lvl.side, lvl.price, qty)
        return self.c_reduce(order_id, qty, out_left)

    cdef int c_modify(self, uint64_t order_id, int64_t price, int64_t qty) noexcept nogil
    cdef int c_trade(self, int side, int64_t price, int64_t qty) noexcept nogil
    cdef inline void c_record_trade(self, int aggressor, int64_t price, int64_t qty) noexcept nogil:
        if aggressor == BID:
            self.flow_buy += qty
        elif aggressor == ASK:
            self.flow_sell += qty
        else:
            self.flow_cross += qty
        self.flow_trades += 1
        self.flow_last_price = price
        self.flow_has_last = True
        lob_i128_add_mul(&self.flow_notional, price, qty)

    cdef inline int flow_room(self, int aggressor, int64_t qty) noexcept nogil:
        """E_OVERFLOW if recording `qty` would take a volume counter past int64."""
        cdef int64_t counter = self.flow_buy if aggressor == BID else (
            self.flow_sell if aggressor == ASK else self.flow_cross)
        if qty > INT64_MAX - counter:
            return E_OVERFLOW
        return OK

    cdef void c_clear(self) noexcept nogil
    cdef int c_seed(self, int side, int64_t price, int64_t qty) noexcept nogil
    cdef int c_draw(self, int side, int64_t price, int64_t qty, bint execute, int64_t *out_left) noexcept nogil
    cdef int c_draw_unknown(self, int kind, int side, int64_t price, int64_t qty) noexcept nogil
    cdef int c_set_anon(self, int side, int64_t price, int64_t qty) noexcept nogil
    cdef inline void c_touch(self, int side, int64_t *price, int64_t *qty) noexcept nogil:
        """The best level of `side`: its price and total qty, (0, 0) when empty."""
        cdef lob_ladder *lad = &self.ladder[side]
        cdef Level *lvl
        if lad.n:
            lvl = &self.levels[lad.levels[lad.n - 1]]
            price[0] = lvl.price
            qty[0] = lvl.qty
        else:
            price[0] = 0
            qty[0] = 0

    cdef inline uint32_t c_find(self, uint64_t order_id) noexcept nogil:
        return lob_idmap_find(&self.ids, order_id, <const char *>self.orders, sizeof(Order))

    cdef double c_side_qty(self, int side, Py_ssize_t levels) noexcept nogil
    cdef double c_microprice(self) noexcept nogil
    cdef double c_imbalance(self, Py_ssize_t levels) noexcept nogil

    # helpers
    cdef inline int reserve_order(self) noexcept nogil:
        """Room for one more order in the pool and the id map."""
        cdef int status
        if self.free_order == LOB_NIL and self.orders_used == self.orders_cap:
            status = self.grow_orders(1024 if self.orders_cap == 0 else <uint64_t>self.orders_cap * 2)
            if status:
                return status
        if lob_idmap_reserve(&self.ids) != 0:
            return E_NOMEM
        return OK

    cdef int grow_orders(self, uint64_t cap) noexcept nogil
    cdef int reserve_level(self, int side) noexcept nogil
    cdef uint32_t new_level(self, int side, int64_t price) noexcept nogil
    cdef inline int open_level(self, int side, int64_t price, int64_t qty, uint32_t *level) noexcept nogil:
        """The level at `price` into *level, opened if absent, with room for
        `qty` more; the last step that can fail, so callers change nothing
        before it."""
        cdef int status = self.room_at(side, price, qty, level)
        if status or level[0] != LOB_NIL:
            return status
        status = self.reserve_level(side)
        if status:
            return status
        level[0] = self.new_level(side, price)
        return OK

    cdef inline int room_at(self, int side, int64_t price, int64_t qty, uint32_t *level) noexcept nogil:
        """The level at `price` (LOB_NIL if none) into *level; E_OVERFLOW if
        `qty` more would take its total past int64."""
        cdef uint32_t found = lob_pxmap_find(&self.pxmap[side], price)
        if found == LOB_PXMAP_EMPTY:
            level[0] = LOB_NIL
            return OK
        level[0] = found
        if qty > INT64_MAX - self.levels[found].qty:
            return E_OVERFLOW
        return OK

    cdef inline void link_tail(self, uint32_t slot, uint32_t level) noexcept nogil:
        cdef Order *o = &self.orders[slot]
        cdef Level *lvl = &self.levels[level]
        o.level = level
        o.next = LOB_NIL
        o.prev = lvl.tail
        if lvl.tail != LOB_NIL:
            self.orders[lvl.tail].next = slot
        else:
            lvl.head = slot
        lvl.tail = slot
        lvl.qty += o.qty
        lvl.count += 1

    cdef int c_requeue(self, uint32_t slot, int64_t qty) noexcept nogil
    cdef inline void unlink(self, uint32_t slot) noexcept nogil:
        """Take an order out of its level's FIFO; drops the level if it empties."""
        cdef Order *o = &self.orders[slot]
        cdef Level *lvl = &self.levels[o.level]
        if o.prev != LOB_NIL:
            self.orders[o.prev].next = o.next
        else:
            lvl.head = o.next
        if o.next != LOB_NIL:
            self.orders[o.next].prev = o.prev
        else:
            lvl.tail = o.prev
        lvl.qty -= o.qty
        lvl.count -= 1
        if lvl.count == 0 and lvl.anon == 0:
            self.drop_level(o.level)

    cdef void drop_level(self, uint32_t level) noexcept nogil
    cdef inline void release_at(self, uint32_t slot, uint64_t bucket) noexcept nogil:
        """release_order when the id's bucket is known (from lob_idmap_locate)."""
        lob_idmap_erase_at(&self.ids, bucket)
        self.orders[slot].next = self.free_order
        self.free_order = slot

    cdef inline void release_order(self, uint32_t slot) noexcept nogil:
        """Forget an unlinked order: id map entry and pool slot."""
        lob_idmap_erase(&self.ids, self.orders[slot].order_id, slot)
        self.orders[slot].next = self.free_order
        self.free_order = slot

    cdef inline int check_cross(self, int side, int64_t price) noexcept nogil:
        cdef lob_ladder *opp = &self.ladder[1 - side]
        if opp.n == 0:
            return OK
        if side == BID:
            if price >= best_key_price(opp, ASK):
                return E_CROSSED
        elif price <= best_key_price(opp, BID):
            return E_CROSSED
        return OK

    cdef uint32_t _slot(self, object order_id) except? 0xFFFFFFFF
    cdef uint32_t _level_at(self, int side, int64_t price) noexcept
    cdef int _side_then_price(self, object side, object price) except -1
    cdef tuple _side_depth(self, int side, Py_ssize_t want)
    cdef int guard(self) except -1
    cdef raise_status(self, int status, uint64_t order_id, int side, int64_t price, int64_t qty,
                      object side_arg=*)
