# Declarations of the matching engine, for Cython modules that cimport it.
from libc.stdint cimport int64_t, uint64_t, uint32_t, uint8_t, int8_t

from lob._core cimport lob_book
from lob._book cimport OrderBook


# One row of lob.ORDER_DTYPE (packed, 53 bytes): a request for submit_many.
cdef packed struct OrderRequest:
    int64_t ts
    uint8_t kind        # RequestKind: 1 limit, 2 market, 3 cancel, 4 modify
    int8_t side
    uint8_t tif         # Tif: 0 GTC, 1 IOC, 2 FOK
    uint8_t flags       # bit 0: post only
    uint64_t order_id
    int64_t price
    int64_t qty
    int64_t display_qty # 0: a plain order; else the iceberg's visible slice
    uint64_t owner      # 0: no owner (no self-trade prevention)
    uint8_t stp         # StpMode


# One row of lob.REPORT_DTYPE (packed, 41 bytes): what a request did.
cdef packed struct ReportRow:
    uint8_t status      # Outcome
    int64_t filled
    int64_t remaining
    int64_t cancelled   # qty that neither traded nor rests (a cancel's qty, IOC rest, STP, refusals)
    int64_t first_fill  # index of its first fill in the fills array
    int64_t n_fills


# One row of lob.FILL_DTYPE (packed, 40 bytes).
cdef packed struct Fill:
    uint64_t taker_id
    uint64_t maker_id
    int64_t price
    int64_t qty
    int64_t maker_remaining     # the maker's visible + hidden qty after the fill


# One row of lob.SELF_TRADE_DTYPE (packed, 40 bytes): a prevented self-trade.
cdef packed struct SelfTrade:
    uint64_t taker_id
    uint64_t maker_id
    int64_t taker_removed
    int64_t maker_removed
    int64_t maker_remaining


# What the engine keeps beside the book for an order with a hidden reserve or
# an owner, indexed by the order's book pool slot; valid while the book's
# lob_order.flags has HAS_EXTRA (the book zeroes flags when it reuses a slot).
cdef struct EngineExtra:
    int64_t hidden      # reserve not in the book
    int64_t display     # iceberg slice size; 0 for a plain order
    uint64_t owner      # 0: none
    int stp             # StpMode it was submitted with


# An incoming order, as the matching loop sees it.
cdef struct Taker:
    uint64_t order_id
    int side
    int64_t price       # the limit (the far end of int64 for a market order)
    int64_t qty
    int tif
    bint post_only
    bint market
    int64_t display     # 0: plain
    bint keep_display   # a modified iceberg stays one even when qty <= display
    uint64_t owner
    int stp


# Outcomes of a request (Report.status, REPORT_DTYPE.status): lob.Outcome.
cdef enum Outcome:
    FILLED = 0
    PARTIAL = 1
    RESTING = 2
    CANCELLED = 3
    REJECTED = 4
    REFUSED = 5         # submit_many(on_error="skip"): a malformed request, skipped

# Time in force: lob.Tif.
cdef enum TifCode:
    GTC = 0
    IOC = 1
    FOK = 2

# Request kinds of ORDER_DTYPE: lob.RequestKind.
cdef enum RequestKindCode:
    LIMIT = 1
    MARKET = 2
    CANCEL_REQUEST = 3
    MODIFY_REQUEST = 4

# Self-trade prevention: what happens when a taker meets its owner's order.
cdef enum SelfTradeMode:
    CANCEL_TAKER = 0
    CANCEL_MAKER = 1
    CANCEL_BOTH = 2
    DECREMENT = 3

# lob_order.flags bit the engine sets on orders that have an EngineExtra.
cdef enum:
    HAS_EXTRA = 1


cdef class Report:
    cdef readonly str status
    cdef readonly object filled
    cdef readonly object remaining
    cdef bytes fill_bytes       # the fills as raw FILL_DTYPE rows; the array is made on first use
    cdef object fill_array
    cdef bytes stp_bytes        # prevented self-trades as raw SELF_TRADE_DTYPE rows
    cdef object stp_array


