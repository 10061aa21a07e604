# Declarations of the matching engine, for Cython modules that cimport it.
from libc.stdint cimport int64_t, uint64_t

from lob._book cimport OrderBook


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
    cdef readonly object fills


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
    cdef Report report(self, int outcome, int64_t filled, int64_t remaining)
