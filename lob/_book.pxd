# Declarations of the order-by-order book, so other Cython modules (the batch
# path, the matching engine, the generator) cimport it and call the C-level
# methods without Python overhead.
cimport cython
from libc.stdint cimport int64_t, uint64_t, uint32_t, uint8_t


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
    cdef int c_add(self, uint64_t order_id, int side, int64_t price, int64_t qty) noexcept nogil
    cdef int c_cancel(self, uint64_t order_id, int64_t *out_qty) noexcept nogil
    cdef int c_reduce(self, uint64_t order_id, int64_t qty, int64_t *out_left) noexcept nogil
    cdef int c_execute(self, uint64_t order_id, int64_t qty, int64_t *out_left) noexcept nogil
    cdef int c_modify(self, uint64_t order_id, int64_t price, int64_t qty) noexcept nogil
    cdef int c_trade(self, int side, int64_t price, int64_t qty) noexcept nogil
    cdef void c_record_trade(self, int aggressor, int64_t price, int64_t qty) noexcept nogil
    cdef int flow_room(self, int aggressor, int64_t qty) noexcept nogil
    cdef void c_clear(self) noexcept nogil
    cdef int c_seed(self, int side, int64_t price, int64_t qty) noexcept nogil
    cdef int c_draw(self, int side, int64_t price, int64_t qty, bint execute, int64_t *out_left) noexcept nogil
    cdef int c_draw_unknown(self, int kind, int side, int64_t price, int64_t qty) noexcept nogil
    cdef uint32_t c_find(self, uint64_t order_id) noexcept nogil
    cdef double c_side_qty(self, int side, Py_ssize_t levels) noexcept nogil
    cdef double c_microprice(self) noexcept nogil
    cdef double c_imbalance(self, Py_ssize_t levels) noexcept nogil

    # helpers
    cdef int reserve_order(self) noexcept nogil
    cdef int grow_orders(self, uint64_t cap) noexcept nogil
    cdef int reserve_level(self, int side) noexcept nogil
    cdef uint32_t new_level(self, int side, int64_t price) noexcept nogil
    cdef int open_level(self, int side, int64_t price, int64_t qty, uint32_t *level) noexcept nogil
    cdef int room_at(self, int side, int64_t price, int64_t qty, uint32_t *level) noexcept nogil
    cdef void link_tail(self, uint32_t slot, uint32_t level) noexcept nogil
    cdef int c_requeue(self, uint32_t slot, int64_t qty) noexcept nogil
    cdef void unlink(self, uint32_t slot) noexcept nogil
    cdef void drop_level(self, uint32_t level) noexcept nogil
    cdef void release_order(self, uint32_t slot) noexcept nogil
    cdef int check_cross(self, int side, int64_t price) noexcept nogil
    cdef uint32_t _slot(self, object order_id) except? 0xFFFFFFFF
    cdef uint32_t _level_at(self, int side, int64_t price) noexcept
    cdef int _side_then_price(self, object side, object price) except -1
    cdef tuple _side_depth(self, int side, Py_ssize_t want)
    cdef int guard(self) except -1
    cdef raise_status(self, int status, uint64_t order_id, int side, int64_t price, int64_t qty,
                      object side_arg=*)
