# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""LOBSTER CSV parsing in one pass over the bytes (lob.io.read_lobster*).

Message rows: time (decimal seconds after midnight), type, order id, size,
price, direction.  Orderbook rows: ask price, ask size, bid price, bid size
for each of K levels.  An optional header line, LF or CRLF line ends, and a
missing final newline are accepted; anything else is an error naming the line.
"""
from libc.stdint cimport int64_t, uint64_t, int8_t, uint8_t, INT64_MAX

from lob._events cimport Event

import numpy as np

from lob.dtypes import EVENT_DTYPE

if sizeof(Event) != EVENT_DTYPE.itemsize:
    raise ImportError(f"lob._events.Event is {sizeof(Event)} bytes, EVENT_DTYPE {EVENT_DTYPE.itemsize}")

HALT_DTYPE = np.dtype([("row", "<i8"), ("ts", "<i8"), ("state", "<i8")])

cdef enum:
    OK = 0
    E_FIELD = 1         # a field is not a number
    E_COLUMNS = 2       # wrong number of columns
    E_TYPE = 3          # message type not 1..7
    E_DIRECTION = 4     # direction not 1 / -1
    E_DECIMALS = 5      # more than 9 decimals in the time
    E_RANGE = 6         # an integer beyond int64

ERRORS = ("", "a field is not a number", "wrong number of columns", "message type is not 1 to 7",
          "direction is not 1 or -1", "time has more than 9 decimals", "a number is beyond int64")

# LOBSTER type -> event kind (type 7, halts, become no event)
cdef int KIND_OF_TYPE[8]
KIND_OF_TYPE[:] = [0, 1, 2, 3, 4, 5, 5, 0]


cdef inline bint is_digit(unsigned char c) noexcept nogil:
    return c >= 48 and c <= 57


cdef struct Cursor:
    const unsigned char *p
    const unsigned char *end
    int status


cdef inline int64_t read_int(Cursor *c) noexcept nogil:
    """A signed decimal integer, then a ',' or the line end (left in place)."""
    cdef bint neg = False
    cdef uint64_t v = 0
    cdef int digits = 0
    if c.p < c.end and (c.p[0] == 45 or c.p[0] == 43):  # '-' '+'
        neg = c.p[0] == 45
        c.p += 1
    while c.p < c.end and is_digit(c.p[0]):
        if v > <uint64_t>INT64_MAX / 10:   # one more digit could pass 2**64
            c.status = E_RANGE
            return 0
        v = v * 10 + (c.p[0] - 48)
        digits += 1
        c.p += 1
    if digits == 0:
        c.status = E_FIELD
        return 0
    if v > <uint64_t>INT64_MAX + (1 if neg else 0):
        c.status = E_RANGE
        return 0
    return -<int64_t>v if neg else <int64_t>v


cdef inline int64_t read_time_ns(Cursor *c) noexcept nogil:
    """Seconds with up to 9 decimals, as integer nanoseconds (exact)."""
    cdef int64_t whole = read_int(c), frac = 0
    cdef int decimals = 0
    if c.status:
        return 0
    if c.p < c.end and c.p[0] == 46:  # '.'
        c.p += 1
        while c.p < c.end and is_digit(c.p[0]):
            if decimals == 9:
                c.status = E_DECIMALS
                return 0
            frac = frac * 10 + (c.p[0] - 48)
            decimals += 1
            c.p += 1
    while decimals < 9:
        frac *= 10
        decimals += 1
    return whole * 1000000000 + frac


cdef inline bint at_line_end(const Cursor *c) noexcept nogil:
    return c.p == c.end or c.p[0] == 10 or (c.p[0] == 13 and (c.p + 1 == c.end or c.p[1] == 10))


cdef inline bint next_field(Cursor *c) noexcept nogil:
    """Step over a ',' (False and E_COLUMNS if the line ended instead)."""
    if c.p < c.end and c.p[0] == 44:
        c.p += 1
        return True
    c.status = E_COLUMNS if at_line_end(c) else E_FIELD
    return False


cdef inline const unsigned char *skip_line(const unsigned char *p, const unsigned char *end) noexcept nogil:
    while p < end and p[0] != 10:
        p += 1
    return p + 1 if p < end else end


cdef inline bint blank_line(const unsigned char *p, const unsigned char *end) noexcept nogil:
    while p < end and (p[0] == 32 or p[0] == 9 or p[0] == 13):
        p += 1
    return p == end or p[0] == 10


cdef inline bint header_line(const unsigned char *p, const unsigned char *end) noexcept nogil:
    # a data line starts with a digit, a sign or a point
    return p < end and not (is_digit(p[0]) or p[0] == 45 or p[0] == 43 or p[0] == 46)


cdef Py_ssize_t count_lines(const unsigned char *p, const unsigned char *end) noexcept nogil:
    cdef Py_ssize_t n = 1
    while p < end:
        if p[0] == 10:
            n += 1
        p += 1
    return n


def _fail(str source, Py_ssize_t line, int status):
    raise ValueError(f"{source}: line {line}: {ERRORS[status]}")


def parse_messages(const unsigned char[::1] data, str source="<bytes>"):
    """(events, halts, rows): one lob.EVENT_DTYPE event per message row except
    halts (type 7), the halts as (row, ts, state) with state -1 halt, 0 quoting
    resumes, 1 trading resumes, and each event's 0-based data row."""
    cdef const unsigned char *p = &data[0] if data.shape[0] else NULL
    cdef const unsigned char *end = p + data.shape[0]
    cdef const unsigned char *line_start
    cdef Py_ssize_t cap = count_lines(p, end), n_events = 0, n_halts = 0, row = 0, line = 0
    cdef Cursor c
    cdef int64_t ts, mtype, oid, size, price, direction
    cdef int side
    events = np.zeros(cap, dtype=EVENT_DTYPE)
    halts = np.zeros(cap, dtype=HALT_DTYPE)
    rows = np.zeros(cap, dtype=np.int64)
    cdef unsigned char[::1] event_bytes = events.view(np.uint8).reshape(-1)
    cdef Event *ev = <Event *>&event_bytes[0]
    cdef int64_t[:, ::1] halt_view = halts.view(np.int64).reshape(cap, 3)
    cdef int64_t[::1] row_view = rows
    c.status = OK
    with nogil:
        while p < end:
            line += 1
            line_start = p
            if blank_line(p, end) or (row == 0 and line == 1 and header_line(p, end)):
                p = skip_line(p, end)
                continue
            c.p = p
            c.end = end
            ts = read_time_ns(&c)
            if c.status == OK and next_field(&c):
                mtype = read_int(&c)
            if c.status == OK and next_field(&c):
                oid = read_int(&c)
            if c.status == OK and next_field(&c):
                size = read_int(&c)
            if c.status == OK and next_field(&c):
                price = read_int(&c)
            if c.status == OK and next_field(&c):
                direction = read_int(&c)
            if c.status == OK and not at_line_end(&c):
                c.status = E_COLUMNS if c.p[0] == 44 else E_FIELD
            if c.status == OK and (mtype < 1 or mtype > 7):
                c.status = E_TYPE
            if c.status == OK and direction != 1 and direction != -1:
                c.status = E_DIRECTION
            if c.status == OK and mtype != 7 and oid < 0:
                c.status = E_RANGE
            if c.status:
                break
            side = 0 if direction == 1 else 1
            if mtype == 7:
                halt_view[n_halts, 0] = row
                halt_view[n_halts, 1] = ts
                halt_view[n_halts, 2] = price
                n_halts += 1
            else:
                ev[n_events].ts = ts
                ev[n_events].kind = KIND_OF_TYPE[mtype]
                # executions name the resting side; a hidden execution's print the
                # aggressor's (the other one); a cross has none (NO_AGGRESSOR, 2)
                ev[n_events].side = side if mtype < 5 else (1 - side if mtype == 5 else 2)
                ev[n_events].order_id = <uint64_t>oid if mtype < 5 else 0
                ev[n_events].price = price
                ev[n_events].qty = size
                row_view[n_events] = row
                n_events += 1
            row += 1
            p = skip_line(c.p, end)
    if c.status:
        _fail(source, line, c.status)
    return events[:n_events].copy(), halts[:n_halts].copy(), rows[:n_events].copy()


