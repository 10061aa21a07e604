# Declarations of the matching engine, for Cython modules that cimport it.
from libc.stdint cimport int64_t, uint64_t, uint8_t, int8_t

from lob._book cimport OrderBook


# One row of lob.ORDER_DTYPE (packed, 36 bytes): a request for submit_many.
cdef packed struct OrderRequest:
    int64_t ts
    uint8_t kind        # 1 limit, 2 market, 3 cancel, 4 modify
    int8_t side
    uint8_t tif         # 0 GTC, 1 IOC, 2 FOK
    uint8_t flags       # bit 0: post only
    uint64_t order_id
    int64_t price
    int64_t qty


# One row of lob.REPORT_DTYPE (packed, 41 bytes): what a request did.
cdef packed struct ReportRow:
    uint8_t status      # Outcome
    int64_t filled
    int64_t remaining
    int64_t cancelled   # qty that neither traded nor rests (a cancel's qty, IOC rest, refusals)
    int64_t first_fill  # index of its first fill in the fills array
    int64_t n_fills


# One row of lob.FILL_DTYPE (packed, 40 bytes).
cdef packed struct Fill:
    uint64_t taker_id
    uint64_t maker_id
    int64_t price
    int64_t qty
    int64_t maker_remaining


# Outcomes of a request (Report.status).
cdef enum Outcome:
    FILLED = 0
    PARTIAL = 1
    RESTING = 2
    CANCELLED = 3
    REJECTED = 4

# Time in force.
cdef enum Tif:
    GTC = 0
    IOC = 1
    FOK = 2


cdef class Report:
    cdef readonly str status
    cdef readonly object filled
    cdef readonly object remaining
    cdef bytes fill_bytes       # the fills as raw FILL_DTYPE rows; the array is made on first use
    cdef object fill_array


cdef class MatchingEngine:
    cdef readonly OrderBook book
    cdef Fill *fills            # the last request's fills, reused
    cdef Py_ssize_t nfills
    cdef Py_ssize_t fills_cap

    cdef int push_fill(self, uint64_t taker, uint64_t maker, int64_t price, int64_t qty,
                       int64_t maker_left) noexcept nogil
    cdef bint crosses(self, int side, int64_t limit, bint market) noexcept nogil
    cdef int64_t crossing_qty(self, int side, int64_t limit, bint market, int64_t want) noexcept nogil
    cdef int match(self, uint64_t taker, int side, int64_t limit, bint market, int64_t *left) noexcept nogil
    cdef int c_submit(self, uint64_t order_id, int side, int64_t price, int64_t qty, int tif,
                      bint post_only, bint market, int *outcome, int64_t *filled,
                      int64_t *remaining) noexcept nogil
    cdef int c_modify_order(self, uint64_t order_id, int64_t price, int64_t qty, int *outcome,
                            int64_t *filled, int64_t *remaining) noexcept nogil
    cdef Report report(self, int outcome, int64_t filled, int64_t remaining)
    cdef _raise_request(self, orders, Py_ssize_t index, int status, fills, reports)
