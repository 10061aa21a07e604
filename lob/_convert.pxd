# Argument conversion at the Python boundary: the C types of the core from
# Python ints (or anything with __index__, such as NumPy integers), with
# errors that name the field and the value.  Floats are refused: the book
# never rounds a price or a quantity.
from libc.stdint cimport int64_t, uint64_t
from cpython.long cimport PyLong_Check
from cpython.exc cimport PyErr_Occurred, PyErr_Clear
from cpython.number cimport PyNumber_Index


# Declared noexcept on purpose: the helpers below check PyErr_Occurred
# themselves and replace CPython's message with one that names the field.
cdef extern from "Python.h":
    long PyLong_AsLong_raw "PyLong_AsLong"(object v) noexcept
    long long PyLong_AsLongLong_raw "PyLong_AsLongLong"(object v) noexcept
    unsigned long long PyLong_AsUnsignedLongLong_raw "PyLong_AsUnsignedLongLong"(object v) noexcept


cdef inline object _as_index(object value, str field):
    try:
        return PyNumber_Index(value)
    except TypeError:
        raise TypeError(f"{field} must be an integer, got {type(value).__name__} {value!r}") from None


cdef inline int64_t to_int64(object value, str field) except? -1:
    cdef int64_t r
    cdef object v = value if PyLong_Check(value) else _as_index(value, field)
    r = PyLong_AsLongLong_raw(v)
    if r == -1 and PyErr_Occurred():
        PyErr_Clear()
        raise OverflowError(f"{field}={value!r} is outside int64 [-2**63, 2**63)")
    return r


cdef inline uint64_t to_uint64(object value, str field) except? 0xFFFFFFFFFFFFFFFF:
    cdef uint64_t r
    cdef object v = value if PyLong_Check(value) else _as_index(value, field)
    r = PyLong_AsUnsignedLongLong_raw(v)
    if r == <uint64_t>-1 and PyErr_Occurred():
        PyErr_Clear()
        raise OverflowError(f"{field}={value!r} is outside [0, 2**64)")
    return r


cdef inline int to_side(object value) except -2:
    """0 or 1; -1 for any other integer (the caller raises ValueError after
    the other fields have converted, so type and range errors come first)."""
    cdef object v = value if PyLong_Check(value) else _as_index(value, "side")
    cdef long r = PyLong_AsLong_raw(v)
    if r == -1 and PyErr_Occurred():
        PyErr_Clear()
        return -1
    return <int>r if r == 0 or r == 1 else -1


cdef inline int to_aggressor(object value) except -2:
    """A trade's aggressor: 0 (BID, a buy), 1 (ASK, a sell) or 2 (none, as in
    an auction cross); -1 for any other integer."""
    cdef object v = value if PyLong_Check(value) else _as_index(value, "side")
    cdef long r = PyLong_AsLong_raw(v)
    if r == -1 and PyErr_Occurred():
        PyErr_Clear()
        return -1
    return <int>r if 0 <= r <= 2 else -1


cdef inline int to_valid_side(object value) except -1:
    cdef int side = to_side(value)
    if side < 0:
        raise ValueError(f"side must be 0 (BID) or 1 (ASK), got {value!r}")
    return side
