# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Databento MBO records (a NumPy array of databento_dbn.MBOMsg's dtype) to
lob.EVENT_DTYPE events in one pass (lob.io.read_dbn).

Actions: R -> CLEAR, A -> ADD, C -> REDUCE by the size cancelled, M ->
MODIFY, T -> TRADE (aggressor side, NO_AGGRESSOR when none); F and N make
no event.  With executions on, a fill (F) of a resting order and the C or M
of that order that follows it in the same exchange event (the records up to
one flagged F_LAST) become one EXECUTE at the fill's place, and the trade
print (T) it belongs to loses the fill's qty (it goes when none is left);
see pair_fill and settle_event for when a fill pairs.
"""
from libc.stdint cimport int64_t, uint64_t, int32_t, uint32_t, uint8_t, int8_t, INT64_MAX
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memcpy, memchr

from lob._events cimport Event, ADD, REDUCE, EXECUTE, TRADE, MODIFY, CLEAR

import numpy as np

from lob.dtypes import EVENT_DTYPE

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define LOB_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define LOB_PREFETCH(p) ((void)0)
    #endif
    """
    void LOB_PREFETCH(const void *p) noexcept nogil

import lob._events  # checks the event layout

cdef enum:
    F_LAST = 128
    BID = 0
    ASK = 1
    NO_AGGRESSOR = 2
    NO_SIDE = -1

# Failure codes of mbo_to_events (index: the record's position)
cdef enum:
    OK = 0
    E_ACTION = 1        # action not one of A C M R T F N
    E_ADD_SIDE = 2      # an add whose side is not B or A
    E_TS = 3            # ts_recv beyond int64 (e.g. UNDEF_TIMESTAMP)
    E_MEMORY = 4
    E_INSTRUMENTS = 5   # several instruments and none chosen
    E_SIDE = 6          # a side byte not B, A or N

ERRORS = ("", "unknown action", "an add without a side (B or A)", "ts_recv is beyond int64 nanoseconds",
          "out of memory", "several instruments", "side is not 'B', 'A' or 'N'")


# DBN side byte -> lob side, as tables (the side of a record is a coin toss
# for the branch predictor): SIDE_OF B 0, A 1, else NO_SIDE; OR_BID and
# OR_NONE put BID / NO_AGGRESSOR where the record names no side.
cdef int8_t SIDE_OF[256]
cdef int8_t OR_BID[256]
cdef int8_t OR_NONE[256]
for _byte in range(256):
    SIDE_OF[_byte] = NO_SIDE
    OR_BID[_byte] = BID
    OR_NONE[_byte] = NO_AGGRESSOR
SIDE_OF[66] = OR_BID[66] = OR_NONE[66] = BID       # 'B'
SIDE_OF[65] = OR_BID[65] = OR_NONE[65] = ASK       # 'A'


# ---- the orders that some fill names: their book state and pending fill ----

cdef struct Tracked:       # 32 bytes: a long day's table stays small
    uint64_t order_id
    int64_t price
    uint32_t size         # qty resting after the rows emitted so far (DBN sizes are uint32)
    uint32_t gen          # state is valid while gen == the table's generation (R clears)
    int32_t pend          # its waiting fill in the event's Pending list, -1 none
    uint8_t used
    uint8_t resting
    int8_t side


cdef struct Pending:      # a fill of this exchange event waiting for its C or M
    Tracked *order
    Py_ssize_t slot       # its tentative EXECUTE row
    Py_ssize_t trade      # the print (index in the event's Print list) it draws from
    int64_t qty


cdef struct Table:
    Tracked *slots
    uint64_t mask
    uint32_t gen
    uint64_t *bloom        # one bit per hash: most records skip the probe
    uint64_t bloom_mask


cdef inline uint64_t mix(uint64_t key) noexcept nogil:
    key ^= key >> 33
    key *= 0xff51afd7ed558ccdULL
    key ^= key >> 33
    key *= 0xc4ceb9fe1a85ec53ULL
    key ^= key >> 33
    return key


# The table outgrows the caches on a long day: the loop asks for the bloom
# word of the record AHEAD_BLOOM ahead and for the slot of the one AHEAD_SLOT
# ahead (its bloom word is in cache by then), so the misses overlap.
cdef enum:
    AHEAD_BLOOM = 32
    AHEAD_SLOT = 16


cdef inline void prefetch_bloom(Table *t, uint64_t key) noexcept nogil:
    cdef uint64_t bit = mix(key) & t.bloom_mask
    LOB_PREFETCH(&t.bloom[bit >> 6])


