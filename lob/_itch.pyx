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

Q (cross) has no aggressor and is kept as a cross record, like the stock
directory (R), system events (S) and trading actions (H).  The parser keeps
each live order's side and shares, so it needs no book, and it carries a
partial message from one chunk to the next, so files larger than memory
stream through it.  Bad input raises ValueError naming the byte offset and
the message type; it never reads outside the buffer.
"""
from libc.stdint cimport int64_t, uint64_t, uint32_t, uint16_t, uint8_t

from lob._events cimport Event

import numpy as np

from lob.dtypes import EVENT_DTYPE

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

cdef enum:
    ADD = 1
    REDUCE = 2
    CANCEL = 3
    EXECUTE = 4
    TRADE = 5

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
# events a message can make, at most
cdef uint8_t EVENTS_OF[256]
EVENTS_OF[:] = [0] * 256
for _t, _n in {"A": 1, "F": 1, "E": 1, "C": 2, "X": 1, "D": 1, "U": 2, "P": 1}.items():
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


cdef inline void put(Event *ev, int64_t ts, int kind, int side, uint64_t ref, int64_t price,
                     int64_t qty) noexcept nogil:
    ev.ts = ts
    ev.kind = kind
    ev.side = side
    ev.order_id = ref
    ev.price = price
    ev.qty = qty


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

    def feed(self, data):
        """Parse `data` (bytes-like) after what was fed before; returns
        (events, locates): lob.EVENT_DTYPE events and each one's stock locate."""
        cdef bytes buf = self.carry + bytes(data) if self.carry else bytes(data)
        cdef const unsigned char *b = buf
        cdef Py_ssize_t n = len(buf), pos = 0, k = 0, cap = 0
        cdef const unsigned char *m
        cdef unsigned int mlen, t, locate, side
        cdef int64_t ts
        cdef uint64_t ref, new_ref
        cdef uint32_t shares, price
        cdef lob_refmap_entry *e
        # size the output exactly: hop over the complete messages once
        while pos + 3 <= n:
            mlen = lob_be16(b + pos)
            if pos + 2 + mlen > n or mlen == 0:
                break
            cap += EVENTS_OF[b[pos + 2]]
            pos += 2 + mlen
        pos = 0
        events = np.empty(cap, dtype=EVENT_DTYPE)
        locates = np.empty(cap, dtype=np.uint16)
        cdef unsigned char[::1] event_bytes = events.view(np.uint8).reshape(-1)
        cdef Event *ev = <Event *>&event_bytes[0] if cap else NULL
        cdef uint16_t[::1] loc = locates
        while pos + 2 <= n:
            mlen = <unsigned int>be(b + pos, 2)
            if pos + 2 + mlen > n:
                break                      # a partial message: keep it for the next feed
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
                put(&ev[k], ts, ADD, side, ref, price, shares)
                loc[k] = locate
                k += 1
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
                    put(&ev[k], ts, EXECUTE, side, ref, 0, shares)
                else:
                    put(&ev[k], ts, REDUCE, side, ref, 0, shares)
                loc[k] = locate
                k += 1
                if t == 67 and e != NULL and m[31] == 89:  # C, printable 'Y': a trade at its own price
                    put(&ev[k], ts, TRADE, 1 - side, 0, <uint32_t>be(m + 32, 4), shares)
                    loc[k] = locate
                    k += 1
            elif t == 68:                  # D: delete
                ref = be(m + 11, 8)
                e = lob_refmap_find(&self.refs, ref)
                side = e.side if e != NULL else 0
                if e == NULL:
                    self.unknown_refs += 1
                else:
                    lob_refmap_erase(&self.refs, e)
                put(&ev[k], ts, CANCEL, side, ref, 0, 0)
                loc[k] = locate
                k += 1
            elif t == 85:                  # U: replace = delete old + add new, same side
                ref = be(m + 11, 8)
                new_ref = be(m + 19, 8)
                shares = <uint32_t>be(m + 27, 4)
                price = <uint32_t>be(m + 31, 4)
                e = lob_refmap_find(&self.refs, ref)
                put(&ev[k], ts, CANCEL, e.side if e != NULL else 0, ref, 0, 0)
                loc[k] = locate
                k += 1
                if e == NULL:
                    self.unknown_refs += 1
                else:
                    side = e.side
                    lob_refmap_erase(&self.refs, e)
                    if lob_refmap_put(&self.refs, new_ref, side, shares) != 0:
                        raise MemoryError("ItchParser: out of memory")
                    put(&ev[k], ts, ADD, side, new_ref, price, shares)
                    loc[k] = locate
                    k += 1
            elif t == 80:                  # P: a non-displayed order traded
                if m[19] != 66 and m[19] != 83:
                    raise ValueError(f"ITCH: byte offset {self.offset + pos}: message type 'P': "
                                     f"side must be 'B' or 'S', got {chr(m[19])!r}")
                side = 0 if m[19] == 66 else 1
                put(&ev[k], ts, TRADE, 1 - side, 0, <uint32_t>be(m + 32, 4), <uint32_t>be(m + 20, 4))
                loc[k] = locate
                k += 1
            elif t == 82:                  # R: stock directory
                self.directory[locate] = bytes(m[11:19]).decode("ascii", "replace").rstrip()
            elif t == 83:                  # S: system event
                self.system_events.append((ts, chr(m[11])))
            elif t == 72:                  # H: trading action
                self.trading_actions.append((locate, ts, chr(m[19]),
                                             bytes(m[21:25]).decode("ascii", "replace").rstrip()))
            elif t == 81:                  # Q: cross trade
                self.crosses.append((locate, ts, <uint32_t>be(m + 27, 4), <int64_t>be(m + 11, 8), chr(m[39])))
            pos += 2 + mlen
        self.carry = buf[pos:]
        self.offset += pos
        if k < cap:   # unknown references or non-printable executions
            return events[:k].copy(), locates[:k].copy()
        return events, locates

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
