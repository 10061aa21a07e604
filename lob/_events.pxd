# The C view of one row of lob.EVENT_DTYPE (src/lob_event.h: packed, 34
# bytes), shared by every module that reads or writes event arrays, and the
# checked way to take an array in (lob/_events.pyx).
from libc.stdint cimport int64_t, uint64_t, uint8_t, int8_t


cdef extern from "lob_event.h" nogil:
    # lob.EventKind
    enum:
        ADD "LOB_ADD"
        REDUCE "LOB_REDUCE"
        CANCEL "LOB_CANCEL"
        EXECUTE "LOB_EXECUTE"
        TRADE "LOB_TRADE"
        MODIFY "LOB_MODIFY"
        CLEAR "LOB_CLEAR"
        ANON "LOB_ANON"
    ctypedef struct Event "lob_event":
        int64_t ts
        uint8_t kind
        int8_t side
        uint64_t order_id
        int64_t price
        int64_t qty


cpdef object event_array(object events, str name=*)
cdef const Event *event_data(object array) except? NULL