cdef inline void prefetch_slot(Table *t, uint64_t key) noexcept nogil:
    cdef uint64_t h = mix(key)
    cdef uint64_t bit = h & t.bloom_mask
    if (t.bloom[bit >> 6] >> (bit & 63)) & 1:
        LOB_PREFETCH(&t.slots[(h >> 20) & t.mask])


cdef inline Tracked *find(Table *t, uint64_t key) noexcept nogil:
    cdef uint64_t h = mix(key)
    cdef uint64_t bit = h & t.bloom_mask
    if not (t.bloom[bit >> 6] >> (bit & 63)) & 1:
        return NULL
    cdef uint64_t i = (h >> 20) & t.mask
    while t.slots[i].used:
        if t.slots[i].order_id == key:
            return &t.slots[i]
        i = (i + 1) & t.mask
    return NULL


cdef inline void insert(Table *t, uint64_t key) noexcept nogil:
    cdef uint64_t h = mix(key)
    cdef uint64_t bit = h & t.bloom_mask
    cdef uint64_t i = (h >> 20) & t.mask
    while t.slots[i].used:
        if t.slots[i].order_id == key:
            return
        i = (i + 1) & t.mask
    t.slots[i].used = 1
    t.slots[i].order_id = key
    t.slots[i].pend = -1
    t.bloom[bit >> 6] |= (<uint64_t>1) << (bit & 63)


cdef inline bint live(Table *t, Tracked *o) noexcept nogil:
    return o.gen == t.gen and o.resting


# ---- the trade prints of the current exchange event ----

cdef struct Print:
    Py_ssize_t slot       # its row
    int64_t price
    int64_t size          # the printed qty
    int64_t left          # qty not yet given to paired fills (reserved ones included)
    int side              # aggressor: BID or ASK


