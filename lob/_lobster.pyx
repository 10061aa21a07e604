# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""LOBSTER files: the CSV parsers (one pass over the bytes) and the builder
of the event stream behind lob.io.read_lobster_stream.

Message rows: time (decimal seconds after midnight), type, order id, size,
price, direction.  Orderbook rows: ask price, ask size, bid price, bid size
for each of K levels.  A header line (first field starting with a letter),
a UTF-8 byte order mark, LF or CRLF line ends and a missing final newline
are accepted; anything else is a lob.errors.ParseError naming the file, the
line, the column and the value.

The stream builder drives an OrderBook through its Python API (a call per
event, no access to its internals) and writes every event it applies into
the output, so the output replayed into an empty OrderBook gives that book.
"""
from libc.stdint cimport int64_t, uint64_t, INT64_MAX, INT64_MIN

cimport cython

from lob._events cimport Event, ADD, REDUCE, CANCEL, EXECUTE, TRADE, ANON

import numpy as np

from lob.dtypes import EVENT_DTYPE
from lob.errors import (CrossedBookError, DuplicateOrderError, LobError, UnknownOrderError, error)

import lob._events  # checks the event layout

HALT_DTYPE = np.dtype([("row", "<i8"), ("ts", "<i8"), ("state", "<i8")])

#: LOBSTER's prices of an empty level in an orderbook file.
DUMMY_ASK = 9999999999
DUMMY_BID = -9999999999

MESSAGE_COLUMNS = ("time", "type", "order id", "size", "price", "direction")
BOOK_COLUMNS = ("ask price", "ask size", "bid price", "bid size")

cdef enum:
    OK = 0
    E_FIELD = 1         # a field is not a number
    E_COLUMNS = 2       # wrong number of columns
    E_TYPE = 3          # message type not 1..7
    E_DIRECTION = 4     # direction not 1 / -1
    E_DECIMALS = 5      # more than 9 decimals in the time
    E_RANGE = 6         # beyond int64 (a time: beyond int64 nanoseconds)
    E_NEGATIVE = 7      # a negative order id or size
    E_HALT = 8          # a type-7 row whose price is not -1, 0 or 1

# parser status -> lob.errors.FAILURES code
cdef int FAILURE_CODE[9]
FAILURE_CODE[:] = [0, 20, 21, 22, 23, 24, 25, 25, 20]

# LOBSTER type -> event kind (type 7, halts, become no event)
cdef int KIND_OF_TYPE[8]
KIND_OF_TYPE[:] = [0, ADD, REDUCE, CANCEL, EXECUTE, TRADE, TRADE, 0]

cdef uint64_t NS_WHOLE_MAX = 9223372036          # INT64_MAX // 10**9
cdef uint64_t NS_FRAC_MAX = 854775807            # INT64_MAX % 10**9


cdef inline bint is_digit(unsigned char c) noexcept nogil:
    return c >= 48 and c <= 57


cdef inline bint is_letter(unsigned char c) noexcept nogil:
    return (c >= 65 and c <= 90) or (c >= 97 and c <= 122) or c == 34   # or a quote


cdef struct Cursor:
    const unsigned char *p
    const unsigned char *end
    const unsigned char *field    # where the field being read starts
    int col                       # its column, 0-based
    int status


cdef inline int64_t read_int(Cursor *c) noexcept nogil:
    """A signed decimal integer, then a ',' or the line end (left in place)."""
    cdef bint neg = False
    cdef uint64_t v = 0
    cdef int digits = 0
    c.field = c.p
    if c.p < c.end and (c.p[0] == 45 or c.p[0] == 43):  # '-' '+'
        neg = c.p[0] == 45
        c.p += 1
    while c.p < c.end and is_digit(c.p[0]):
        if v > <uint64_t>INT64_MAX / 10:   # one more digit could pass 2**63 + 9
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
    if neg:
        # -(2**63) is INT64_MIN; negating it as an int64 would overflow
        return INT64_MIN if v == <uint64_t>INT64_MAX + 1 else -<int64_t>v
    return <int64_t>v


cdef inline int64_t read_time_ns(Cursor *c) noexcept nogil:
    """Seconds with up to 9 decimals, as exact integer nanoseconds: an
    optional sign, then digits, a point and digits (either part may be
    missing, not both).  A time beyond int64 nanoseconds is E_RANGE."""
    cdef bint neg = False
    cdef uint64_t whole = 0, frac = 0, ns
    cdef int digits = 0, decimals = 0
    c.field = c.p
    if c.p < c.end and (c.p[0] == 45 or c.p[0] == 43):
        neg = c.p[0] == 45
        c.p += 1
    while c.p < c.end and is_digit(c.p[0]):
        if whole > NS_WHOLE_MAX:
            c.status = E_RANGE
            return 0
        whole = whole * 10 + (c.p[0] - 48)
        digits += 1
        c.p += 1
    if c.p < c.end and c.p[0] == 46:  # '.'
        c.p += 1
        while c.p < c.end and is_digit(c.p[0]):
            if decimals == 9:
                c.status = E_DECIMALS
                return 0
            frac = frac * 10 + (c.p[0] - 48)
            decimals += 1
            c.p += 1
    if digits + decimals == 0:
        c.status = E_FIELD
        return 0
    while decimals < 9:
        frac *= 10
        decimals += 1
    # |time| <= 2**63 - 1 ns, or 2**63 when negative
    if whole > NS_WHOLE_MAX or (whole == NS_WHOLE_MAX and frac > NS_FRAC_MAX + (1 if neg else 0)):
        c.status = E_RANGE
        return 0
    ns = whole * 1000000000 + frac
    if neg:
        return INT64_MIN if ns == <uint64_t>INT64_MAX + 1 else -<int64_t>ns
    return <int64_t>ns


cdef inline bint at_line_end(const Cursor *c) noexcept nogil:
    return c.p == c.end or c.p[0] == 10 or (c.p[0] == 13 and (c.p + 1 == c.end or c.p[1] == 10))


cdef inline bint next_field(Cursor *c) noexcept nogil:
    """Step over a ',' (False and E_COLUMNS if the line ended instead)."""
    if c.p < c.end and c.p[0] == 44:
        c.p += 1
        c.col += 1
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


cdef Py_ssize_t count_lines(const unsigned char *p, const unsigned char *end) noexcept nogil:
    cdef Py_ssize_t n = 1
    while p < end:
        if p[0] == 10:
            n += 1
        p += 1
    return n


cdef const unsigned char *skip_bom(const unsigned char *p, const unsigned char *end) noexcept nogil:
    if end - p >= 3 and p[0] == 0xEF and p[1] == 0xBB and p[2] == 0xBF:
        return p + 3
    return p


cdef str field_text(const unsigned char *start, const unsigned char *end):
    """The field at `start` as text for a message (at most 40 characters)."""
    cdef const unsigned char *q = start
    while q < end and q[0] != 44 and q[0] != 10 and q[0] != 13 and q - start < 40:
        q += 1
    text = (<const char *>start)[:q - start].decode("utf-8", "replace")
    return text + ("..." if q - start == 40 else "")


cdef int line_columns(const unsigned char *line_start, const unsigned char *end) noexcept nogil:
    cdef int n = 1
    while line_start < end and line_start[0] != 10:
        if line_start[0] == 44:
            n += 1
        line_start += 1
    return n


cdef object parse_error(str source, Py_ssize_t line, const Cursor *c, const unsigned char *line_start,
                        tuple names, int expected_columns):
    """The ParseError of a failed row: the column, its name and the value."""
    cdef int status = c.status
    cdef int col = c.col
    if line_columns(line_start, c.end) != expected_columns:
        status = E_COLUMNS      # a row of the wrong shape: say that first
    if status == E_COLUMNS:
        detail = (f"{line_columns(line_start, c.end)} comma-separated columns; a row here has {expected_columns}"
                  + (f" ({', '.join(names)})" if len(names) == expected_columns else ""))
    else:
        name = f"{names[col % 4]} {col // 4 + 1}" if names is BOOK_COLUMNS else names[col]
        text = field_text(c.field, c.end)
        where = f"column {col + 1} ({name}): "
        if status == E_FIELD:
            detail = where + (f"{text!r} is not a decimal number of seconds" if names is MESSAGE_COLUMNS and col == 0
                              else f"{text!r} is not an integer")
        elif status == E_TYPE:
            detail = where + f"{text} is not a LOBSTER message type (1 to 7)"
        elif status == E_DIRECTION:
            detail = where + f"{text} is not 1 (buy) or -1 (sell)"
        elif status == E_DECIMALS:
            detail = where + f"{text!r} has more than 9 decimals"
        elif status == E_RANGE:
            detail = where + (f"{text!r} seconds is beyond int64 nanoseconds" if names is MESSAGE_COLUMNS and col == 0
                              else f"{text!r} is beyond int64")
        elif status == E_NEGATIVE:
            detail = where + f"{text} is negative"
        else:
            detail = where + f"a trading halt (type 7) has price -1, 0 or 1, got {text}"
    return error(FAILURE_CODE[status], source=source, line=line, detail=detail)


def parse_messages(const unsigned char[::1] data, str source="<bytes>"):
    """(events, halts, rows) of a LOBSTER message file: one lob.EVENT_DTYPE
    event per message row except halts (type 7), the halts as (row, ts,
    state) with state -1 halt, 0 quoting resumes, 1 trading resumes, and
    each event's 0-based data row.  ParseError on a malformed row or a file
    with no data row."""
    cdef const unsigned char *start = &data[0] if data.shape[0] else NULL
    cdef const unsigned char *end = start + data.shape[0]
    cdef const unsigned char *p = skip_bom(start, end)
    cdef const unsigned char *line_start = p
    cdef Py_ssize_t cap = count_lines(p, end), n_events = 0, n_halts = 0, row = 0, line = 0
    cdef Cursor c
    cdef int64_t ts = 0, mtype = 0, oid = 0, size = 0, price = 0, direction = 0
    cdef int side
    cdef bint header = False
    events = np.zeros(cap, dtype=EVENT_DTYPE)
    halts = np.zeros(cap, dtype=HALT_DTYPE)
    rows = np.zeros(cap, dtype=np.int64)
    cdef unsigned char[::1] event_bytes = events.view(np.uint8).reshape(-1)
    cdef Event *ev = <Event *>&event_bytes[0]
    cdef int64_t[:, ::1] halt_view = halts.view(np.int64).reshape(cap, 3)
    cdef int64_t[::1] row_view = rows
    c.status = OK
    c.end = end
    with nogil:
        while p < end:
            line += 1
            line_start = p
            if blank_line(p, end):
                p = skip_line(p, end)
                continue
            if row == 0 and not header and is_letter(p[0]):
                header = True
                p = skip_line(p, end)
                continue
            c.p = p
            c.col = 0
            ts = read_time_ns(&c)
            if c.status == OK and next_field(&c):
                mtype = read_int(&c)
                if c.status == OK and (mtype < 1 or mtype > 7):
                    c.status = E_TYPE
            if c.status == OK and next_field(&c):
                oid = read_int(&c)
                if c.status == OK and oid < 0 and mtype != 7:
                    c.status = E_NEGATIVE
            if c.status == OK and next_field(&c):
                size = read_int(&c)
                if c.status == OK and size < 0:
                    c.status = E_NEGATIVE
            if c.status == OK and next_field(&c):
                price = read_int(&c)
                if c.status == OK and mtype == 7 and (price < -1 or price > 1):
                    c.status = E_HALT
            if c.status == OK and next_field(&c):
                direction = read_int(&c)
                if c.status == OK and direction != 1 and direction != -1:
                    c.status = E_DIRECTION
            if c.status == OK and not at_line_end(&c):
                c.status = E_COLUMNS if c.p[0] == 44 else E_FIELD
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
        raise parse_error(source, line, &c, line_start, MESSAGE_COLUMNS, 6)
    if row == 0:
        raise error(28, source=source, detail="no data rows ("
                    + ("only a header line)" if header else "the file is empty)"))
    # views: the arrays are at most a line or two longer than the rows
    return events[:n_events], halts[:n_halts].copy(), rows[:n_events]


def parse_book(const unsigned char[::1] data, str source="<bytes>"):
    """An (rows, 4K) int64 matrix of a LOBSTER orderbook file: per level
    ask price, ask size, bid price, bid size.  ParseError on a malformed
    row, a negative size or a file with no data row."""
    cdef const unsigned char *start = &data[0] if data.shape[0] else NULL
    cdef const unsigned char *end = start + data.shape[0]
    cdef const unsigned char *p = skip_bom(start, end)
    cdef const unsigned char *q
    cdef const unsigned char *line_start = p
    cdef Py_ssize_t cap = count_lines(p, end), row = 0, line = 0, col, ncols = 0, first_line = 0
    cdef Cursor c
    cdef bint header = False
    # the first data line fixes the column count
    q = p
    while q < end:
        first_line += 1
        if blank_line(q, end) or (not header and is_letter(q[0])):
            header = header or not blank_line(q, end)
            q = skip_line(q, end)
            continue
        ncols = line_columns(q, end)
        break
    if ncols == 0:
        raise error(28, source=source, detail="no data rows ("
                    + ("only a header line)" if header else "the file is empty)"))
    if ncols % 4:
        raise error(21, source=source, line=first_line,
                    detail=f"{ncols} columns; an orderbook row has 4 per level "
                           f"(ask price, ask size, bid price, bid size)")
    out = np.empty((cap, ncols), dtype=np.int64)
    cdef int64_t[:, ::1] view = out
    header = False
    c.status = OK
    c.end = end
    with nogil:
        while p < end:
            line += 1
            line_start = p
            if blank_line(p, end):
                p = skip_line(p, end)
                continue
            if row == 0 and not header and is_letter(p[0]):
                header = True
                p = skip_line(p, end)
                continue
            c.p = p
            c.col = 0
            for col in range(ncols):
                if col and not next_field(&c):
                    break
                view[row, col] = read_int(&c)
                if c.status:
                    break
                if col % 2 == 1 and view[row, col] < 0:    # a size
                    c.status = E_NEGATIVE
                    break
            if c.status == OK and not at_line_end(&c):
                c.status = E_COLUMNS if c.p[0] == 44 else E_FIELD
            if c.status:
                break
            row += 1
            p = skip_line(c.p, end)
    if c.status:
        raise parse_error(source, line, &c, line_start, BOOK_COLUMNS, <int>ncols)
    return out[:row]


# ----------------------------------------------------------------------
# The stream builder

cdef int64_t NO_CAP_BID = INT64_MAX     # a bid cap that drops nothing
cdef int64_t NO_CAP_ASK = INT64_MIN


cdef str reason_of(exc):
    """The lob.errors reason name of an error the book raised."""
    if isinstance(exc, UnknownOrderError):
        return "unknown_id"
    if isinstance(exc, DuplicateOrderError):
        return "duplicate_id"
    if isinstance(exc, CrossedBookError):
        return "crossed"
    if isinstance(exc, OverflowError):
        return "overflow"
    if "above" in str(exc):
        return "qty_above_resting"
    return "bad_qty"


@cython.final
cdef class StreamBuilder:
    """An OrderBook and the events that made it: every change goes through
    one of the methods here, which applies it with the book's Python API and
    appends the event to the output, so the output replayed into an empty
    OrderBook gives this book event for event."""

    cdef readonly object book
    cdef object b_add, b_cancel, b_reduce, b_execute, b_trade, b_set_anonymous
    cdef object b_cancel_anonymous, b_execute_anonymous, b_orders_at, b_order, b_level_qty, b_depth
    # output, grown by doubling
    cdef object out_events, out_rows
    cdef Event *ev
    cdef int64_t *ev_row
    cdef Py_ssize_t n, cap
    # the time and message row of the events being written
    cdef public int64_t ts, row
    cdef bint alone
    cdef public Py_ssize_t stale, relabelled, unknown_left
    cdef public Py_ssize_t message_event    # the last message's own event, -1 if none
    cdef public list refused
    # the file's window after the previous row (faithful): bids from far_bid
    # up, asks from far_ask down; with messages alone nothing is inside
    cdef public int64_t far_bid, far_ask
    # the anonymous qty of each level, per side (every change goes through here)
    cdef list anon_at
    # when each known order was added, and when each level last entered the
    # window from outside: an order older than its level's entry sat outside
    # the window, so its size may have changed unseen
    cdef dict added_row
    cdef list entered_row

    def __init__(self, Py_ssize_t capacity, bint alone):
        from lob import OrderBook
        book = self.book = OrderBook()
        self.b_add, self.b_cancel, self.b_reduce, self.b_execute = book.add, book.cancel, book.reduce, book.execute
        self.b_trade, self.b_set_anonymous = book.trade, book.set_anonymous
        self.b_cancel_anonymous, self.b_execute_anonymous = book.cancel_anonymous, book.execute_anonymous
        self.b_orders_at, self.b_order, self.b_level_qty, self.b_depth = (
            book.orders_at, book.order, book.level_qty, book.depth)
        self.cap = 0
        self.n = 0
        self.grow(max(capacity, 16))
        self.alone = alone
        self.stale = self.relabelled = self.unknown_left = 0
        self.message_event = -1
        self.refused = []
        self.far_bid = INT64_MAX
        self.far_ask = INT64_MIN
        self.anon_at = [{}, {}]
        self.added_row = {}
        self.entered_row = [{}, {}]

    cdef int grow(self, Py_ssize_t cap) except -1:
        events = np.zeros(cap, dtype=EVENT_DTYPE)
        rows = np.zeros(cap, dtype=np.int64)
        if self.n:
            events[:self.n] = self.out_events[:self.n]
            rows[:self.n] = self.out_rows[:self.n]
        self.out_events, self.out_rows, self.cap = events, rows, cap
        cdef unsigned char[::1] raw = events.view(np.uint8).reshape(-1)
        cdef int64_t[::1] row_view = rows
        self.ev = <Event *>&raw[0]
        self.ev_row = &row_view[0]
        return 0

    cdef int emit(self, int kind, int side, uint64_t oid, int64_t price, int64_t qty) except -1:
        if self.n == self.cap:
            self.grow(2 * self.cap)
        cdef Event *e = &self.ev[self.n]
        e.ts = self.ts
        e.kind = kind
        e.side = side
        e.order_id = oid
        e.price = price
        e.qty = qty
        self.ev_row[self.n] = self.row
        self.n += 1
        return 0

    def result(self):
        """(events, rows) written so far."""
        return self.out_events[:self.n].copy(), self.out_rows[:self.n].copy()

    @property
    def written(self):
        return self.n

    # -- a level

    cdef inline int64_t order_qty(self, object oid) except? -1:
        return self.b_order(oid)[2]

    cdef inline int64_t anonymous(self, int side, int64_t price) except? -1:
        return (<dict>self.anon_at[side]).get(price, 0)

    cdef int drew(self, int side, int64_t price, int64_t qty) except -1:
        """The book drew qty from the anonymous qty at (side, price)."""
        anon = <dict>self.anon_at[side]
        anon[price] = anon[price] - qty
        return 0

    cpdef bint uncertain(self, uint64_t oid, int side, int64_t price):
        """Whether the known order `oid` at (side, price) sat outside the
        file's window since it was added (its size may have changed unseen)."""
        entered = (<dict>self.entered_row[side]).get(price)
        if entered is None:
            return False
        added = self.added_row.get(oid)
        return added is not None and added < entered

    cdef int set_anonymous(self, int side, int64_t price, int64_t qty) except -1:
        """An ANON event.  When it grows the level, the other side's levels it
        would cross go first: the file proves them stale."""
        if qty > self.anonymous(side, price):
            self.stale += self.drop_through(1 - side, price)
        self.b_set_anonymous(side, price, qty)
        if qty:
            (<dict>self.anon_at[side])[price] = qty
        else:
            (<dict>self.anon_at[side]).pop(price, None)
        self.emit(ANON, side, 0, price, qty)
        return 0

    cdef int drop_level(self, int side, int64_t price) except -1:
        """The level at (side, price) goes: its known orders as CANCEL events
        (oldest first), its anonymous qty as an ANON event to 0."""
        cdef int64_t qty
        for oid in self.b_orders_at(side, price):
            qty = self.b_cancel(oid)
            self.emit(CANCEL, side, oid, price, qty)
        if self.b_level_qty(side, price):
            self.set_anonymous(side, price, 0)
        return 0

    cdef Py_ssize_t drop_beyond(self, int side, int64_t cap) except -1:
        """Drop the levels of `side` better than cap (bids above it, asks
        below it); returns how many went."""
        cdef Py_ssize_t n = 0
        cdef int64_t best
        book = self.book
        while True:
            top = book.best_bid if side == 0 else book.best_ask
            if top is None:
                return n
            best = top
            if (side == 0 and best <= cap) or (side == 1 and best >= cap):
                return n
            self.drop_level(side, best)
            n += 1

    cdef Py_ssize_t drop_through(self, int side, int64_t price) except -1:
        """Drop the levels of `side` that an order at `price` on the other
        side would lock or cross."""
        if side == 0:
            return self.drop_beyond(0, price - 1 if price > INT64_MIN else price)
        return self.drop_beyond(1, price + 1 if price < INT64_MAX else price)

    cdef bint relabel(self, int side, int64_t price, int64_t need) except -1:
        """Known orders at (side, price) become anonymous qty, oldest first,
        until the anonymous qty there covers `need` (a message of an order
        the book does not hold names that much there).  The level total does
        not change.  False when the whole level holds less than `need`."""
        cdef int64_t total = self.b_level_qty(side, price)
        cdef int64_t anon = self.anonymous(side, price), qty
        if total < need or total == 0:
            return False
        for oid in self.b_orders_at(side, price):
            if anon >= need:
                break
            qty = self.b_cancel(oid)
            self.emit(CANCEL, side, oid, price, qty)
            anon += qty
            self.relabelled += 1
        self.set_anonymous(side, price, anon)
        return True

    cdef list levels_within(self, int side, int64_t lo, int64_t hi):
        """Our prices of `side` in a window range: bids lo <= p < hi, asks
        hi < p <= lo (lo is the far end, hi the near one)."""
        cdef Py_ssize_t want = 16
        cdef int64_t last
        while True:
            depth = self.b_depth(want)
            prices = (depth.bid_price if side == 0 else depth.ask_price).tolist()
            if len(prices) < want:
                break
            last = prices[len(prices) - 1]
            if (side == 0 and last < lo) or (side == 1 and last > lo):
                break
            want *= 4
        if side == 0:
            return [p for p in prices if lo <= p < hi]
        return [p for p in prices if hi < p <= lo]

    cdef Py_ssize_t set_level(self, int side, int64_t price, int64_t target) except -1:
        """Make the level at (side, price) total `target` (> 0), as the
        orderbook file says: known orders it no longer has go as CANCEL
        events, oldest first; the rest is anonymous qty (an ANON event).
        Levels of the other side it would cross go first.  Returns the
        levels changed."""
        cdef int64_t total = self.b_level_qty(side, price)
        cdef int64_t anon = self.anonymous(side, price)
        cdef int64_t known_qty = total - anon, qty
        cdef Py_ssize_t changed
        if total == target:
            return 0
        changed = 1 + self.drop_through(1 - side, price)
        if known_qty > target:
            for oid in self.b_orders_at(side, price):
                if known_qty <= target:
                    break
                qty = self.b_cancel(oid)
                self.emit(CANCEL, side, oid, price, qty)
                known_qty -= qty
        if target - known_qty != anon or self.b_level_qty(side, price) != target:
            self.set_anonymous(side, price, target - known_qty)
        return changed

    def resync(self, ranges, listed):
        try:
            return self._resync(ranges, listed)
        except (LobError, ValueError, OverflowError):
            return 1      # what was applied is in the output; the replay check shows the rest

    cdef Py_ssize_t _resync(self, ranges, listed) except -1:
        """Levels of the orderbook file's row in the given ranges: ours that
        the row lacks go, the row's that differ take its size.  Both sides
        drop before either is set, so a level that left one side and came
        back on the other never crosses its stale self.  ranges: per side
        (far, near) or None; listed: per side {price: qty}.  Returns the
        levels changed."""
        cdef Py_ssize_t changed = 0
        cdef int side
        cdef int64_t lo, hi, price
        for side in range(2):
            if ranges[side] is None:
                continue
            lo, hi = ranges[side]
            for price in self.levels_within(side, lo, hi):
                if price not in listed[side]:
                    self.drop_level(side, price)
                    changed += 1
        for side in range(2):
            if ranges[side] is None:
                continue
            lo, hi = ranges[side]
            for price, qty in listed[side].items():
                if (side == 0 and lo <= price < hi) or (side == 1 and hi < price <= lo):
                    changed += self.set_level(side, price, qty)
                    # what rests there sat outside the window: its sizes may be stale
                    (<dict>self.entered_row[side])[price] = self.row
        return changed

    # -- messages

    cdef int refuse(self, exc) except -1:
        self.refused.append((self.row, reason_of(exc)))
        return 0

    # The repairs below never raise a book error (a damaged file can ask for
    # a crossed or overflowing level): what applied is in the output, and the
    # replay check, or the messages that needed it, show the rest.

    def seed(self, int side, int64_t price, int64_t qty):
        """Anonymous qty `qty` more at (side, price), the other side's
        crossing levels dropped first (they are stale)."""
        try:
            self.set_anonymous(side, price, self.anonymous(side, price) + qty)
        except (LobError, ValueError, OverflowError):
            pass

    def drop_stale(self, int64_t bid_cap, int64_t ask_cap):
        """Drop bids above bid_cap and asks below ask_cap (NO_CAP: none)."""
        try:
            if bid_cap != NO_CAP_BID:
                self.stale += self.drop_beyond(0, bid_cap)
            if ask_cap != NO_CAP_ASK:
                self.stale += self.drop_beyond(1, ask_cap)
        except (LobError, ValueError, OverflowError):
            pass

    def trade_print(self, int side, int64_t price, int64_t qty):
        try:
            self.b_trade(side, price, qty)
        except (LobError, ValueError, OverflowError) as exc:
            self.refuse(exc)
            return
        self.emit(TRADE, side, 0, price, qty)

    cdef int unplace(self, uint64_t oid, int side, int64_t price, int64_t qty) except -1:
        """A known order proven not to rest where the book holds it goes: as
        anonymous qty in its place when that level is inside the file's
        window (the file settled its total), else simply cancelled."""
        self.b_cancel(oid)
        self.emit(CANCEL, side, oid, price, qty)
        self.relabelled += 1
        if (side == 0 and price >= self.far_bid) or (side == 1 and price <= self.far_ask):
            self.set_anonymous(side, price, self.anonymous(side, price) + qty)
        return 0

    def settle(self, uint64_t oid, int side, int64_t price, int64_t file_qty):
        """After a message of an order whose size may have changed unseen
        (it sat outside the window), the file's total at its level settles
        it: the order takes the difference first (a full execution leaves no
        remainder), then the anonymous qty.  Returns True if it changed."""
        try:
            return self._settle(oid, side, price, file_qty)
        except (LobError, ValueError, OverflowError):
            return True

    cdef bint _settle(self, uint64_t oid, int side, int64_t price, int64_t file_qty) except -1:
        cdef int64_t ours = self.b_level_qty(side, price), diff
        if ours == file_qty:
            return False
        diff = ours - file_qty
        if diff > 0 and oid in self.book:
            diff -= self.shrink(oid, side, price, diff)
        if diff > 0:
            self.take(side, price, diff)
        elif diff < 0:
            self.set_anonymous(side, price, self.anonymous(side, price) - diff)
        self.relabelled += 1
        return True

    cdef int64_t take(self, int side, int64_t price, int64_t amount) except -1:
        """Remove `amount` from the level at (side, price) whose known sizes
        went stale: the anonymous qty first, then known orders, oldest first
        (CANCEL / REDUCE events).  Returns what the level did not hold."""
        cdef int64_t anon = self.anonymous(side, price), part
        if anon:
            part = anon if anon < amount else amount
            self.set_anonymous(side, price, anon - part)
            amount -= part
        if amount <= 0:
            return 0
        for oid in self.b_orders_at(side, price):
            if amount <= 0:
                break
            amount -= self.shrink(oid, side, price, amount)
        return amount

    cdef int64_t shrink(self, uint64_t oid, int side, int64_t price, int64_t amount) except -1:
        """Take up to `amount` (> 0) from the known order `oid`: a CANCEL when
        that is all of it, else a REDUCE.  Returns what it took."""
        cdef int64_t qty = self.order_qty(oid)
        if qty <= amount:
            self.b_cancel(oid)
            self.emit(CANCEL, side, oid, price, qty)
            return qty
        self.b_reduce(oid, amount)
        self.emit(REDUCE, side, oid, price, amount)
        return amount

    cdef int message_emit(self, int kind, int side, uint64_t oid, int64_t price, int64_t qty) except -1:
        self.emit(kind, side, oid, price, qty)
        self.message_event = self.n - 1
        return 0

    cpdef message(self, int kind, int side, uint64_t oid, int64_t price, int64_t qty):
        """One LOBSTER message, made to fit the book where the file proves
        the book stale: a known id added again replaces the old order; an
        add that would cross drops the other side's crossing levels; a
        delete removes exactly its size (trust the message: a difference
        from the known order's size is anonymous qty); a message of an
        order the book does not hold draws on the anonymous qty at its
        (side, price), known orders there becoming anonymous if needed.
        What still cannot apply is refused (listed), except, with messages
        alone, an execution the book cannot draw, kept as a trade print.
        Sets message_event to the index of the message's own event (-1 if
        it made none)."""
        cdef int64_t resting, old_price
        cdef int old_side
        book = self.book
        self.message_event = -1
        try:
            if kind == ADD:
                if oid in book:
                    # added again: the old order went while it sat outside the window
                    old_side, old_price, resting = self.b_order(oid)[:3]
                    self.unplace(oid, old_side, old_price, resting)
                try:
                    self.b_add(oid, side, price, qty)
                except CrossedBookError:
                    self.stale += self.drop_through(1 - side, price)
                    self.b_add(oid, side, price, qty)
                self.added_row[oid] = self.row
                self.message_emit(ADD, side, oid, price, qty)
                return
            if kind == TRADE:
                self.b_trade(side, price, qty)
                self.message_emit(TRADE, side, 0, price, qty)
                return
            if kind != CANCEL and kind != REDUCE and kind != EXECUTE:
                raise ValueError(f"kind must be a LOBSTER message's, got {kind}")
            if qty <= 0:
                raise ValueError(f"qty must be > 0, got {qty}")
            if oid in book:
                old_side, old_price, resting = self.b_order(oid)[:3]
                if old_side != side or old_price != price:
                    # the order moved while it sat outside the window: it is not
                    # where we hold it; the message draws where it says
                    self.unplace(oid, old_side, old_price, resting)
                elif kind == CANCEL:
                    self.added_row.pop(oid, None)
                    self.b_cancel(oid)
                    self.message_emit(CANCEL, side, oid, price, qty)
                    if resting != qty:
                        # the order's size went stale while it sat outside the window:
                        # the level loses exactly the message's size
                        self.relabelled += 1
                        if resting > qty:
                            self.set_anonymous(side, price, self.anonymous(side, price) + resting - qty)
                        else:
                            self.take(side, price, qty - resting)
                    return
                elif qty <= resting:
                    if kind == REDUCE:
                        self.b_reduce(oid, qty)
                    else:
                        self.b_execute(oid, qty)
                    self.message_emit(kind, side, oid, price, qty)
                    return
                else:
                    # the message takes more than the order holds here: its size went stale
                    self.b_cancel(oid)
                    self.emit(CANCEL, side, oid, price, resting)
                    self.set_anonymous(side, price, self.anonymous(side, price) + resting)
                    self.relabelled += 1
            if self.anonymous(side, price) < qty and not self.relabel(side, price, qty):
                if self.alone:
                    self.unknown_left += 1
                    if kind == EXECUTE:
                        # the trade happened, against qty the file never showed
                        self.b_trade(1 - side, price, qty)
                        self.message_emit(TRADE, 1 - side, 0, price, qty)
                    return
                raise UnknownOrderError(f"order_id={oid} is not resting and the anonymous qty at "
                                        f"{('bid', 'ask')[side]} price={price} is below {qty}")
            if kind == EXECUTE:
                self.b_execute_anonymous(side, price, qty)
            else:
                self.b_cancel_anonymous(side, price, qty)
            self.drew(side, price, qty)
            self.message_emit(kind, side, oid, price, qty)
        except (LobError, ValueError, OverflowError) as exc:
            self.refuse(exc)


