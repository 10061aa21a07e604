# Growable C arrays of fixed-size rows (fills, own orders, timers): one
# doubling rule for every module that keeps them.
from libc.stdlib cimport realloc


cdef inline bint grow_rows(void **rows, Py_ssize_t *cap, Py_ssize_t need, size_t item) noexcept nogil:
    """Room for `need` rows of `item` bytes (doubling, from 16); False when
    out of memory (the buffer is as it was)."""
    cdef Py_ssize_t new_cap
    cdef void *grown
    if need <= cap[0]:
        return True
    new_cap = 16 if cap[0] == 0 else cap[0] * 2
    while new_cap < need:
        new_cap *= 2
    grown = realloc(rows[0], new_cap * item)
    if grown == NULL:
        return False
    rows[0] = grown
    cap[0] = new_cap
    return True