def mbo_to_events(records, int64_t instrument_id=-1, bint executions=True):
    """(status, index, events, flags, emitted): the events and their DBN flags
    (F_LAST moved onto the previous event when its record made none) of the
    records (databento_dbn.MBOMsg's NumPy dtype); instrument_id >= 0 keeps
    that instrument only, -1 requires all records to be of one instrument
    (status E_INSTRUMENTS at the first other one).  status != 0: the record at `index` is malformed
    (ERRORS[status]) and the arrays are None."""
    cdef Py_ssize_t n = len(records)
    cdef const uint64_t[:] ts_recv = records["ts_recv"]
    cdef const uint8_t[:] action = records["action"].view(np.uint8)
    cdef const uint8_t[:] side = records["side"].view(np.uint8)
    cdef const uint64_t[:] order_id = records["order_id"]
    cdef const int64_t[:] price = records["price"]
    cdef const uint32_t[:] size = records["size"]
    cdef const uint8_t[:] rflags = records["flags"]
    cdef const uint32_t[:] instrument = records["instrument_id"]
    events = np.empty(n, dtype=EVENT_DTYPE)
    flags = np.empty(n, dtype=np.uint8)
    cdef Event *ev = <Event *><size_t>events.ctypes.data
    cdef uint8_t[::1] fl = flags
    cdef uint8_t[::1] kp = None
    cdef bint all_instruments = instrument_id < 0
    cdef uint32_t want = <uint32_t>instrument_id if instrument_id >= 0 else 0
    cdef Py_ssize_t i, k = 0, n_fills = 0, n_trades = 0, cap
    cdef int status = OK
    cdef Table table
    table.slots = NULL
    table.bloom = NULL
    table.gen = 1
    cdef Print *prints = NULL
    cdef Pending *pending = NULL
    cdef uint64_t *fills = NULL
    cdef Py_ssize_t j

    with nogil:
        if executions:
            for i in range(n):
                if all_instruments or instrument[i] == want:
                    if action[i] == 70:         # 'F'
                        n_fills += 1
                    elif action[i] == 84:       # 'T'
                        n_trades += 1
    if n_fills:
        keep = np.empty(n, dtype=np.uint8)      # rows a later record may take back
        kp = keep
    with nogil:
        if n_fills:
            cap = 16
            while cap < n_fills + n_fills // 4:     # load <= 0.8 (fewer orders than fills);
                cap *= 2                            # misses rarely probe: the bloom filters them
            table.slots = <Tracked *>calloc(cap, sizeof(Tracked))
            table.mask = cap - 1
            table.bloom_mask = (<uint64_t>cap * 16) - 1       # 16 bits per slot: ~3% false hits
            table.bloom = <uint64_t *>calloc(cap * 16 // 64 + 1, sizeof(uint64_t))
            prints = <Print *>malloc((n_trades + 1) * sizeof(Print))
            pending = <Pending *>malloc((n_fills + 1) * sizeof(Pending))
            fills = <uint64_t *>malloc(n_fills * sizeof(uint64_t))
            if table.slots == NULL or table.bloom == NULL or prints == NULL or pending == NULL \
                    or fills == NULL:
                status = E_MEMORY
            else:
                j = 0
                for i in range(n):
                    if action[i] == 70 and (all_instruments or instrument[i] == want):
                        fills[j] = order_id[i]
                        j += 1
                for j in range(n_fills):
                    if j + AHEAD_SLOT < n_fills:
                        LOB_PREFETCH(&table.slots[(mix(fills[j + AHEAD_SLOT]) >> 20) & table.mask])
                    insert(&table, fills[j])
        if status == OK:
            status = convert(n, ts_recv, action, side, order_id, price, size, rflags, instrument,
                             all_instruments, want, n_fills > 0, ev, &fl[0], &kp[0] if n_fills else NULL, &table,
                             prints, pending, &i, &k)
        free(table.slots)
        free(table.bloom)
        free(prints)
        free(pending)
        free(fills)
    if status != OK:
        return status, i, None, None, 0
    return OK, 0, events[:k], flags[:k], k


cdef int convert(Py_ssize_t n, const uint64_t[:] ts_recv, const uint8_t[:] action, const uint8_t[:] side,
                 const uint64_t[:] order_id, const int64_t[:] price, const uint32_t[:] size,
                 const uint8_t[:] rflags, const uint32_t[:] instrument, bint all_instruments, uint32_t want,
                 bint pairing, Event *ev, uint8_t *fl, uint8_t *kp, Table *table, Print *prints,
                 Pending *pending, Py_ssize_t *at, Py_ssize_t *emitted) noexcept nogil:
    """Write a row per record that makes an event (kp[row] = 0 when a later
    record takes it back), settle each event's fills at its F_LAST, then
    compact the rows in place.  *at: the
    record of a failure; *emitted: the row count."""
    cdef Py_ssize_t i, s = 0, k, n_prints = 0, n_pending = 0, j
    cdef uint8_t a
    cdef bint row
    cdef const uint8_t *dropped
    cdef int sd
    cdef int64_t q
    cdef Event *e
    cdef Tracked *o
    cdef uint32_t only = instrument[0] if n else 0
    for i in range(n):
        if all_instruments:
            if instrument[i] != only:
                at[0] = i
                return E_INSTRUMENTS
        elif instrument[i] != want:
            continue
        a = action[i]
        if pairing:
            if i + AHEAD_BLOOM < n:
                prefetch_bloom(table, order_id[i + AHEAD_BLOOM])
            if i + AHEAD_SLOT < n:
                prefetch_slot(table, order_id[i + AHEAD_SLOT])
        if ts_recv[i] > <uint64_t>INT64_MAX:
            at[0] = i
            return E_TS
        if side[i] != 66 and side[i] != 65 and side[i] != 78:     # B A N
            at[0] = i
            return E_SIDE
        e = &ev[s]
        e.ts = <int64_t>ts_recv[i]
        e.order_id = order_id[i]
        e.price = price[i]
        e.qty = size[i]
        fl[s] = rflags[i]
        if pairing:
            kp[s] = 1
        row = True
        sd = SIDE_OF[side[i]]
        o = NULL
        if pairing and (a == 65 or a == 67 or a == 77 or a == 70):
            o = find(table, order_id[i])
        if a == 65:                                 # 'A' add
            if sd == NO_SIDE:
                at[0] = i
                return E_ADD_SIDE
            e.kind = ADD
            e.side = sd
            if o != NULL and live(table, o) and o.pend >= 0:
                # an add of an order whose fill waits: the raw book refuses it (the id
                # rests); without the fill's EXECUTE here, so does ours
                undo_fill(o, pending, kp, prints)
            elif o != NULL and not live(table, o) and size[i] > 0:
                o.gen = table.gen
                o.resting = 1
                o.side = sd
                o.price = price[i]
                o.size = size[i]
                o.pend = -1
        elif a == 67:                               # 'C' cancel
            e.kind = REDUCE
            e.side = OR_BID[side[i]]
            if o != NULL and cancel_tracked(table, o, pending, e, kp, <int64_t>size[i], prints):
                row = False
        elif a == 77:                               # 'M' modify
            e.kind = MODIFY
            e.side = OR_BID[side[i]]
            if o != NULL and modify_tracked(table, o, pending, e, kp, price[i], <int64_t>size[i], prints):
                row = False
        elif a == 84:                               # 'T' trade
            e.kind = TRADE
            e.side = OR_NONE[side[i]]
            e.order_id = 0
            if pairing and sd != NO_SIDE:
                prints[n_prints].slot = s
                prints[n_prints].price = price[i]
                prints[n_prints].size = size[i]
                prints[n_prints].left = size[i]
                prints[n_prints].side = sd
                n_prints += 1
        elif a == 82:                               # 'R' clear
            e.kind = CLEAR
            e.side = 0
            e.order_id = 0
            e.price = 0
            e.qty = 0
            if pairing:
                # every tracked order leaves the book: a fill waiting for its C or M has none
                for j in range(n_pending):
                    if pending[j].order.pend == j:
                        undo_fill(pending[j].order, pending, kp, prints)
                n_pending = 0
                table.gen += 1
        elif a == 70:                               # 'F' fill
            row = False
            if o != NULL and pair_fill(table, o, e, sd, price[i], <int64_t>size[i], prints, n_prints,
                                       s, pending, n_pending):
                row = True
                n_pending += 1
        elif a == 78:                               # 'N' none
            row = False
        else:
            at[0] = i
            return E_ACTION
        if row:
            s += 1
        elif rflags[i] & F_LAST and s > 0:          # no row: the row before ends the exchange event
            fl[s - 1] |= F_LAST
        if pairing and rflags[i] & F_LAST:
            settle_event(table, ev, kp, prints, n_prints, pending, n_pending)
            n_prints = 0
            n_pending = 0
    if pairing:
        settle_event(table, ev, kp, prints, n_prints, pending, n_pending)
    # compact the rows a later record took back (prints all filled, fills undone);
    # a dropped row hands its F_LAST to the row before it
    dropped = <const uint8_t *>memchr(kp, 0, s) if pairing else NULL
    k = s if dropped == NULL else dropped - kp
    for j in range(k, s):
        if kp[j]:
            ev[k] = ev[j]
            fl[k] = fl[j]
            k += 1
        elif fl[j] & F_LAST and k > 0:
            fl[k - 1] |= F_LAST
    emitted[0] = k
    return OK


cdef inline bint pair_fill(Table *table, Tracked *o, Event *e, int sd, int64_t px, int64_t qty,
                           Print *prints, Py_ssize_t n_prints, Py_ssize_t slot, Pending *pending,
                           Py_ssize_t n_pending) noexcept nogil:
    """A fill pairs when its order rests at its price and side with at least
    its qty, has no fill waiting already, and a trade print of this event at
    that price from the other side has that qty left: then its row becomes a
    tentative EXECUTE (the book takes the qty here) and the print's qty is
    reserved.  The pairing stands once the order's C or M arrives."""
    cdef Py_ssize_t t
    if not live(table, o) or o.pend >= 0 or sd == NO_SIDE or sd != o.side or px != o.price \
            or qty <= 0 or qty > o.size:
        return False
    t = n_prints - 1
    while t >= 0:
        if prints[t].price == px and prints[t].side == 1 - sd and prints[t].left >= qty:
            break
        t -= 1
    if t < 0:
        return False
    prints[t].left -= qty
    e.kind = EXECUTE
    e.side = sd
    o.size -= qty
    o.pend = <int32_t>n_pending
    pending[n_pending].order = o
    pending[n_pending].slot = slot
    pending[n_pending].trade = t
    pending[n_pending].qty = qty
    return True


cdef inline void undo_fill(Tracked *o, Pending *pending, uint8_t *kp, Print *prints) noexcept nogil:
    """The fill found no book change: its EXECUTE row goes and its qty goes
    back to the print (so the book and the flow are the raw records')."""
    cdef Pending *p = &pending[o.pend]
    kp[p.slot] = 0
    o.size += p.qty
    prints[p.trade].left += p.qty
    o.pend = -1


cdef inline bint cancel_tracked(Table *table, Tracked *o, Pending *pending, Event *e, uint8_t *kp, int64_t c,
                                Print *prints) noexcept nogil:
    """A C of a tracked order: it completes a waiting fill of qty q when
    q <= c <= what rested before the fill (the C leaves with the EXECUTE:
    True, or REDUCEs the part above q); else the fill is undone and the C
    REDUCEs c as it would without executions."""
    cdef bint consumed = False
    if not live(table, o):
        return False
    cdef int64_t q
    if o.pend >= 0:
        q = pending[o.pend].qty
        if q <= c and c - q <= o.size:
            c -= q
            o.pend = -1
            if c == 0:
                consumed = True
            else:
                e.qty = c
        else:
            undo_fill(o, pending, kp, prints)
    if c <= o.size:          # the book refuses a REDUCE above what rests; so does the mirror
        o.size -= c
        if o.size == 0:
            o.resting = 0
    return consumed


cdef inline bint modify_tracked(Table *table, Tracked *o, Pending *pending, Event *e, uint8_t *kp, int64_t px,
                                int64_t s, Print *prints) noexcept nogil:
    """An M of a tracked order: it completes a waiting fill when the order
    still rests after it; an M to exactly that price and qty leaves with the
    EXECUTE (True), another M stays a MODIFY after it unless that would change the
    queue position the raw M gives (the same price with a qty above what the
    fill left: undone)."""
    if not live(table, o):
        return False
    if o.pend >= 0:
        if o.size > 0 and s > 0 and (px != o.price or s <= o.size):
            o.pend = -1
            if px == o.price and s == o.size:
                return True
        else:
            undo_fill(o, pending, kp, prints)
    if s > 0:
        o.price = px
        o.size = s
    return False


cdef inline void settle_event(Table *table, Event *ev, uint8_t *kp, Print *prints, Py_ssize_t n_prints,
                              Pending *pending, Py_ssize_t n_pending) noexcept nogil:
    """End of an exchange event: fills still waiting for their C or M are
    undone; each print keeps the qty no fill took (fills took it all: it goes)."""
    cdef Py_ssize_t j
    for j in range(n_pending):
        if pending[j].order.pend == j:
            undo_fill(pending[j].order, pending, kp, prints)
    for j in range(n_prints):
        if prints[j].left == 0 and prints[j].size > 0:
            kp[prints[j].slot] = 0
        elif prints[j].left != prints[j].size:
            ev[prints[j].slot].qty = prints[j].left


# ---- framing of streams with other record types between the MBO records ----

def uniform_records(const uint8_t[::1] buf, Py_ssize_t start, Py_ssize_t n, uint8_t rtype, Py_ssize_t size):
    """True when buf[start:] is n records of `rtype`, each `size` bytes
    (the usual file: read it in place)."""
    cdef Py_ssize_t i
    cdef uint8_t words = <uint8_t>(size // 4)
    cdef bint uniform = True
    if start < 0 or n < 0 or start + n * size > buf.shape[0]:
        return False
    with nogil:
        for i in range(n):
            if buf[start + i * size] != words or buf[start + i * size + 1] != rtype:
                uniform = False
                break
    return uniform


def record_offsets(const uint8_t[::1] buf, Py_ssize_t start, uint8_t rtype, Py_ssize_t size):
    """(status, at, offsets): the byte offsets of the records of `rtype` in
    buf[start:], walking every record's length (byte 0, in 4-byte words).
    status 1: a length below the 16-byte record header at `at`; 2: the
    record at `at` runs past the end; 3: a record of rtype is not `size`
    bytes; offsets is None then."""
    cdef Py_ssize_t n = buf.shape[0], pos = start, length, k = 0
    cdef int status = 0
    offsets = np.empty((n - start) // 16 + 1, dtype=np.int64)
    cdef int64_t[::1] out = offsets
    with nogil:
        while pos < n:
            length = <Py_ssize_t>buf[pos] * 4
            if length < 16:
                status = 1
                break
            if length > n - pos:
                status = 2
                break
            if buf[pos + 1] == rtype:
                if length != size:
                    status = 3
                    break
                out[k] = pos
                k += 1
            pos += length
    if status:
        return status, pos, None
    return 0, 0, offsets[:k]


def gather_records(const uint8_t[::1] buf, const int64_t[::1] offsets, Py_ssize_t size):
    """The `size`-byte records at `offsets` of buf, packed one after another
    (uint8; view it with the record dtype).  Offsets come from
    record_offsets, so each record lies inside buf."""
    cdef Py_ssize_t n = offsets.shape[0], i
    out = np.empty(n * size, dtype=np.uint8)
    cdef uint8_t[::1] dst = out
    with nogil:
        for i in range(n):
            memcpy(&dst[i * size], &buf[offsets[i]], size)
    return out