def window_bounds(book_matrix):
    """Per orderbook row and side, the far end of the file's window and the
    levels it lists.  A side listing all K levels covers prices from its
    K-th level inward; one listing fewer covers the whole side (far end
    -2**62 for bids, 2**62 for asks).  Returns (bid_far, ask_far, n_bid,
    n_ask) as int64 arrays."""
    m = np.asarray(book_matrix)
    k = m.shape[1] // 4
    ask_price, ask_qty, bid_price, bid_qty = (m[:, j::4] for j in range(4))
    n_bid = np.cumprod((bid_qty > 0) & (bid_price != DUMMY_BID), axis=1).sum(axis=1)
    n_ask = np.cumprod((ask_qty > 0) & (ask_price != DUMMY_ASK), axis=1).sum(axis=1)
    far = 1 << 62
    if k == 0:
        return (np.full(len(m), -far), np.full(len(m), far), n_bid, n_ask)
    bid_far = np.where(n_bid == k, bid_price[:, k - 1], -far)
    ask_far = np.where(n_ask == k, ask_price[:, k - 1], far)
    return bid_far.astype(np.int64), ask_far.astype(np.int64), n_bid.astype(np.int64), n_ask.astype(np.int64)


cdef dict listed_levels(int64_t[:, ::1] m, Py_ssize_t r, int price_col, int qty_col, Py_ssize_t n):
    cdef Py_ssize_t k
    return {m[r, 4 * k + price_col]: m[r, 4 * k + qty_col] for k in range(n)}


