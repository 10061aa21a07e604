# The C view of one row of lob.EVENT_DTYPE (a packed NumPy struct: 34 bytes,
# no padding), shared by every module that reads or writes event arrays.
from libc.stdint cimport int64_t, uint64_t, uint8_t, int8_t


# lob.EventKind in C
cdef enum:
    ADD = 1
    REDUCE = 2
    CANCEL = 3
    EXECUTE = 4
    TRADE = 5
    MODIFY = 6
    CLEAR = 7
    ANON = 8


cdef packed struct Event:
    int64_t ts
    uint8_t kind
    int8_t side
    uint64_t order_id
    int64_t price
    int64_t qty
