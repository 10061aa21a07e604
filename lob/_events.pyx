# cython: language_level=3
"""Event arrays in and out of C: the one place that checks the layout.

lob.EVENT_DTYPE and the C struct of src/lob_event.h must agree byte for byte;
importing this module checks it, and event_array() is how every loop
(OrderBook.apply, apply_routed, the simulator) takes an array from a caller.
"""
cimport numpy as cnp
import numpy as np

from lob.dtypes import EVENT_DTYPE

cnp.import_array()

if sizeof(Event) != EVENT_DTYPE.itemsize:
    raise ImportError(f"lob: the C event struct is {sizeof(Event)} bytes, lob.EVENT_DTYPE {EVENT_DTYPE.itemsize}")


cpdef object event_array(object events, str name="events"):
    """`events` as a C-contiguous 1-d array of lob.EVENT_DTYPE (no copy when
    it already is one), or TypeError naming the argument."""
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        raise TypeError(f"{name} must be a 1-d NumPy array of lob.EVENT_DTYPE, got "
                        f"{getattr(events, 'dtype', type(events).__name__)!r}")
    return np.ascontiguousarray(events)


cdef const Event *event_data(object array) except? NULL:
    """The rows of an array from event_array(); NULL when it is empty."""
    if cnp.PyArray_SIZE(array) == 0:
        return NULL
    return <const Event *>cnp.PyArray_DATA(array)