def parse_book(const unsigned char[::1] data, str source="<bytes>"):
    """An (rows, 4K) int64 matrix of a LOBSTER orderbook file: per level
    ask price, ask size, bid price, bid size."""
    cdef const unsigned char *p = &data[0] if data.shape[0] else NULL
    cdef const unsigned char *end = p + data.shape[0]
    cdef const unsigned char *q
    cdef Py_ssize_t cap = count_lines(p, end), row = 0, line = 0, col, ncols = 0
    cdef Cursor c
    # the first data line fixes the column count
    q = p
    while q < end and (blank_line(q, end) or (ncols == 0 and header_line(q, end))):
        q = skip_line(q, end)
    if q < end:
        ncols = 1
        while q < end and q[0] != 10:
            if q[0] == 44:
                ncols += 1
            q += 1
    if ncols % 4:
        raise ValueError(f"{source}: {ncols} columns per row; a LOBSTER orderbook file has 4 per level")
    out = np.zeros((cap, ncols), dtype=np.int64)
    cdef int64_t[:, ::1] view = out
    c.status = OK
    with nogil:
        while p < end:
            line += 1
            if blank_line(p, end) or (row == 0 and line == 1 and header_line(p, end)):
                p = skip_line(p, end)
                continue
            c.p = p
            c.end = end
            for col in range(ncols):
                if col and not next_field(&c):
                    break
                view[row, col] = read_int(&c)
                if c.status:
                    break
            if c.status == OK and not at_line_end(&c):
                c.status = E_COLUMNS if c.p[0] == 44 else E_FIELD
            if c.status:
                break
            row += 1
            p = skip_line(c.p, end)
    if c.status:
        _fail(source, line, c.status)
    return out[:row].copy()