cdef bint file_qty(int64_t[:, ::1] m, Py_ssize_t r, int side, int64_t price, Py_ssize_t listed, int64_t far_bid,
                   int64_t far_ask, int64_t *qty) noexcept:
    """The qty the orderbook row r gives at (side, price): its level's size,
    or 0 when the price is inside the row's window but not listed.  False
    when the price is outside the window (the row says nothing there)."""
    cdef Py_ssize_t k
    cdef int price_col = 2 if side == 0 else 0
    for k in range(listed):
        if m[r, 4 * k + price_col] == price:
            qty[0] = m[r, 4 * k + price_col + 1]
            return True
    if (side == 0 and price >= far_bid) or (side == 1 and price <= far_ask):
        qty[0] = 0
        return True
    return False


def faithful_stream(events, rows, book_matrix, forced=(), Py_ssize_t max_details=5):
    """The events that reproduce a LOBSTER pair: orderbook row 0 seeded as
    ANON events (after a TRADE print when message 0 is a trade), then each
    message row from 1 on, then the resync of levels that entered the
    file's window from outside (their size from the file).  At the rows in
    `forced` the whole window is also set from the file.

    Returns a dict: events, rows (the message row of each event),
    message_event (per row, the index of its message's event or -1),
    resynced (rows), resynced_levels, forced (rows where setting the whole
    window changed something), details (row, side, ours, file) of those,
    refused [(row, reason)], relabelled, stale.
    """
    cdef int64_t[:, ::1] m = np.ascontiguousarray(book_matrix, dtype=np.int64)
    cdef Py_ssize_t n_rows = m.shape[0], r, j, n_msg = len(events)
    cdef const unsigned char[::1] raw = np.ascontiguousarray(events).view(np.uint8).reshape(-1) if n_msg else \
        np.zeros(1, np.uint8)
    cdef const Event *msg = <const Event *>&raw[0]
    cdef int64_t[::1] event_at = np.full(max(n_rows, 1), -1, dtype=np.int64)
    message_event_a = np.full(n_rows, -1, dtype=np.int64)
    cdef int64_t[::1] message_event = message_event_a
    cdef int64_t[::1] row_of = np.ascontiguousarray(rows, dtype=np.int64)
    cdef Py_ssize_t k = m.shape[1] // 4
    cdef StreamBuilder b = StreamBuilder(n_msg + 4 * k + 16, False)
    cdef int side
    for j in range(n_msg):
        if 0 <= row_of[j] < n_rows:
            event_at[row_of[j]] = j
    bid_far_a, ask_far_a, n_bid_a, n_ask_a = window_bounds(book_matrix)
    cdef int64_t[::1] bid_far = bid_far_a, ask_far = ask_far_a, n_bid = n_bid_a, n_ask = n_ask_a
    forced_rows = set(int(x) for x in forced)
    resynced = []
    forced_changed = []
    details = []
    cdef Py_ssize_t resynced_levels = 0, changed
    cdef int kind
    cdef bint settle
    cdef int64_t qty_there = 0
    settled = []
    if n_rows == 0:
        return dict(events=np.zeros(0, EVENT_DTYPE), rows=np.zeros(0, np.int64), message_event=np.zeros(0, np.int64),
                    resynced=np.zeros(0, np.int64), resynced_levels=0, forced=np.zeros(0, np.int64), details=[],
                    settled=np.zeros(0, np.int64),
                    refused=[], relabelled=0, stale=0)
    # row 0 is the book after message 0: a trade of message 0 is kept as a print
    j = event_at[0]
    b.row = 0
    b.ts = msg[j].ts if j >= 0 else (msg[0].ts if n_msg else 0)
    if j >= 0 and msg[j].kind == EXECUTE:
        b.trade_print(1 - msg[j].side, msg[j].price, msg[j].qty)
    elif j >= 0 and msg[j].kind == TRADE:
        b.trade_print(msg[j].side, msg[j].price, msg[j].qty)
    seeds = [(1, p, q) for p, q in listed_levels(m, 0, 0, 1, n_ask[0]).items()]
    seeds += [(0, p, q) for p, q in listed_levels(m, 0, 2, 3, n_bid[0]).items()]
    for side, p, q in seeds:
        b.seed(side, p, q)
    resync_at = np.zeros(n_rows, dtype=np.uint8)
    if n_rows > 1:
        resync_at[1:] = (bid_far_a[1:] < bid_far_a[:n_rows - 1]) | (ask_far_a[1:] > ask_far_a[:n_rows - 1])
    for r in forced_rows:
        if 0 < r < n_rows:
            resync_at[r] = 2
    cdef const unsigned char[::1] todo = resync_at
    for r in range(1, n_rows):
        b.row = r
        j = event_at[r]
        if j >= 0:
            b.ts = msg[j].ts
            b.far_bid = bid_far[r - 1]
            b.far_ask = ask_far[r - 1]
            kind = msg[j].kind
            settle = ((kind == REDUCE or kind == EXECUTE) and (msg[j].side == 0 or msg[j].side == 1)
                      and b.uncertain(msg[j].order_id, msg[j].side, msg[j].price))
            b.message(kind, msg[j].side, msg[j].order_id, msg[j].price, msg[j].qty)
            message_event[r] = b.message_event
            if settle and file_qty(m, r, msg[j].side, msg[j].price, n_bid[r] if msg[j].side == 0 else n_ask[r],
                                   bid_far[r], ask_far[r], &qty_there):
                if b.settle(msg[j].order_id, msg[j].side, msg[j].price, qty_there):
                    settled.append(r)
        if not todo[r]:
            continue
        listed = (listed_levels(m, r, 2, 3, n_bid[r]), listed_levels(m, r, 0, 1, n_ask[r]))
        ranges = [None, None]
        if bid_far[r] < bid_far[r - 1]:
            ranges[0] = (bid_far[r], bid_far[r - 1])
        if ask_far[r] > ask_far[r - 1]:
            ranges[1] = (ask_far[r], ask_far[r - 1])
        if ranges[0] is not None or ranges[1] is not None:
            changed = b.resync(ranges, listed)
            if changed:
                resynced.append(r)
                resynced_levels += changed
        if todo[r] == 2:
            ours = b.book.depth(k)
            if b.resync([(bid_far[r], 1 << 62), (ask_far[r], -(1 << 62))], listed):
                forced_changed.append(r)
                if len(details) < max_details:
                    details.append((r, ours, listed))
    out_events, out_rows = b.result()
    return dict(events=out_events, rows=out_rows, message_event=message_event_a,
                resynced=np.array(resynced, dtype=np.int64), resynced_levels=resynced_levels,
                forced=np.array(forced_changed, dtype=np.int64), details=details, refused=b.refused,
                settled=np.array(settled, dtype=np.int64),
                relabelled=b.relabelled, stale=b.stale)


