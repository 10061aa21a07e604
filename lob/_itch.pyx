# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""NASDAQ TotalView-ITCH 5.0: a streaming parser of the binary file framing.

Each message is a 2-byte big-endian length, then the message (its first byte
is the type).  Every type of the 5.0 specification is decoded with its length
checked; the book-affecting ones become lob.EVENT_DTYPE events tagged with
their stock locate:

    A, F  ADD                     E  EXECUTE (at the resting order's price)
    C     REDUCE + TRADE at the printed price (aggressor: the other side;
          no TRADE when the execution is marked non-printable)
    X     REDUCE                  D  CANCEL
    U     CANCEL of the old reference + ADD of the new one (same side)
    P     TRADE (non-displayed order; aggressor: the other side)
    Q     TRADE with side NO_AGGRESSOR (2): a cross has no aggressor

Crosses are also kept as records with their cross type, as are the stock
directory (R), system events (S) and trading actions (H).  The parser keeps
each live order's side and shares, so it needs no book, and it carries a
partial message from one chunk to the next, so files larger than memory
stream through it.  Bad input raises ValueError naming the byte offset and
the message type; it never reads outside the buffer.
"""
from libc.stdint cimport int64_t, uint64_t, uint32_t, uint16_t, uint8_t, INT64_MAX
from libc.string cimport memset

from lob._events cimport Event, ADD, REDUCE, CANCEL, EXECUTE, TRADE
from lob._book cimport OrderBook, E_NOMEM, E_FULL
from lob._apply cimport apply_one

import numpy as np

from lob._batch import book_table
from lob.dtypes import EVENT_DTYPE

REASONS = {1: "bad_side", 2: "bad_qty", 3: "qty_above_resting", 4: "duplicate_id", 5: "unknown_id",
           6: "crossed", 9: "bad_kind", 10: "overflow"}

if sizeof(Event) != EVENT_DTYPE.itemsize:
    raise ImportError(f"lob._events.Event is {sizeof(Event)} bytes, EVENT_DTYPE {EVENT_DTYPE.itemsize}")

cdef extern from "lob_refmap.h":
    ctypedef struct lob_refmap_entry:
        uint64_t ref
        uint32_t shares
        uint8_t side
    ctypedef struct lob_refmap:
        uint64_t count
    int lob_refmap_init(lob_refmap *m) nogil
    void lob_refmap_free(lob_refmap *m) nogil
    lob_refmap_entry *lob_refmap_find(lob_refmap *m, uint64_t ref) nogil
    int lob_refmap_put(lob_refmap *m, uint64_t ref, uint8_t side, uint32_t shares) nogil
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
    size_t *books             # OrderBook pointers by locate (0: none), or NULL
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
        status = apply_one(<OrderBook><void *>sink.books[locate], ev)
        if status:
            if status == E_NOMEM or status == E_FULL:
                sink.fatal = status
            else:
                sink.rejected[status] += 1


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
    # set only while feed_books runs
    cdef object _new_book
    cdef list _books
    cdef list _held

    def __cinit__(self):
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
        if split[1] is not None:
            self._parse(<bytes>split[1], len(<bytes>split[1]), sink)
            self.carry = b""
        if n > start:
            pos = self._parse(&view[start], n - start, sink)
        self.carry = bytes(view[start + pos:])
        return 0

    def feed(self, data):
        """Parse `data` (bytes-like) after what was fed before; returns
        (events, locates): lob.EVENT_DTYPE events and each one's stock locate.
        A message cut at the end of `data` waits for the next feed."""
        cdef Py_ssize_t cap = 0, events_in
        cdef const unsigned char[::1] view
        cdef Sink sink
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
        self._run(split, &sink)
        if sink.k < cap:   # unknown references or non-printable executions
            return events[:sink.k].copy(), locates[:sink.k].copy()
        return events, locates

    def feed_books(self, data, list books, new_book=None):
        """Parse `data` and apply each event straight to books[locate] (a
        list of OrderBook or None by stock locate; events of other stocks are
        passed over), with no event array in between: the fastest parse +
        replay.  new_book(locate, symbol), if given, is called at each stock
        directory message (R) whose slot is None and may return a new
        OrderBook, which goes into `books` (the list is changed in place).
        Refused events are skipped; returns ({reason: count}, passed over)."""
        cdef Sink sink
        split = self._split(data)
        if split is None:
            return {}, 0
        table, held = book_table(books)
        cdef size_t[::1] slots = table
        memset(&sink, 0, sizeof(sink))
        sink.books = &slots[0]
        sink.nbooks = len(books)
        for book in held:   # no other thread may touch them (the loop holds the GIL, but keeps the contract)
            (<OrderBook>book).busy = True
        self._new_book, self._books, self._held = new_book, books, held
        try:
            self._run(split, &sink)
        finally:
            self._new_book = self._books = self._held = None
            for book in held:
                (<OrderBook>book).busy = False
        if sink.fatal:
            raise MemoryError("ItchParser.feed_books: out of memory")
        return ({REASONS.get(code, str(code)): int(sink.rejected[code]) for code in range(16) if sink.rejected[code]},
                int(sink.passed))

    cdef Py_ssize_t _parse(self, const unsigned char *b, Py_ssize_t n, Sink *sink) except -1:
        """Parse the complete messages of b[0:n] (b sits at file offset
        self.offset); returns the bytes parsed and advances self.offset."""
        cdef Py_ssize_t pos = 0, ahead = 0, k
        cdef const unsigned char *m
        cdef const unsigned char *a
        cdef unsigned int mlen, t, locate, side
        cdef int64_t ts
        cdef uint64_t ref, new_ref
        cdef uint32_t shares, price
        cdef lob_refmap_entry *e
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
                raise ValueError(f"ITCH: byte offset {self.offset + pos}: zero-length message")
            m = b + pos + 2
            t = m[0]
            if LENGTH[t] == 0:
                raise ValueError(f"ITCH: byte offset {self.offset + pos}: unknown message type {chr(t)!r} "
                                 f"(0x{t:02x})")
            if mlen != LENGTH[t]:
                raise ValueError(f"ITCH: byte offset {self.offset + pos}: message type {chr(t)!r} must be "
                                 f"{LENGTH[t]} bytes, the length field says {mlen}")
            self.type_counts[t] += 1
            locate = <unsigned int>be(m + 1, 2)
            ts = <int64_t>be(m + 5, 6)
            if t == 65 or t == 70:         # A, F: add
                ref = be(m + 11, 8)
                side = 0 if m[19] == 66 else 1
                if m[19] != 66 and m[19] != 83:
                    raise ValueError(f"ITCH: byte offset {self.offset + pos}: message type {chr(t)!r}: "
                                     f"side must be 'B' or 'S', got {chr(m[19])!r}")
                shares = <uint32_t>be(m + 20, 4)
                price = <uint32_t>be(m + 32, 4)
                if lob_refmap_put(&self.refs, ref, side, shares) != 0:
                    raise MemoryError("ItchParser: out of memory")
                put(sink, locate, ts, ADD, side, ref, price, shares)
            elif t == 69 or t == 67 or t == 88:   # E, C, X: shares leave the order
                ref = be(m + 11, 8)
                shares = <uint32_t>be(m + 19, 4)
                e = lob_refmap_find(&self.refs, ref)
                side = e.side if e != NULL else 0
                if e == NULL:
                    self.unknown_refs += 1
                elif shares >= e.shares:
                    lob_refmap_erase(&self.refs, e)
                else:
                    e.shares -= shares
                if t == 69:
                    put(sink, locate, ts, EXECUTE, side, ref, 0, shares)
                else:
                    put(sink, locate, ts, REDUCE, side, ref, 0, shares)
                if t == 67 and e != NULL and m[31] == 89:  # C, printable 'Y': a trade at its own price
                    put(sink, locate, ts, TRADE, 1 - side, 0, <uint32_t>be(m + 32, 4), shares)
            elif t == 68:                  # D: delete
                ref = be(m + 11, 8)
                e = lob_refmap_find(&self.refs, ref)
                side = e.side if e != NULL else 0
                if e == NULL:
                    self.unknown_refs += 1
                else:
                    lob_refmap_erase(&self.refs, e)
                put(sink, locate, ts, CANCEL, side, ref, 0, 0)
            elif t == 85:                  # U: replace = delete old + add new, same side
                ref = be(m + 11, 8)
                new_ref = be(m + 19, 8)
                shares = <uint32_t>be(m + 27, 4)
                price = <uint32_t>be(m + 31, 4)
                e = lob_refmap_find(&self.refs, ref)
                put(sink, locate, ts, CANCEL, e.side if e != NULL else 0, ref, 0, 0)
                if e == NULL:
                    self.unknown_refs += 1
                else:
                    side = e.side
                    lob_refmap_erase(&self.refs, e)
                    if lob_refmap_put(&self.refs, new_ref, side, shares) != 0:
                        raise MemoryError("ItchParser: out of memory")
                    put(sink, locate, ts, ADD, side, new_ref, price, shares)
            elif t == 80:                  # P: a non-displayed order traded
                if m[19] != 66 and m[19] != 83:
                    raise ValueError(f"ITCH: byte offset {self.offset + pos}: message type 'P': "
                                     f"side must be 'B' or 'S', got {chr(m[19])!r}")
                side = 0 if m[19] == 66 else 1
                put(sink, locate, ts, TRADE, 1 - side, 0, <uint32_t>be(m + 32, 4), <uint32_t>be(m + 20, 4))
            elif t == 82:                  # R: stock directory
                symbol = bytes(m[11:19]).decode("ascii", "replace").rstrip()
                self.directory[locate] = symbol
                if (self._new_book is not None and <Py_ssize_t>locate < sink.nbooks
                        and sink.books[locate] == 0):
                    book = self._new_book(locate, symbol)
                    if book is not None:
                        if not isinstance(book, OrderBook):
                            raise TypeError(f"new_book returned {type(book).__name__}, not an OrderBook")
                        (<OrderBook>book).guard()
                        (<OrderBook>book).busy = True
                        self._held.append(book)
                        self._books[locate] = book
                        sink.books[locate] = <size_t><void *>book
            elif t == 83:                  # S: system event
                self.system_events.append((ts, chr(m[11])))
            elif t == 72:                  # H: trading action
                self.trading_actions.append((locate, ts, chr(m[19]),
                                             bytes(m[21:25]).decode("ascii", "replace").rstrip()))
            elif t == 81:                  # Q: cross trade, no aggressor
                ref = be(m + 11, 8)        # shares: 8 bytes in Q
                if ref > <uint64_t>INT64_MAX:
                    raise ValueError(f"ITCH: byte offset {self.offset + pos}: message type 'Q': "
                                     f"{ref} shares is beyond int64")
                self.crosses.append((locate, ts, <uint32_t>be(m + 27, 4), <int64_t>ref, chr(m[39])))
                if ref:
                    put(sink, locate, ts, TRADE, 2, 0, <uint32_t>be(m + 27, 4), <int64_t>ref)
            pos += 2 + mlen
        self.offset += pos
        return pos

    def finish(self):
        """End of input: raises ValueError if a message was cut short."""
        cdef const unsigned char *b
        if not self.carry:
            return
        b = self.carry
        if len(self.carry) < 3:
            raise ValueError(f"ITCH: byte offset {self.offset}: truncated message "
                             f"({len(self.carry)} bytes left, less than a length field and a type)")
        raise ValueError(f"ITCH: byte offset {self.offset}: truncated message of type {chr(b[2])!r}: "
                         f"the length field says {be(b, 2)} bytes, {len(self.carry) - 2} are left")