cdef class MatchingEngine:
    cdef OrderBook _book        # private: read it through `book` (a BookView)
    cdef lob_book *core
    cdef object _view
    cdef Fill *fills            # the current request's (or batch's) fills, reused
    cdef Py_ssize_t nfills
    cdef Py_ssize_t fills_cap
    cdef SelfTrade *stps        # prevented self-trades, likewise
    cdef Py_ssize_t nstps
    cdef Py_ssize_t stps_cap
    cdef EngineExtra *extra     # per book pool slot
    cdef uint32_t extra_cap
    cdef Py_ssize_t n_extra     # resting orders with HAS_EXTRA: 0 keeps every path on the plain fast route
    cdef uint64_t hidden_bound  # >= the sum of every resting hidden reserve (saturating; 0 when none rests)
    cdef Py_ssize_t scratch_cap # room in `scratch`
    cdef uint32_t *scratch      # a level's queue during a bulk pass
    cdef readonly dict last_rejected
    cdef readonly object last_self_trades

    cdef int reserve_rows(self, Py_ssize_t fills, Py_ssize_t stps) noexcept nogil
    cdef void push_fill(self, uint64_t taker, uint64_t maker, int64_t price, int64_t qty,
                        int64_t maker_left) noexcept nogil
    cdef void push_stp(self, uint64_t taker, uint64_t maker, int64_t taker_removed,
                       int64_t maker_removed, int64_t maker_left) noexcept nogil
    cdef int reserve_extra(self) noexcept nogil
    cdef void set_extra(self, uint32_t slot, int64_t hidden, int64_t display, uint64_t owner,
                        int stp) noexcept nogil
    cdef void set_hidden(self, EngineExtra *x, int64_t hidden) noexcept nogil
    cdef void remove_slot(self, uint32_t slot) noexcept nogil
    cdef int64_t hidden_at(self, uint32_t slot) noexcept nogil
    cdef bint owned_by(self, uint32_t slot, uint64_t owner) noexcept nogil
    cdef int level_room(self, int side, int64_t price, int64_t add, uint32_t exclude) noexcept nogil
    cdef bint crosses(self, int side, int64_t limit, bint market) noexcept nogil
    cdef int64_t crossing_qty(self, const Taker *t, int64_t want, bint stop_at_self) noexcept nogil
    cdef int reserve_match(self, const Taker *t) noexcept nogil
    cdef void prevent(self, const Taker *t, uint32_t slot, int64_t *left, bint *stopped) noexcept nogil
    cdef void take(self, const Taker *t, uint32_t slot, int64_t *left, int64_t *filled) noexcept nogil
    cdef void match_level(self, const Taker *t, uint32_t level, int64_t *left, int64_t *filled,
                          bint *stopped) noexcept nogil
    cdef void bulk_rounds(self, const Taker *t, uint32_t level, int64_t *left, int64_t *filled) noexcept nogil
    cdef void match(self, const Taker *t, int64_t *left, int64_t *filled, bint *stopped) noexcept nogil
    cdef int c_submit(self, const Taker *t, int64_t ts, int *outcome, int64_t *filled,
                      int64_t *remaining) noexcept nogil
    cdef int c_cancel_order(self, uint64_t order_id, int64_t ts, int64_t *out_qty) noexcept nogil
    cdef int c_modify_order(self, uint64_t order_id, int64_t price, int64_t qty, int64_t ts, int *outcome,
                            int64_t *filled, int64_t *remaining) noexcept nogil
    cdef int begin(self, int64_t ts) noexcept nogil
    cdef int end(self, int status, int64_t before, int kind) noexcept nogil
    cdef Report report(self, int outcome, int64_t filled, int64_t remaining)
    cdef int fail(self, object side=*) except -1