def messages_plan(events, levels, bint lookahead):
    """What a message file proves about the book, and from when.

    Every message on a side (types 1-4) proves the other side holds nothing
    at or through its price; a visible execution proves its price is the
    touch of its side, and so does any message of a level-1 file.  A
    message of an id the file never added proves that order rested at its
    price with (at least) the sizes of all its messages.  The touch of a
    side changes only with the messages of that side, so with lookahead
    what a message proves about its side's touch holds from just after the
    previous message of that side, and the repair goes there; without, it
    goes just before the message.

    Returns (bid_cap, ask_cap, seeds, unknown): caps per position (applied
    before message i; bids above bid_cap and asks below ask_cap are
    stale), seeds as an int64 (n, 4) array of (position, side, price, qty)
    sorted by position, and the number of messages naming an unknown id.
    """
    cdef Py_ssize_t n = len(events), i
    cdef const unsigned char[::1] raw = np.ascontiguousarray(events).view(np.uint8).reshape(-1) if n else \
        np.zeros(1, np.uint8)
    cdef const Event *e = <const Event *>&raw[0]
    bid_cap_a = np.full(n + 1, NO_CAP_BID, dtype=np.int64)
    ask_cap_a = np.full(n + 1, NO_CAP_ASK, dtype=np.int64)
    cdef int64_t[::1] bid_cap = bid_cap_a, ask_cap = ask_cap_a
    cdef int64_t cb, ca, cur_b = NO_CAP_BID, cur_a = NO_CAP_ASK
    cdef bint level_one = levels == 1
    cdef int kind, side
    cdef Py_ssize_t last_bid = -1, last_ask = -1, unknown = 0
    prev_same = np.full(n, -1, dtype=np.int64)
    cdef int64_t[::1] prev = prev_same
    added = set()
    first = {}
    life = {}
    for i in range(n):
        kind = e[i].kind
        if kind == ADD:
            added.add(e[i].order_id)
        elif (kind == CANCEL or kind == REDUCE or kind == EXECUTE) and e[i].order_id not in added:
            unknown += 1
            oid = e[i].order_id
            life[oid] = life.get(oid, 0) + e[i].qty
            if oid not in first:
                first[oid] = i
        if 1 <= kind <= 4:
            prev[i] = last_bid if e[i].side == 0 else last_ask
            if e[i].side == 0:
                last_bid = i
            else:
                last_ask = i
    # what message i proves, then where it goes
    for i in range(n - 1, -1, -1):
        kind = e[i].kind
        side = e[i].side
        cb, ca = NO_CAP_BID, NO_CAP_ASK
        if 1 <= kind <= 4 and (side == 0 or side == 1):
            if side == 1:
                cb = e[i].price - 1 if e[i].price > INT64_MIN else e[i].price
                if kind == EXECUTE or level_one:
                    ca = e[i].price
            else:
                ca = e[i].price + 1 if e[i].price < INT64_MAX else e[i].price
                if kind == EXECUTE or level_one:
                    cb = e[i].price
        if not lookahead:
            bid_cap[i] = cb
            ask_cap[i] = ca
            continue
        if 1 <= kind <= 4 and side == 0:
            bid_cap[i + 1] = cur_b          # what the bids' next messages prove, from here on
            cur_b = cb
            cur_a = ca if ca > cur_a else cur_a
        elif 1 <= kind <= 4 and side == 1:
            ask_cap[i + 1] = cur_a
            cur_a = ca
            cur_b = cb if cb < cur_b else cur_b
    if lookahead:
        bid_cap[0] = cur_b
        ask_cap[0] = cur_a
    seeds = np.zeros((len(first), 4), dtype=np.int64)
    for k, (oid, i) in enumerate(first.items()):
        seeds[k, 0] = (prev[i] + 1) if lookahead else i
        seeds[k, 1] = e[i].side
        seeds[k, 2] = e[i].price
        seeds[k, 3] = life[oid]
    if len(seeds):
        seeds = seeds[np.argsort(seeds[:, 0], kind="stable")]
    return bid_cap_a, ask_cap_a, seeds, unknown


