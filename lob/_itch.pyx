# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""NASDAQ TotalView-ITCH 5.0: a streaming parser of the binary file framing.

Each message is a 2-byte big-endian length, then the message (its first byte
is the type).  Every type of the 5.0 specification is decoded with its length
checked; the book-affecting ones become lob.EVENT_DTYPE events tagged with
their stock locate:

    A, F  ADD                     E  EXECUTE (price: the resting order's)
    C     at the order's own price and printable: EXECUTE at that price;
          else REDUCE + TRADE at the printed price (aggressor: the other
          side; no TRADE when the execution is marked non-printable)
    X     REDUCE                  D  CANCEL
    U     CANCEL of the old reference + ADD of the new one (same side)
    P     TRADE (non-displayed order; aggressor: the other side)
    Q     TRADE with side NO_AGGRESSOR (2): a cross has no aggressor

An E, C, X, D or U naming a reference the stream never added has side -1 (no
side known) and price 0: a book refuses it as an unknown id.  Crosses are also
kept as records with their cross type, as are the stock directory (R), system
events (S) and trading actions (H).  The parser keeps each live order's side,
price and shares, so it needs no book, and it carries a
partial message from one chunk to the next, so files larger than memory
stream through it.  Bad input raises lob.ParseError (a ValueError) naming the
byte offset and the message type, and the parser takes no more input; it
never reads outside the buffer.
"""
from libc.stdint cimport int64_t, uint64_t, uint32_t, uint16_t, uint8_t, INT64_MAX
from libc.string cimport memset

from lob._events cimport Event, ADD, REDUCE, CANCEL, EXECUTE, TRADE
from lob._core cimport lob_book, lob_book_apply, core_enter, core_leave, LOB_FATAL
from lob._book cimport OrderBook

import numpy as np

import lob._events  # checks the event layout
from lob._batch import book_table
from lob.dtypes import EVENT_DTYPE
from lob.errors import REASONS, error as _error

# parse failures (lob.errors.FAILURES)
cdef enum:
    P_TYPE = 22
    P_RANGE = 25
    P_TRUNCATED = 26
    P_LENGTH = 27
    P_SIDE = 20

cdef extern from "lob_refmap.h":
    ctypedef struct lob_refmap_entry:
        uint64_t ref
        uint32_t shares
        uint32_t price
        uint8_t side
    ctypedef struct lob_refmap:
        uint64_t count
    int lob_refmap_init(lob_refmap *m) nogil
    void lob_refmap_free(lob_refmap *m) nogil
    lob_refmap_entry *lob_refmap_find(lob_refmap *m, uint64_t ref) nogil
    int lob_refmap_put(lob_refmap *m, uint64_t ref, uint8_t side, uint32_t shares, uint32_t price) nogil
    void lob_refmap_erase(lob_refmap *m, lob_refmap_entry *e) nogil
    void lob_refmap_prefetch(const lob_refmap *m, uint64_t ref) nogil

# Message lengths of ITCH 5.0 (type byte included, length prefix not).
MESSAGE_LENGTHS = {
    "S": 12, "R": 39, "H": 25, "Y": 20, "L": 26, "V": 35, "W": 12, "K": 28, "J": 35, "h": 21,
    "A": 36, "F": 40, "E": 31, "C": 36, "X": 23, "D": 19, "U": 35, "P": 44, "Q": 40, "B": 19,
    "I": 50, "N": 20, "O": 48,
}
cdef uint8_t LENGTH[256]
LENGTH[:] = [0] * 256
for _t, _n in MESSAGE_LENGTHS.items():
    LENGTH[ord(_t)] = _n
# messages between the one parsed and the one whose order map bucket is prefetched
cdef enum:
    PREFETCH_AHEAD = 4

# events a message can make, at most
cdef uint8_t EVENTS_OF[256]
EVENTS_OF[:] = [0] * 256
for _t, _n in {"A": 1, "F": 1, "E": 1, "C": 2, "X": 1, "D": 1, "U": 2, "P": 1, "Q": 1}.items():
    EVENTS_OF[ord(_t)] = _n


cdef extern from "lob_be.h":
    uint16_t lob_be16(const unsigned char *p) nogil
    uint32_t lob_be32(const unsigned char *p) nogil
    uint64_t lob_be64(const unsigned char *p) nogil
    uint64_t lob_be48(const unsigned char *p) nogil


cdef inline uint64_t be(const unsigned char *p, int n) noexcept nogil:
    if n == 2:
        return lob_be16(p)
    if n == 4:
        return lob_be32(p)
    if n == 6:
        return lob_be48(p)
    return lob_be64(p)


# Where parsed events go: into arrays (feed), or straight into the book of
# their stock locate (feed_books), with no event array in between.
cdef struct Sink:
    Event *ev
    uint16_t *loc
    Py_ssize_t k
    Py_ssize_t cap            # rows of ev / loc
    size_t *books             # lob_book pointers by locate (0: none), or NULL
    Py_ssize_t nbooks
    Py_ssize_t passed
    Py_ssize_t rejected[16]
    int fatal


cdef inline void put(Sink *sink, unsigned int locate, int64_t ts, int kind, int side, uint64_t ref,
                     int64_t price, int64_t qty) noexcept nogil:
    cdef Event tmp
    cdef Event *ev
    cdef int status
    if sink.books == NULL:
        if sink.k >= sink.cap:    # feed() sizes the arrays exactly; never write past them
            sink.fatal = 7
            return
        ev = &sink.ev[sink.k]
        sink.loc[sink.k] = locate
        sink.k += 1
    else:
        ev = &tmp
    ev.ts = ts
    ev.kind = kind
    ev.side = side
    ev.order_id = ref
    ev.price = price
    ev.qty = qty
    if sink.books != NULL:
        if <Py_ssize_t>locate >= sink.nbooks or sink.books[locate] == 0:
            sink.passed += 1
            return
        status = lob_book_apply(<lob_book *>sink.books[locate], ev)
        if status:
            if LOB_FATAL(status):
                sink.fatal = status
            else:
                sink.rejected[status & 15] += 1


cdef Py_ssize_t hop(const unsigned char *b, Py_ssize_t n, Py_ssize_t *events) noexcept nogil:
    """Bytes of the complete messages at the start of b[0:n], and in *events
    the events they can make at most (no checks: the parse does those)."""
    cdef Py_ssize_t pos = 0, count = 0
    cdef unsigned int mlen
    while pos + 3 <= n:
        mlen = lob_be16(b + pos)
        if pos + 2 + mlen > n or mlen == 0:
            break
        count += EVENTS_OF[b[pos + 2]]
        pos += 2 + mlen
    events[0] = count
    return pos


cdef class ItchParser:
    """Feed ITCH 5.0 bytes in chunks of any size; each feed returns the
    events of the complete messages so far as (events, locates).

    directory: {stock locate: symbol} from R messages.
    system_events: [(ts, code)] from S.  trading_actions: [(locate, ts,
    state, reason)] from H.  crosses: [(locate, ts, price, shares,
    cross_type)] from Q.  counts: {type: messages}.  unknown_refs: E, C, X,
    D or U messages naming an order reference the stream never added.
    """
    cdef lob_refmap refs
    cdef bytes carry
    cdef readonly int64_t offset       # file offset of the first byte not yet parsed
    cdef uint64_t type_counts[256]
    cdef readonly int64_t unknown_refs
    cdef public dict directory
    cdef public list system_events
    cdef public list trading_actions
    cdef public list crosses
    cdef public str source            # the file's name, for error messages
    cdef readonly bint failed          # a parse error stopped it: it takes no more input
    # set only while feed_books runs
    cdef object _new_book
    cdef object _books
    cdef list _held

    def __cinit__(self, source="<bytes>"):
        if lob_refmap_init(&self.refs) != 0:
            raise MemoryError("ItchParser: cannot allocate the order map")
        self.carry = b""
        self.offset = 0
        self.unknown_refs = 0
        for i in range(256):
            self.type_counts[i] = 0
        self.directory = {}
        self.system_events = []
        self.trading_actions = []
        self.crosses = []
        self.source = str(source)
        self.failed = False

    def __init__(self, source="<bytes>"):
        """A parser at byte offset 0; `source` names the input in error messages."""

    cdef int parse_error(self, int code, Py_ssize_t offset, str detail) except -1:
        self.failed = True
        raise _error(code, source=self.source, offset=offset, detail=detail)

    cdef int check_usable(self) except -1:
        if self.failed:
            raise RuntimeError(f"{self.source}: the ITCH parser stopped at a parse error (byte offset "
                               f"{self.offset}); make a new ItchParser")
        return 0

    def __dealloc__(self):
        lob_refmap_free(&self.refs)

    @property
    def counts(self):
        return {chr(t): int(self.type_counts[t]) for t in range(256) if self.type_counts[t]}

    @property
    def live_orders(self):
        """Orders added and not yet fully executed, cancelled or deleted."""
        return self.refs.count

    cdef object _split(self, data):
        """(view, head, start) for parsing `data` after the carried partial
        message without copying `data`: head is the carried message completed
        from the first bytes of data (None without a carry) and start is where
        the rest of data begins.  Returns None when even the carried message
        is still incomplete (all of data joins the carry)."""
        cdef const unsigned char[::1] view
        cdef Py_ssize_t need
        try:
            view = data                              # bytes, bytearray, contiguous memoryview: no copy
        except (TypeError, ValueError, BufferError):
            view = bytes(data)
        if not self.carry:
            return view, None, 0
        head = self.carry + bytes(view[:2])           # enough for the length field
        if len(head) < 2:
            self.carry = head
            return None
        need = 2 + lob_be16(head) - len(self.carry)   # bytes of data that finish the message
        if need > view.shape[0]:
            self.carry = self.carry + bytes(view)
            return None
        return view, self.carry + bytes(view[:need]), need

    cdef Py_ssize_t _run(self, object split, Sink *sink) except -1:
        """Parse a _split(): the head, then the rest of data; keep the tail."""
        cdef const unsigned char[::1] view = split[0]
        cdef Py_ssize_t start = split[2], n = view.shape[0], pos = 0
        try:
            if split[1] is not None:
                self._parse(<bytes>split[1], len(<bytes>split[1]), sink)
                self.carry = b""
            if n > start:
                pos = self._parse(&view[start], n - start, sink)
        except BaseException:
            self.failed = True      # mid-message state: no more input makes sense
            raise
        self.carry = bytes(view[start + pos:])
        return 0

    def feed(self, data):
        """Parse `data` (bytes-like) after what was fed before; returns
        (events, locates): lob.EVENT_DTYPE events and each one's stock locate.
        A message cut at the end of `data` waits for the next feed."""
        cdef Py_ssize_t cap = 0, events_in
        cdef const unsigned char[::1] view
        cdef Sink sink
        self.check_usable()
        split = self._split(data)
        if split is None:
            return np.empty(0, dtype=EVENT_DTYPE), np.empty(0, dtype=np.uint16)
        view = split[0]
        # size the output exactly: hop over the complete messages once
        if split[1] is not None:
            hop(<bytes>split[1], len(<bytes>split[1]), &events_in)
            cap += events_in
        if view.shape[0] > split[2]:
            hop(&view[split[2]], view.shape[0] - split[2], &events_in)
            cap += events_in
        events = np.empty(cap, dtype=EVENT_DTYPE)
        locates = np.empty(cap, dtype=np.uint16)
        cdef unsigned char[::1] event_bytes = events.view(np.uint8).reshape(-1)
        cdef uint16_t[::1] loc = locates
        memset(&sink, 0, sizeof(sink))
        sink.ev = <Event *>&event_bytes[0] if cap else NULL
        sink.loc = &loc[0] if cap else NULL
        sink.cap = cap
        self._run(split, &sink)
        if sink.fatal:
            raise RuntimeError("ItchParser.feed: more events than its messages can make (a bug)")
        if sink.k < cap:   # unknown references or non-printable executions
            return events[:sink.k].copy(), locates[:sink.k].copy()
        return events, locates

    def feed_books(self, data, books, new_book=None):
        """Parse `data` and apply each event straight to books[locate] (a
        list of OrderBook or None by stock locate; events of other stocks are
        passed over), with no event array in between: the fastest parse +
        replay.  new_book(locate, symbol), if given, is called at each stock
        directory message (R) whose slot is None and may return a new
        OrderBook, which goes into `books` (the list is changed in place; a
        callback that changes the list's length raises RuntimeError).
        Refused events are skipped; returns ({reason: count}, passed over)."""
        cdef Sink sink
        self.check_usable()
        if not isinstance(books, list):
            raise TypeError(f"books must be a list of OrderBook or None, got {type(books).__name__}")
        split = self._split(data)
        if split is None:
            return {}, 0
        table, held = book_table(books)
        cdef size_t[::1] slots = table
        memset(&sink, 0, sizeof(sink))
        sink.books = &slots[0]
        sink.nbooks = len(books)
        self._new_book, self._books, self._held = new_book, books, []
        try:
            for book in held:   # no other thread may touch them while their events go in
                core_enter((<OrderBook>book).core)
                self._held.append(book)
            self._run(split, &sink)
        finally:
            for book in self._held:        # the entered ones, and any new_book made
                core_leave((<OrderBook>book).core)
            self._new_book = self._books = self._held = None
        if sink.fatal:
            raise _error(sink.fatal)
        return ({REASONS.get(code, str(code)): int(sink.rejected[code]) for code in range(16) if sink.rejected[code]},
                int(sink.passed))

    cdef Py_ssize_t _parse(self, const unsigned char *b, Py_ssize_t n, Sink *sink) except -1:
        """Parse the complete messages of b[0:n] (b sits at file offset
        self.offset); returns the bytes parsed and advances self.offset."""
        cdef Py_ssize_t pos = 0, ahead = 0, k
        cdef const unsigned char *m
        cdef const unsigned char *a
        cdef unsigned int mlen, t, locate
        cdef int64_t ts
        cdef uint64_t ref, new_ref
        cdef uint32_t shares, price, printed
        cdef int side
        cdef lob_refmap_entry *e
        cdef int64_t base = self.offset
        while pos + 2 <= n:
            mlen = <unsigned int>be(b + pos, 2)
            if pos + 2 + mlen > n:
                break                      # a partial message: keep it for the next feed
            # prefetch the order map for the message PREFETCH_AHEAD ahead of this one
            if ahead <= pos:
                ahead = pos
                for k in range(PREFETCH_AHEAD):
                    if ahead + 2 > n:
                        break
                    ahead += 2 + lob_be16(b + ahead)
                if ahead + 21 <= n and b[ahead + 2] != 82:
                    lob_refmap_prefetch(&self.refs, lob_be64(b + ahead + 13))
                ahead += 2 + (lob_be16(b + ahead) if ahead + 2 <= n else 0)
            else:
                if ahead + 21 <= n and b[ahead + 2] != 82:
                    lob_refmap_prefetch(&self.refs, lob_be64(b + ahead + 13))
                ahead += 2 + (lob_be16(b + ahead) if ahead + 2 <= n else 0)
            if mlen == 0:
                self.parse_error(P_LENGTH, base + pos, "zero-length message (ITCH 5.0)")
            m = b + pos + 2
            t = m[0]
            if LENGTH[t] == 0:
                self.parse_error(P_TYPE, base + pos, f"unknown message type {chr(t)!r} (0x{t:02x}; not ITCH 5.0)")
            if mlen != LENGTH[t]:
                self.parse_error(P_LENGTH, base + pos, f"message type {chr(t)!r} must be {LENGTH[t]} "
                                 f"bytes, the length field says {mlen}")
            self.type_counts[t] += 1
            locate = <unsigned int>be(m + 1, 2)
            ts = <int64_t>be(m + 5, 6)
            if t == 65 or t == 70:         # A, F: add
                ref = be(m + 11, 8)
                side = 0 if m[19] == 66 else 1
                if m[19] != 66 and m[19] != 83:
                    self.parse_error(P_SIDE, base + pos, f"message type {chr(t)!r}: side must be 'B' "
                                     f"or 'S', got {chr(m[19])!r}")
                shares = <uint32_t>be(m + 20, 4)
                price = <uint32_t>be(m + 32, 4)
                if lob_refmap_put(&self.refs, ref, side, shares, price) != 0:
                    raise MemoryError("ItchParser: out of memory")
                put(sink, locate, ts, ADD, side, ref, price, shares)
            elif t == 69 or t == 67 or t == 88:   # E, C, X: shares leave the order
                ref = be(m + 11, 8)
                shares = <uint32_t>be(m + 19, 4)
                e = lob_refmap_find(&self.refs, ref)
                if e == NULL:
                    self.unknown_refs += 1
                    put(sink, locate, ts, EXECUTE if t == 69 else REDUCE, -1, ref, 0, shares)
                else:
                    side = e.side
                    price = e.price
                    if shares >= e.shares:
                        lob_refmap_erase(&self.refs, e)
                    else:
                        e.shares -= shares
                    printed = <uint32_t>be(m + 32, 4) if t == 67 else 0
                    if t == 69 or (t == 67 and m[31] == 89 and printed == price):
                        # E, or a printable C at the order's own price: an execution of that order
                        put(sink, locate, ts, EXECUTE, side, ref, price, shares)
                    else:
                        put(sink, locate, ts, REDUCE, side, ref, 0, shares)
                        if t == 67 and m[31] == 89:   # printable C elsewhere: the trade at its printed price
                            put(sink, locate, ts, TRADE, 1 - side, 0, printed, shares)
            elif t == 68:                  # D: delete
                ref = be(m + 11, 8)
                e = lob_refmap_find(&self.refs, ref)
                if e == NULL:
                    self.unknown_refs += 1
                    put(sink, locate, ts, CANCEL, -1, ref, 0, 0)
                else:
                    side = e.side
                    lob_refmap_erase(&self.refs, e)
                    put(sink, locate, ts, CANCEL, side, ref, 0, 0)
            elif t == 85:                  # U: replace = delete old + add new, same side
                ref = be(m + 11, 8)
                new_ref = be(m + 19, 8)
                shares = <uint32_t>be(m + 27, 4)
                price = <uint32_t>be(m + 31, 4)
                e = lob_refmap_find(&self.refs, ref)
                if e == NULL:
                    self.unknown_refs += 1
                    put(sink, locate, ts, CANCEL, -1, ref, 0, 0)
                else:
                    side = e.side
                    put(sink, locate, ts, CANCEL, side, ref, 0, 0)
                    lob_refmap_erase(&self.refs, e)
                    if lob_refmap_put(&self.refs, new_ref, side, shares, price) != 0:
                        raise MemoryError("ItchParser: out of memory")
                    put(sink, locate, ts, ADD, side, new_ref, price, shares)
            elif t == 80:                  # P: a non-displayed order traded
                if m[19] != 66 and m[19] != 83:
                    self.parse_error(P_SIDE, base + pos, f"message type 'P': side must be 'B' or 'S', "
                                     f"got {chr(m[19])!r}")
                side = 0 if m[19] == 66 else 1
                put(sink, locate, ts, TRADE, 1 - side, 0, <uint32_t>be(m + 32, 4), <uint32_t>be(m + 20, 4))
            elif t == 82:                  # R: stock directory
                symbol = bytes(m[11:19]).decode("ascii", "replace").rstrip()
                self.directory[locate] = symbol
                if (self._new_book is not None and <Py_ssize_t>locate < sink.nbooks
                        and sink.books[locate] == 0):
                    book = self._new_book(locate, symbol)
                    if len(self._books) != sink.nbooks:
                        raise RuntimeError(f"feed_books: new_book changed the length of the books list "
                                           f"({sink.nbooks} -> {len(self._books)})")
                    if book is not None:
                        if not isinstance(book, OrderBook):
                            raise TypeError(f"new_book returned {type(book).__name__}, not an OrderBook")
                        core_enter((<OrderBook>book).core)
                        self._held.append(book)
                        self._books[locate] = book     # a checked store: the list is a plain object here
                        sink.books[locate] = <size_t>(<OrderBook>book).core
            elif t == 83:                  # S: system event
                self.system_events.append((ts, chr(m[11])))
            elif t == 72:                  # H: trading action
                self.trading_actions.append((locate, ts, chr(m[19]),
                                             bytes(m[21:25]).decode("ascii", "replace").rstrip()))
            elif t == 81:                  # Q: cross trade, no aggressor
                ref = be(m + 11, 8)        # shares: 8 bytes in Q
                if ref > <uint64_t>INT64_MAX:
                    self.parse_error(P_RANGE, base + pos, f"message type 'Q': {ref} shares is beyond int64")
                self.crosses.append((locate, ts, <uint32_t>be(m + 27, 4), <int64_t>ref, chr(m[39])))
                if ref:
                    put(sink, locate, ts, TRADE, 2, 0, <uint32_t>be(m + 27, 4), <int64_t>ref)
            pos += 2 + mlen
        self.offset = base + pos
        return pos

    def finish(self):
        """End of input: raises lob.ParseError if a message was cut short."""
        cdef const unsigned char *b
        if not self.carry:
            return
        b = self.carry
        if len(self.carry) < 3:
            self.parse_error(P_TRUNCATED, self.offset, f"truncated message ({len(self.carry)} bytes left, less "
                             f"than a length field and a type)")
        self.parse_error(P_TRUNCATED, self.offset, f"truncated message of type {chr(b[2])!r}: the length "
                         f"field says {be(b, 2)} bytes, {len(self.carry) - 2} are left")