def messages_stream(events, rows, levels=None, bint lookahead=True):
    """The events of a LOBSTER message file alone, repaired where the file
    proves the book stale (see messages_plan): stale levels dropped as
    events, orders the file never added seeded as anonymous qty from their
    own messages.  Returns a dict: events, rows, message_event, stale,
    relabelled, unknown (messages naming an id the file never added),
    unknown_left (of those, the ones the book had no qty for: executions
    kept as trade prints, cancels left out), refused [(row, reason)]."""
    cdef Py_ssize_t n = len(events), i, s = 0, n_rows
    cdef const unsigned char[::1] raw = np.ascontiguousarray(events).view(np.uint8).reshape(-1) if n else \
        np.zeros(1, np.uint8)
    cdef const Event *e = <const Event *>&raw[0]
    cdef int64_t[::1] row_of = np.ascontiguousarray(rows, dtype=np.int64)
    bid_cap_a, ask_cap_a, seeds_a, unknown = messages_plan(events, levels, lookahead)
    cdef int64_t[::1] bid_cap = bid_cap_a, ask_cap = ask_cap_a
    cdef int64_t[:, ::1] seeds = np.ascontiguousarray(seeds_a, dtype=np.int64).reshape(-1, 4)
    cdef Py_ssize_t n_seeds = seeds.shape[0]
    cdef StreamBuilder b = StreamBuilder(n + n // 4 + 16, True)
    n_rows = (row_of[n - 1] + 1) if n else 0
    message_event_a = np.full(n_rows, -1, dtype=np.int64)
    cdef int64_t[::1] message_event = message_event_a
    for i in range(n):
        b.ts = e[i].ts
        # a repair proven from before message i belongs after the message before it
        b.row = row_of[i - 1] if (lookahead and i > 0) else row_of[i]
        if bid_cap[i] != NO_CAP_BID or ask_cap[i] != NO_CAP_ASK:
            b.drop_stale(bid_cap[i], ask_cap[i])
        while s < n_seeds and seeds[s, 0] == i:
            b.seed(seeds[s, 1], seeds[s, 2], seeds[s, 3])
            s += 1
        b.row = row_of[i]
        b.message(e[i].kind, e[i].side, e[i].order_id, e[i].price, e[i].qty)
        message_event[row_of[i]] = b.message_event
    out_events, out_rows = b.result()
    return dict(events=out_events, rows=out_rows, message_event=message_event_a, stale=b.stale,
                relabelled=b.relabelled, unknown=unknown, unknown_left=b.unknown_left, refused=b.refused)


# ----------------------------------------------------------------------
# Writing

cdef inline char *write_int(char *out, int64_t v) noexcept nogil:
    """v in decimal at out; returns the end."""
    cdef char digits[20]
    cdef int n = 0
    cdef uint64_t u
    if v < 0:
        out[0] = 45    # '-'
        out += 1
        u = <uint64_t>0 - <uint64_t>v
    else:
        u = <uint64_t>v
    while True:
        digits[n] = <char>(48 + u % 10)
        n += 1
        u //= 10
        if u == 0:
            break
    while n:
        n -= 1
        out[0] = digits[n]
        out += 1
    return out


def format_int_rows(const int64_t[:, ::1] m, bint crlf=False):
    """The rows of an int64 matrix as CSV text (bytes), one line each, every
    line ended (LF, or CRLF)."""
    cdef Py_ssize_t rows = m.shape[0], cols = m.shape[1], r, c
    cdef Py_ssize_t size = rows * (cols * 21 + 2)
    out = bytearray(size)
    cdef char *start = out
    cdef char *p = start
    with nogil:
        for r in range(rows):
            for c in range(cols):
                if c:
                    p[0] = 44
                    p += 1
                p = write_int(p, m[r, c])
            if crlf:
                p[0] = 13
                p += 1
            p[0] = 10
            p += 1
    return bytes(out[:p - start])
