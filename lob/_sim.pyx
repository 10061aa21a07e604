# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""lob.Simulator: your orders in a replayed L3 book (the contract's
"Execution simulation", rules 1 to 5).

A venue's event stream replays into an OrderBook in one C loop without the
GIL; own orders live in the same FIFO queues under ids the stream never uses,
flagged in lob_order.flags (OWN), so the book's own machinery draws their
queue ahead down as feed orders ahead of them leave.  The loop stops for
Python only to call back (a timer, an own fill) and resumes where it was.

Per feed event, with nothing of ours in the book and nothing consumed, the
event goes straight to lob_book_apply; otherwise it is checked against the
rules first:

- rule 2 (an own order arrives and crosses): it takes feed liquidity best
  price first, anonymous qty then FIFO, one fill per resting order, and
  what it consumed becomes a debt: the qty the feed still believes rests.  A
  later feed event that removes more than is left of such an order (or of
  such anonymous qty) removes what is left and counts in `reconciled`.
- rule 4 (a feed EXECUTE behind an own order at its price, or at a price
  worse for the aggressor): the own orders ahead of it fill first, by the
  executed qty, in price-time priority; then the event applies.
- rule 5 (a feed ADD or MODIFY crossing an own order): it trades with the
  own orders it crosses first; the feed order keeps the rest (and owes the
  traded qty, as in rule 2).

Decisions beyond the contract are in lob.Simulator's docstring and NOTES.md.
"""
cimport cython
from libc.stdint cimport int64_t, uint64_t, uint32_t, INT64_MAX, INT64_MIN
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

from lob._core cimport *
from lob._events cimport Event, event_array, event_data, ADD, REDUCE, CANCEL, EXECUTE, TRADE, MODIFY, CLEAR, ANON
from lob._book cimport OrderBook, view_of
from lob._convert cimport to_int64, to_uint64, to_side
from lob._rows cimport grow_rows

cimport numpy as cnp
import numpy as np

from lob.dtypes import SIM_FILL_DTYPE as _SIM_FILL_DTYPE
from lob.errors import REASONS as _REASONS, error as _error

cnp.import_array()

if sizeof(SimFillRow) != _SIM_FILL_DTYPE.itemsize:
    raise ImportError("lob._sim: SimFillRow does not match lob.SIM_FILL_DTYPE")


cdef extern from "lob_book.h" nogil:
    void lob_book_drop_level(lob_book *b, uint32_t level)
    int lob_book_trade_room(lob_book *b, int aggressor, int64_t qty)


# lob_order.flags bit of an own order (the matching engine uses bit 0 in its own books)
cdef enum:
    OWN = 2

# sig.dirty after an edit of a level made here: every side (lob_book_after then
# looks at the whole top of the book; an unchanged side adds nothing to OFI)
cdef enum:
    ANY_SIDE = 3

# OwnOrder.status; lob.sim.STATUSES names them
cdef enum OwnStatus:
    PENDING = 0
    RESTING = 1
    FILLED = 2
    CANCELLED = 3
    REJECTED = 4

cdef enum ActionKind:
    NEW_ORDER = 0
    CANCEL_ORDER = 1

# what advance() stopped for
cdef enum Step:
    DONE = 0
    FILLS = 1
    TIMER = 2
    STOPPED = 3

STATUSES = ("pending", "resting", "filled", "cancelled", "rejected")
_TIFS = {"GTC": 0, "IOC": 1, "FOK": 2}
_TIF_NAMES = ("GTC", "IOC", "FOK")
_records = None       # (SimFill, SimOrder) of lob.sim, imported on first use (lob.sim imports this module)


cdef object records():
    global _records
    if _records is None:
        from lob.sim import SimFill, SimOrder
        _records = (SimFill, SimOrder)
    return _records


cdef inline int64_t min64(int64_t a, int64_t b) noexcept nogil:
    return a if a < b else b


cdef inline int64_t max64(int64_t a, int64_t b) noexcept nogil:
    return a if a > b else b


cdef inline bint better(int side, int64_t a, int64_t b) noexcept nogil:
    """Is price a strictly better than b for a resting order of `side`
    (higher for a bid, lower for an ask)?"""
    return a > b if side == 0 else a < b


cdef inline bint reaches(int side, int64_t price, int64_t resting) noexcept nogil:
    """Does an order of `side` at `price` reach a resting opposite order at
    `resting` (lock or cross)?"""
    return price >= resting if side == 0 else price <= resting


# ---------------------------------------------------------------------------
# DebtMap: uint64 key -> DebtEntry, open addressing, load <= 1/2, backward-shift
# deletion.  Keys: feed order ids, or (per side) the price of anonymous qty.

cdef inline uint64_t dm_home(const DebtMap *m, uint64_t key) noexcept nogil:
    return (key * <uint64_t>0x9E3779B97F4A7C15ULL) >> m.shift


cdef int dm_init(DebtMap *m) noexcept nogil:
    m.e = <DebtEntry *>calloc(64, sizeof(DebtEntry))
    m.mask = 63 if m.e != NULL else 0
    m.count = 0
    m.shift = 64 - 6
    return 0 if m.e != NULL else LOB_E_NOMEM


cdef void dm_free(DebtMap *m) noexcept nogil:
    free(m.e)
    m.e = NULL
    m.mask = 0
    m.count = 0


cdef DebtEntry *dm_find(DebtMap *m, uint64_t key) noexcept nogil:
    cdef uint64_t i
    if m.count == 0:
        return NULL
    i = dm_home(m, key)
    while m.e[i].used:
        if m.e[i].key == key:
            return &m.e[i]
        i = (i + 1) & m.mask
    return NULL


cdef int dm_reserve(DebtMap *m) noexcept nogil:
    """Room for one more key (the map doubles at load 1/2)."""
    cdef uint64_t cap, j, i
    cdef DebtEntry *grown
    cdef DebtEntry *old = m.e
    cdef uint64_t old_mask = m.mask
    if (m.count + 1) * 2 <= m.mask + 1:
        return LOB_OK
    cap = (m.mask + 1) * 2
    grown = <DebtEntry *>calloc(cap, sizeof(DebtEntry))
    if grown == NULL:
        return LOB_E_NOMEM
    m.e = grown
    m.mask = cap - 1
    m.shift -= 1
    for j in range(old_mask + 1):
        if old[j].used:
            i = dm_home(m, old[j].key)
            while m.e[i].used:
                i = (i + 1) & m.mask
            m.e[i] = old[j]
    free(old)
    return LOB_OK


cdef DebtEntry *dm_put(DebtMap *m, uint64_t key) noexcept nogil:
    """The entry of `key`, a new one (debt 0) if absent; dm_reserve first."""
    cdef uint64_t i = dm_home(m, key)
    while m.e[i].used:
        if m.e[i].key == key:
            return &m.e[i]
        i = (i + 1) & m.mask
    m.e[i].used = True
    m.e[i].key = key
    m.e[i].debt = 0
    m.e[i].price = 0
    m.e[i].side = 0
    m.count += 1
    return &m.e[i]


cdef void dm_erase(DebtMap *m, DebtEntry *entry) noexcept nogil:
    cdef uint64_t i = <uint64_t>(entry - m.e), j = i, home
    while True:
        j = (j + 1) & m.mask
        if not m.e[j].used:
            break
        home = dm_home(m, m.e[j].key)
        if ((j - home) & m.mask) >= ((j - i) & m.mask):
            m.e[i] = m.e[j]
            i = j
    m.e[i].used = False
    m.count -= 1


cdef void dm_clear(DebtMap *m) noexcept nogil:
    if m.count:
        memset(m.e, 0, (m.mask + 1) * sizeof(DebtEntry))
        m.count = 0


cdef inline void dm_pay(DebtMap *m, DebtEntry *entry, int64_t qty) noexcept nogil:
    """The feed removed `qty` the simulated book no longer had: the debt
    shrinks by it, and goes at 0."""
    entry.debt -= qty
    if entry.debt <= 0:
        dm_erase(m, entry)


# ---------------------------------------------------------------------------

@cython.final
cdef class Simulator:
    """Own orders in a replayed venue book (the contract's "Execution
    simulation"): ``lob.Simulator(events, *, book=None, latency_ns=0)``.

    events: the venue's L3 stream (lob.EVENT_DTYPE, any loader's), replayed
    into `book` in order.  book: an OrderBook that the simulator then owns
    (write to it only through the simulator); default a new OrderBook that
    fits the stream: allow_cross=True when the stream locks or crosses the
    book (a DBN stream between the records of one exchange event), else
    False.  latency_ns (>= 0): every own action (submit, market, cancel) sent
    at ts arrives at ts + latency_ns.

    Own order ids come from a range the stream and the book never use (the
    next power of ten above every id they hold; see own_ids).  Prices and
    quantities are integers in the stream's units; times are ns of the
    stream's clock.

    The rules (1 to 5) are the contract's; where it is silent:

    - an own action with ts before the simulator's clock (`now`) is refused
      (ValueError): nothing is sent into the past.
    - actions and timers run after every feed event with ts <= their time,
      before any later one; at one time, actions (in the order sent) come
      before the timer.  A stream whose ts goes back is taken in its order:
      an action runs before the first feed event with ts > its time.
    - an own order meeting another own order while it takes liquidity
      stops there and the rest is cancelled (self-trade prevention: cancel
      newest); post_only is rejected when the limit reaches the opposite
      best level, own orders included.  tif "FOK" fills in full from the
      feed liquidity in front of any own order, else it is rejected.
    - a crossing feed ADD or MODIFY that would still cross feed liquidity
      after trading with own orders is refused by a book made with
      allow_cross=False (counted in `rejected`); its fills stand.
    - own fills are trades of the simulated venue: each is recorded in the
      book's trade flow and signals (aggressor: the own taker, or the feed
      side that hit an own maker), and the rule-4 feed EXECUTE then records
      its own trade.
    - a feed EXECUTE of an order the book does not know and no anonymous
      qty there fills own orders (rule 4) from the event's side and price
      when the side is 0 or 1 (a loader that does not know the side says
      -1, as the ITCH parser does for unknown references); it is ahead of
      own orders at its price, as anonymous qty is.
    - a feed MODIFY of an order that owes qty gives it the new qty minus
      what it owes (removed when that is <= 0, and reconciled); an ANON event
      at a level whose anonymous qty was consumed sets it to the new qty
      minus the debt there.
    - a CLEAR cancels every resting own order (status "cancelled").
    - MemoryError stops a run where it was: every event and fill before it
      is complete; the simulator should not be used further.

    Readers: book (a read-only lob.BookView of the venue's book, own orders
    included), fills (lob.SIM_FILL_DTYPE), order(oid), orders(),
    reconciled, rejected, now, position, pending, own_ids.
    """

    def __cinit__(self, *args, **kwargs):
        self.own = NULL
        self.resting = NULL
        self.cand = NULL
        self.heap = NULL
        self.fill_rows = NULL
        self.debts.e = NULL
        self.anon_debts[0].e = NULL
        self.anon_debts[1].e = NULL
        if dm_init(&self.debts) or dm_init(&self.anon_debts[0]) or dm_init(&self.anon_debts[1]):
            raise MemoryError("Simulator: cannot allocate its maps")

    def __dealloc__(self):
        free(self.own)
        free(self.resting)
        free(self.cand)
        free(self.heap)
        free(self.fill_rows)
        dm_free(&self.debts)
        dm_free(&self.anon_debts[0])
        dm_free(&self.anon_debts[1])

    def __init__(self, events, *, book=None, latency_ns=0):
        """Replay `events` (lob.EVENT_DTYPE) into `book` (an OrderBook; default:
        one fitting the stream) with own actions arriving latency_ns (int,
        ns, >= 0) after they are sent."""
        if self.core != NULL:
            raise RuntimeError("Simulator.__init__ runs once; make a new Simulator")
        events = event_array(events)
        cdef int64_t latency = to_int64(latency_ns, "latency_ns")
        if latency < 0:
            raise ValueError(f"latency_ns must be >= 0, got {latency_ns!r}")
        if book is None:
            probe = OrderBook()
            probe.apply(events, record=False, on_error="skip")
            book = OrderBook(allow_cross="crossed" in probe.last_rejected)
        elif not isinstance(book, OrderBook):
            raise TypeError(f"book must be a lob.OrderBook, got {type(book).__name__}")
        (<OrderBook>book).guard()
        self._book = book
        self.core = (<OrderBook>book).core
        self._view = None
        self._events = events
        self.ev = event_data(events)
        self.n = events.shape[0]
        self.pos = 0
        self.latency_ns = latency
        self.id_base, self.id_cap = own_id_range(events, book)      # one pass over the events in C
        self.n_own = self.own_cap = 0
        self.n_resting = self.resting_cap = 0
        self.n_rest_side[0] = self.n_rest_side[1] = 0
        self.own_best[0] = INT64_MIN
        self.own_best[1] = INT64_MAX
        self.arrivals = 0
        self.cand_cap = 0
        self.n_heap = self.heap_cap = 0
        self.sent = 0
        self.nfills = self.fills_cap = self.notified = 0
        self.clock = INT64_MIN
        self.started = False
        self.max_ts = INT64_MIN                 # the stream's last ts: found when a run needs it
        self.running = self.in_loop = self.stop_requested = False
        self.reconciled = 0
        memset(self.rejected_counts, 0, sizeof(self.rejected_counts))

    # ------------------------------------------------------------------
    # C level: own orders and fills

    cdef int reserve_fill(self) noexcept nogil:
        return LOB_OK if grow_rows(<void **>&self.fill_rows, &self.fills_cap, self.nfills + 1,
                              sizeof(SimFillRow)) else LOB_E_NOMEM

    cdef int push_fill(self, int64_t ts, uint32_t i, int64_t price, int64_t qty, int liquidity,
                       int64_t ahead, double mid) noexcept nogil:
        cdef SimFillRow *f
        if self.reserve_fill():
            return LOB_E_NOMEM
        f = &self.fill_rows[self.nfills]
        f.ts = ts
        f.order_id = self.id_base + i
        f.side = <int8_t>self.own[i].side
        f.price = price
        f.qty = qty
        f.liquidity = liquidity
        f.queue_ahead = ahead
        f.mid = mid
        self.nfills += 1
        return LOB_OK

    cdef int reserve_resting(self) noexcept nogil:
        """Room for one more resting own order (and as many candidates)."""
        if not grow_rows(<void **>&self.resting, &self.resting_cap, self.n_resting + 1, sizeof(uint32_t)):
            return LOB_E_NOMEM
        if not grow_rows(<void **>&self.cand, &self.cand_cap, self.n_resting + 1, sizeof(uint32_t)):
            return LOB_E_NOMEM
        return LOB_OK

    cdef void add_resting(self, uint32_t i) noexcept nogil:
        """Own order i rests (reserve_resting first)."""
        cdef OwnOrder *o = &self.own[i]
        self.resting[self.n_resting] = i
        o.rest_pos = <int>self.n_resting
        self.n_resting += 1
        self.n_rest_side[o.side] += 1
        if self.n_rest_side[o.side] == 1 or better(o.side, o.price, self.own_best[o.side]):
            self.own_best[o.side] = o.price

    cdef void drop_resting(self, uint32_t i) noexcept nogil:
        """Own order i no longer rests (the book already let it go)."""
        cdef OwnOrder *o = &self.own[i]
        cdef uint32_t last = self.resting[self.n_resting - 1]
        self.resting[o.rest_pos] = last
        self.own[last].rest_pos = o.rest_pos
        self.n_resting -= 1
        o.rest_pos = -1
        o.slot = LOB_NIL
        self.n_rest_side[o.side] -= 1
        if o.price == self.own_best[o.side]:
            self.best_of(o.side)

    cdef void best_of(self, int side) noexcept nogil:
        cdef Py_ssize_t k
        cdef int64_t best = INT64_MIN if side == 0 else INT64_MAX
        cdef OwnOrder *o
        for k in range(self.n_resting):
            o = &self.own[self.resting[k]]
            if o.side == side and (best == (INT64_MIN if side == 0 else INT64_MAX) or better(side, o.price, best)):
                best = o.price
        self.own_best[side] = best

    cdef bint crosses_own(self, int side, int64_t price) noexcept nogil:
        """Would a feed order of `side` at `price` reach a resting own order?"""
        return self.n_rest_side[1 - side] > 0 and reaches(side, price, self.own_best[1 - side])

    cdef int count_status(self, int status) noexcept nogil:
        """A feed event's status: refusals are counted, fatal codes returned."""
        if status:
            if LOB_FATAL(status):
                return status
            self.rejected_counts[status & 31] += 1
        return LOB_OK

    cdef int maker_fill(self, uint32_t i, int64_t qty, int aggressor, int64_t ts) noexcept nogil:
        """Own order i, resting, trades `qty` (<= what rests) at its price
        with a feed aggressor: a maker fill (rules 4 and 5)."""
        cdef lob_book *b = self.core
        cdef OwnOrder *o = &self.own[i]
        cdef uint32_t slot = o.slot, prev
        cdef lob_order *order = &b.orders[slot]
        cdef uint32_t level = order.level
        cdef lob_level *lvl = &b.levels[level]
        cdef int64_t ahead = lvl.anon, price = lvl.price
        cdef int status
        cdef double mid
        if self.reserve_fill():
            return LOB_E_NOMEM
        status = lob_book_trade_room(b, aggressor, qty)
        if status:
            return status
        prev = order.prev
        while prev != LOB_NIL:
            ahead += b.orders[prev].qty
            prev = b.orders[prev].prev
        mid = lob_book_mid(b)
        lob_book_record_trade(b, aggressor, price, qty)
        o.filled += qty
        self.push_fill(ts, i, price, qty, 0, ahead, mid)
        if qty == order.qty:
            lob_book_remove(b, slot)
            o.status = FILLED
            o.end_ts = ts
            self.drop_resting(i)
        else:
            order.qty -= qty
            lvl.qty -= qty
            b.sig.dirty |= ANY_SIDE
        lob_book_after(b, LOB_AFTER_FLOW)
        return LOB_OK

    cdef int gather(self, int side, int64_t price, bint inclusive, uint32_t x_slot) noexcept nogil:
        """Into cand: the resting own orders of `side` at prices strictly
        better than `price` (or as good, with `inclusive`), and when x_slot
        is a feed order at `price`, the own orders queued ahead of it there;
        in price-time priority.  Returns how many."""
        cdef Py_ssize_t k, m = 0, j
        cdef uint32_t i, slot, key
        cdef OwnOrder *o
        cdef lob_book *b = self.core
        for k in range(self.n_resting):
            i = self.resting[k]
            o = &self.own[i]
            if o.side == side and (better(side, o.price, price) or (inclusive and o.price == price)):
                self.cand[m] = i
                m += 1
        if x_slot != LOB_NIL and not inclusive:
            slot = b.orders[x_slot].prev
            while slot != LOB_NIL:
                if b.orders[slot].flags & OWN:
                    self.cand[m] = <uint32_t>(b.orders[slot].order_id - self.id_base)
                    m += 1
                slot = b.orders[slot].prev
        # insertion sort: best price first, then the order they arrived in (their FIFO order)
        for k in range(1, m):
            key = self.cand[k]
            j = k - 1
            while j >= 0 and (better(side, self.own[key].price, self.own[self.cand[j]].price) or (
                    self.own[key].price == self.own[self.cand[j]].price and self.own[key].seq < self.own[self.cand[j]].seq)):
                self.cand[j + 1] = self.cand[j]
                j -= 1
            self.cand[j + 1] = key
        return <int>m

    cdef int64_t rule4(self, int side, int64_t price, int64_t qty, uint32_t x_slot, int64_t ts) noexcept nogil:
        """A feed execution of `qty` at (side, price) (x_slot: the executed
        feed order when it rests, else LOB_NIL: anonymous qty, an order
        already consumed, an unknown id) first fills the own orders ahead of
        it, by `qty` in price-time priority.  Returns the qty they took, or
        -code on a fatal failure."""
        cdef int m, k, status
        cdef int64_t left = qty, f
        cdef uint32_t i
        if qty <= 0 or self.n_rest_side[side] == 0:
            return 0
        if better(side, price, self.own_best[side]) or (price == self.own_best[side] and x_slot == LOB_NIL):
            return 0
        m = self.gather(side, price, False, x_slot)
        for k in range(m):
            if left == 0:
                break
            i = self.cand[k]
            f = min64(left, self.core.orders[self.own[i].slot].qty)
            status = self.maker_fill(i, f, 1 - side, ts)
            if status:
                return -status
            left -= f
        return qty - left

    cdef int64_t rule5(self, int side, int64_t price, int64_t qty, int64_t ts) noexcept nogil:
        """A feed order of `side` at `price` for `qty` trades first with the
        own orders it crosses (opposite side, at `price` or better for it),
        best price first, then the order they arrived in.  Returns the qty
        traded, or -code on a fatal failure."""
        cdef int m, k, status, opp = 1 - side
        cdef int64_t left = qty, f
        cdef uint32_t i
        if qty <= 0 or self.n_rest_side[opp] == 0:
            return 0
        m = self.gather(opp, price, True, LOB_NIL)
        for k in range(m):
            if left == 0:
                break
            i = self.cand[k]
            f = min64(left, self.core.orders[self.own[i].slot].qty)
            status = self.maker_fill(i, f, side, ts)
            if status:
                return -status
            left -= f
        return qty - left

    cdef int owe(self, uint64_t order_id, int side, int64_t price, int64_t qty) noexcept nogil:
        """Feed order `order_id` owes `qty` more (own orders took it)."""
        cdef DebtEntry *d
        if dm_reserve(&self.debts):
            return LOB_E_NOMEM
        d = dm_put(&self.debts, order_id)
        d.debt += qty
        d.side = side
        d.price = price
        return LOB_OK

    cdef int apply_as(self, const Event *e, int kind, int64_t qty) noexcept nogil:
        """Apply event e with another kind and qty (its ts, side, id, price)."""
        cdef Event copy = e[0]
        copy.kind = kind
        copy.qty = qty
        return lob_book_apply(self.core, &copy)

    # ------------------------------------------------------------------
    # C level: feed events

    cdef int feed_event(self, const Event *e) noexcept nogil:
        cdef int kind = e.kind
        if self.n_resting == 0 and self.debts.count == 0 and self.anon_debts[0].count == 0 \
                and self.anon_debts[1].count == 0:
            return self.count_status(lob_book_apply(self.core, e))
        if kind == ADD:
            return self.feed_add(e)
        if kind == EXECUTE:
            return self.feed_execute(e)
        if kind == CANCEL or kind == REDUCE:
            return self.feed_remove(e)
        if kind == MODIFY:
            return self.feed_modify(e)
        if kind == CLEAR:
            return self.feed_clear(e)
        if kind == ANON:
            return self.feed_anon(e)
        return self.count_status(lob_book_apply(self.core, e))

    cdef int feed_add(self, const Event *e) noexcept nogil:
        cdef lob_book *b = self.core
        cdef int side = e.side, status
        cdef int64_t traded, ts
        cdef DebtEntry *d
        if (<unsigned>side > 1 or e.qty <= 0 or not self.crosses_own(side, e.price)
                or lob_book_find(b, e.order_id) != LOB_NIL):
            status = lob_book_apply(b, e)
            if status == LOB_OK and self.debts.count:
                d = dm_find(&self.debts, e.order_id)
                if d != NULL:            # the id is a new order now
                    dm_erase(&self.debts, d)
            return self.count_status(status)
        # rule 5: it crosses own orders
        d = dm_find(&self.debts, e.order_id)
        if d != NULL:
            dm_erase(&self.debts, d)
        ts = max64(b.sig.ts, e.ts)
        b.sig.ts = ts
        traded = self.rule5(side, e.price, e.qty, ts)
        if traded < 0:
            return <int>-traded
        if traded == e.qty:
            return self.owe(e.order_id, side, e.price, traded)
        status = self.apply_as(e, ADD, e.qty - traded)
        if status == LOB_OK and traded:
            return self.owe(e.order_id, side, e.price, traded)
        return self.count_status(status)

    cdef int feed_execute(self, const Event *e) noexcept nogil:
        cdef lob_book *b = self.core
        cdef uint32_t slot
        cdef lob_level *lvl
        cdef int side, status
        cdef int64_t left, taken, ts
        cdef DebtEntry *d
        if e.qty <= 0:
            return self.count_status(lob_book_apply(b, e))
        ts = max64(b.sig.ts, e.ts)
        slot = lob_book_find(b, e.order_id)
        if slot != LOB_NIL:
            lvl = &b.levels[b.orders[slot].level]
            side = <int>lvl.side
            if self.n_rest_side[side] and not better(side, lvl.price, self.own_best[side]):
                b.sig.ts = ts
                taken = self.rule4(side, lvl.price, e.qty, slot, ts)
                if taken < 0:
                    return <int>-taken
            left = b.orders[slot].qty
            if e.qty > left and self.debts.count:
                d = dm_find(&self.debts, e.order_id)
                if d != NULL:            # it executes what is left of an order own takers consumed
                    status = self.apply_as(e, EXECUTE, left)
                    if status:
                        return self.count_status(status)
                    self.reconciled += 1
                    dm_pay(&self.debts, d, e.qty - left)
                    return LOB_OK
            return self.count_status(lob_book_apply(b, e))
        d = dm_find(&self.debts, e.order_id)
        if d != NULL:                    # own takers consumed all of it: the print still proves its price
            b.sig.ts = ts
            taken = self.rule4(d.side, d.price, e.qty, LOB_NIL, ts)     # (fills change no debt)
            if taken < 0:
                return <int>-taken
            self.reconciled += 1
            dm_pay(&self.debts, d, e.qty)
            return LOB_OK
        if <unsigned>e.side <= 1 and self.n_rest_side[e.side]:
            b.sig.ts = ts
            taken = self.rule4(e.side, e.price, e.qty, LOB_NIL, ts)
            if taken < 0:
                return <int>-taken
        return self.unknown_draw(e)

    cdef int unknown_draw(self, const Event *e) noexcept nogil:
        """A CANCEL, REDUCE or EXECUTE of an id neither the book nor the
        debts know: it draws on the anonymous qty at (side, price) as the
        book does, and what it takes beyond it is reconciled against
        anonymous qty own takers consumed there."""
        cdef lob_book *b = self.core
        cdef DebtEntry *d = NULL
        cdef uint32_t level
        cdef int64_t anon = 0
        cdef int status
        if <unsigned>e.side <= 1:
            d = dm_find(&self.anon_debts[e.side], <uint64_t>e.price)
        if d == NULL or e.qty <= 0:
            return self.count_status(lob_book_apply(b, e))
        level = lob_book_level_of(b, e.side, e.price)
        if level != LOB_NIL:
            anon = b.levels[level].anon
        if e.qty <= anon:
            return self.count_status(lob_book_apply(b, e))
        if anon:
            status = self.apply_as(e, e.kind, anon)
            if status:
                return self.count_status(status)
        elif e.ts > b.sig.ts:
            b.sig.ts = e.ts
        self.reconciled += 1
        dm_pay(&self.anon_debts[e.side], d, e.qty - anon)
        return LOB_OK

    cdef int feed_remove(self, const Event *e) noexcept nogil:
        """CANCEL or REDUCE."""
        cdef lob_book *b = self.core
        cdef uint32_t slot
        cdef int64_t left
        cdef int status
        cdef DebtEntry *d
        if self.debts.count == 0 and self.anon_debts[0].count == 0 and self.anon_debts[1].count == 0:
            return self.count_status(lob_book_apply(b, e))
        if e.kind == REDUCE and e.qty <= 0:
            return self.count_status(lob_book_apply(b, e))
        slot = lob_book_find(b, e.order_id)
        d = dm_find(&self.debts, e.order_id)
        if slot != LOB_NIL:
            if d == NULL:
                return self.count_status(lob_book_apply(b, e))
            if e.kind == CANCEL:
                status = lob_book_apply(b, e)
                if status:
                    return self.count_status(status)
                self.reconciled += 1
                dm_erase(&self.debts, d)
                return LOB_OK
            left = b.orders[slot].qty
            if e.qty <= left:
                return self.count_status(lob_book_apply(b, e))
            status = self.apply_as(e, REDUCE, left)
            if status:
                return self.count_status(status)
            self.reconciled += 1
            dm_pay(&self.debts, d, e.qty - left)
            return LOB_OK
        if d != NULL:                    # consumed whole: nothing left to remove
            if e.ts > b.sig.ts:
                b.sig.ts = e.ts
            self.reconciled += 1
            if e.kind == CANCEL:
                dm_erase(&self.debts, d)
            else:
                dm_pay(&self.debts, d, e.qty)
            return LOB_OK
        return self.unknown_draw(e)

    cdef int feed_modify(self, const Event *e) noexcept nogil:
        cdef lob_book *b = self.core
        cdef uint32_t slot
        cdef int side, status
        cdef int64_t owed, qty, traded = 0, ts
        cdef DebtEntry *d
        cdef bint may_cross = self.crosses_own(0, e.price) or self.crosses_own(1, e.price)
        cdef Event readd
        if e.qty <= 0 or (not may_cross and self.debts.count == 0):
            return self.count_status(lob_book_apply(b, e))
        slot = lob_book_find(b, e.order_id)
        d = dm_find(&self.debts, e.order_id)
        if slot == LOB_NIL and d == NULL:
            return self.count_status(lob_book_apply(b, e))
        side = <int>b.levels[b.orders[slot].level].side if slot != LOB_NIL else d.side
        owed = d.debt if d != NULL else 0
        qty = e.qty - owed
        ts = max64(b.sig.ts, e.ts)
        b.sig.ts = ts
        if qty <= 0:                     # the feed's new size is no more than it owes
            if slot != LOB_NIL:
                lob_book_remove(b, slot)
                lob_book_after(b, LOB_AFTER_FLOW)
            d.debt = e.qty
            d.price = e.price
            self.reconciled += 1
            return LOB_OK
        if self.crosses_own(side, e.price):
            traded = self.rule5(side, e.price, qty, ts)
            if traded < 0:
                return <int>-traded
            qty -= traded
        if qty == 0:
            if slot != LOB_NIL:
                lob_book_remove(b, slot)
                lob_book_after(b, LOB_AFTER_FLOW)
            return self.owe(e.order_id, side, e.price, traded)
        if slot != LOB_NIL:
            status = self.apply_as(e, MODIFY, qty)
        else:                            # consumed whole, and back with more than it owes: it rests again
            readd = e[0]
            readd.kind = ADD
            readd.side = side
            readd.qty = qty
            status = lob_book_apply(b, &readd)
        if status:
            return self.count_status(status)
        if traded:
            return self.owe(e.order_id, side, e.price, traded)
        d = dm_find(&self.debts, e.order_id)
        if d != NULL:
            d.price = e.price
        return LOB_OK

    cdef int feed_clear(self, const Event *e) noexcept nogil:
        cdef uint32_t i
        cdef OwnOrder *o
        cdef int64_t ts = max64(self.core.sig.ts, e.ts)
        while self.n_resting:
            i = self.resting[self.n_resting - 1]
            o = &self.own[i]
            o.cancelled += self.core.orders[o.slot].qty
            o.status = CANCELLED
            o.end_ts = ts
            self.drop_resting(i)
        dm_clear(&self.debts)
        dm_clear(&self.anon_debts[0])
        dm_clear(&self.anon_debts[1])
        return self.count_status(lob_book_apply(self.core, e))

    cdef int feed_anon(self, const Event *e) noexcept nogil:
        cdef DebtEntry *d = NULL
        cdef int status
        cdef int64_t owed
        if <unsigned>e.side <= 1 and e.qty >= 0:
            d = dm_find(&self.anon_debts[e.side], <uint64_t>e.price)
        if d == NULL:
            return self.count_status(lob_book_apply(self.core, e))
        owed = d.debt
        status = self.apply_as(e, ANON, max64(e.qty - owed, 0))
        if status:
            return self.count_status(status)
        if e.qty < owed:
            dm_pay(&self.anon_debts[e.side], d, owed - e.qty)
        return LOB_OK

    # ------------------------------------------------------------------
    # C level: own actions

    cdef int push_action(self, int64_t time, uint32_t i, int kind) noexcept nogil:
        cdef Py_ssize_t k, parent
        cdef Action a
        if not grow_rows(<void **>&self.heap, &self.heap_cap, self.n_heap + 1, sizeof(Action)):
            return LOB_E_NOMEM
        a.time = time
        a.seq = self.sent
        a.index = i
        a.kind = kind
        self.sent += 1
        k = self.n_heap
        self.n_heap += 1
        while k > 0:
            parent = (k - 1) // 2
            if self.heap[parent].time < a.time or (self.heap[parent].time == a.time and self.heap[parent].seq < a.seq):
                break
            self.heap[k] = self.heap[parent]
            k = parent
        self.heap[k] = a
        return LOB_OK

    cdef void pop_action(self, Action *out) noexcept nogil:
        cdef Py_ssize_t k = 0, child
        cdef Action last
        out[0] = self.heap[0]
        self.n_heap -= 1
        if self.n_heap == 0:
            return
        last = self.heap[self.n_heap]
        while True:
            child = 2 * k + 1
            if child >= self.n_heap:
                break
            if child + 1 < self.n_heap and (self.heap[child + 1].time < self.heap[child].time or (
                    self.heap[child + 1].time == self.heap[child].time
                    and self.heap[child + 1].seq < self.heap[child].seq)):
                child += 1
            if last.time < self.heap[child].time or (last.time == self.heap[child].time and last.seq < self.heap[child].seq):
                break
            self.heap[k] = self.heap[child]
            k = child
        self.heap[k] = last

    cdef int arrive(self, const Action *a) noexcept nogil:
        cdef lob_book *b = self.core
        cdef OwnOrder *o = &self.own[a.index]
        if a.time > b.sig.ts:
            b.sig.ts = a.time
        if a.kind == NEW_ORDER:
            return self.arrive_new(a.index, a.time)
        if o.status == RESTING:          # a cancel that finds the order gone does nothing
            o.cancelled += b.orders[o.slot].qty
            lob_book_remove(b, o.slot)
            o.status = CANCELLED
            o.end_ts = a.time
            self.drop_resting(a.index)
            lob_book_after(b, LOB_AFTER_FLOW)
        return LOB_OK

    cdef int64_t fok_room(self, const OwnOrder *o) noexcept nogil:
        """Feed qty a FOK order could take (up to o.qty): opposite levels
        within its limit, anonymous qty and feed orders, up to the first own
        order."""
        cdef lob_book *b = self.core
        cdef int opp = 1 - o.side
        cdef size_t m = 0
        cdef const lob_level *lvl
        cdef uint32_t slot
        cdef int64_t room = 0
        while room < o.qty:
            lvl = lob_book_level_at(b, opp, m)
            if lvl == NULL or (not o.market and not reaches(o.side, o.price, lvl.price)):
                break
            room += min64(lvl.anon, o.qty - room)
            slot = lvl.head
            while slot != LOB_NIL and room < o.qty:
                if b.orders[slot].flags & OWN:
                    return room
                room += min64(b.orders[slot].qty, o.qty - room)
                slot = b.orders[slot].next
            m += 1
        return room

    cdef int arrive_new(self, uint32_t i, int64_t t) noexcept nogil:
        """Rule 2: own order i arrives at t."""
        cdef lob_book *b = self.core
        cdef OwnOrder *o = &self.own[i]
        cdef int side = o.side, opp = 1 - o.side, status
        cdef int64_t left = o.qty, f, price
        cdef uint32_t level, slot
        cdef lob_level *lvl
        cdef lob_order *x
        cdef DebtEntry *d
        cdef bint crossing, stopped = False
        cdef double mid
        o.arrival_ts = t
        o.seq = self.arrivals
        self.arrivals += 1
        crossing = b.ladder[opp].n > 0 and (o.market or reaches(side, o.price, lob_book_best(b, opp)))
        if (o.post_only and crossing) or (o.tif == 2 and self.fok_room(o) < o.qty):
            o.status = REJECTED
            o.cancelled = o.qty
            o.end_ts = t
            return LOB_OK
        if crossing:
            b.sig.run_open = 0               # an own taker starts its own run, as an engine taker does
        while left > 0 and b.ladder[opp].n:
            level = b.top_level[opp]
            lvl = &b.levels[level]
            price = lvl.price
            if not o.market and not reaches(side, o.price, price):
                break
            if self.reserve_fill():
                return LOB_E_NOMEM
            if lvl.anon > 0:
                f = min64(lvl.anon, left)
                status = lob_book_trade_room(b, side, f)
                if status == LOB_OK and dm_reserve(&self.anon_debts[opp]):
                    status = LOB_E_NOMEM
                if status:
                    return status
                mid = lob_book_mid(b)
                lob_book_record_trade(b, side, price, f)
                lvl.anon -= f
                lvl.qty -= f
                d = dm_put(&self.anon_debts[opp], <uint64_t>price)
                d.debt += f
                d.side = opp
                d.price = price
                b.sig.dirty |= ANY_SIDE
                if lvl.anon == 0 and lvl.count == 0:
                    lob_book_drop_level(b, level)
            else:
                slot = lvl.head
                x = &b.orders[slot]
                if x.flags & OWN:            # self-trade prevention: the rest of the newer order goes
                    stopped = True
                    break
                f = min64(x.qty, left)
                status = lob_book_trade_room(b, side, f)
                if status:
                    return status
                status = self.owe(x.order_id, opp, price, f)
                if status:
                    return status
                mid = lob_book_mid(b)
                lob_book_record_trade(b, side, price, f)
                if f == x.qty:
                    lob_book_remove(b, slot)
                else:
                    x.qty -= f
                    lvl.qty -= f
                b.sig.dirty |= ANY_SIDE
            o.filled += f
            left -= f
            self.push_fill(t, i, price, f, 1, 0, mid)
            lob_book_after(b, LOB_AFTER_FLOW)
        if left == 0:
            o.status = FILLED
            o.end_ts = t
            return LOB_OK
        if stopped or o.market or o.tif != 0:
            o.status = CANCELLED
            o.cancelled = left
            o.end_ts = t
            return LOB_OK
        status = self.reserve_resting()      # room first: the add below is the last step that can fail
        if status:
            return status
        status = lob_book_add(b, self.id_base + i, side, o.price, left)
        if status:
            if LOB_FATAL(status):
                return status
            o.status = CANCELLED if o.filled else REJECTED
            o.cancelled = left
            o.end_ts = t
            return LOB_OK
        level = lob_book_level_of(b, side, o.price)
        o.slot = b.levels[level].tail
        b.orders[o.slot].flags = OWN
        o.status = RESTING
        self.add_resting(i)
        lob_book_after(b, LOB_AFTER_FLOW)
        return LOB_OK

    # ------------------------------------------------------------------
    # C level: the loop

    cdef void fire_timer(self, int64_t tt) noexcept nogil:
        self.timer_due = tt
        if tt > INT64_MAX - self.timer_every:
            self.timers_on = False           # the next one is past int64
        else:
            self.timer_next = tt + self.timer_every
        self.clock = max64(self.clock, tt)

    cdef bint quiet(self) noexcept nogil:
        """Nothing of ours in the book and nothing consumed: a feed event
        goes straight to the book."""
        return (self.n_resting == 0 and self.debts.count == 0 and self.anon_debts[0].count == 0
                and self.anon_debts[1].count == 0)

    cdef int replay(self, int64_t limit) noexcept nogil:
        """Feed events with ts <= limit, in order: 0, FILLS (stopped after an
        event that filled, for on_fill) or a fatal code, negated."""
        cdef lob_book *b = self.core
        cdef const Event *ev = self.ev
        cdef Py_ssize_t pos = self.pos, n = self.n, before = self.nfills
        cdef int64_t clock = self.clock
        cdef int status = 0, step = 0
        cdef bint plain = self.quiet()       # only an action can end it, and none runs here
        while pos < n and ev[pos].ts <= limit:
            if ev[pos].ts > clock:
                clock = ev[pos].ts
            if plain:
                status = lob_book_apply(b, &ev[pos])
                if status:
                    if LOB_FATAL(status):
                        break
                    self.rejected_counts[status & 31] += 1
                    status = 0
            else:
                status = self.feed_event(&ev[pos])
                if status:
                    break
                plain = self.quiet()
                if self.call_fills and self.nfills > before:
                    pos += 1
                    step = FILLS
                    break
            pos += 1
        self.pos = pos
        self.clock = clock
        return -status if status else step

    cdef int advance(self) noexcept nogil:
        """Replay until a callback is due (FILLS, TIMER), stop() was asked
        (STOPPED) or the run is over (DONE); a fatal code, negated, when
        memory ran out.  Actions and timers run after every feed event with
        ts <= their time, actions first at one time."""
        cdef Action a
        cdef bint act
        cdef int64_t at, tt, limit
        cdef Py_ssize_t before
        cdef int status
        while True:
            if self.stop_requested:
                return STOPPED
            at = self.heap[0].time if self.n_heap else INT64_MAX
            tt = self.timer_next if self.timers_on else INT64_MAX
            limit = min64(self.until, min64(at, tt))
            if self.pos < self.n and self.ev[self.pos].ts <= limit:
                status = self.replay(limit)
                if status:
                    return status
                continue
            if self.pos < self.n and self.ev[self.pos].ts <= self.until:
                # a feed event is due after the next action or timer
                act = self.n_heap > 0 and at <= tt
            else:
                act = self.n_heap > 0 and at <= self.until and (not self.timers_on or at <= tt
                                                                 or tt > self.timer_horizon)
                if not act and not (self.timers_on and tt <= self.timer_horizon):
                    return DONE
            if not act:
                self.fire_timer(tt)
                return TIMER
            before = self.nfills
            self.pop_action(&a)
            self.clock = max64(self.clock, a.time)
            status = self.arrive(&a)
            if status:
                return -status
            if self.call_fills and self.nfills > before:
                return FILLS

    # ------------------------------------------------------------------
    # Python level

    cdef int check_own(self) except -1:
        """Refuse to go on when the book was changed behind the simulator's
        back (an own order missing from its place)."""
        cdef Py_ssize_t k
        cdef uint32_t i, slot
        cdef lob_book *b = self.core
        for k in range(self.n_resting):
            i = self.resting[k]
            slot = self.own[i].slot
            if (slot >= b.orders_used or b.orders[slot].order_id != self.id_base + i
                    or not (b.orders[slot].flags & OWN) or lob_book_find(b, self.id_base + i) != slot):
                raise RuntimeError(f"own order {self.id_base + i} is no longer where the simulator put it: the "
                                   f"book was changed outside the simulator")
        return 0

    cdef int64_t send_time(self, object ts) except? -1:
        cdef int64_t t = to_int64(ts, "ts")
        if self.in_loop:
            raise RuntimeError("Simulator: another thread is replaying; send from the callbacks")
        if self.started and t < self.clock:
            raise ValueError(f"ts={t} is before the simulator's clock ({self.clock}): an action cannot be sent "
                             f"into the past")
        if t > INT64_MAX - self.latency_ns:
            raise OverflowError(f"ts={t} + latency_ns={self.latency_ns} is outside int64")
        return t

    cdef uint32_t new_own(self, int side, int64_t price, int64_t qty, int tif, bint market, bint post_only,
                          int64_t ts) except? 0xFFFFFFFF:
        cdef OwnOrder *o
        cdef uint32_t i = <uint32_t>self.n_own
        if <uint64_t>self.n_own >= self.id_cap or self.n_own >= 0x7FFFFFFF:
            raise OverflowError(f"Simulator: no own order ids left ({self.n_own} used)")
        if not grow_rows(<void **>&self.own, &self.own_cap, self.n_own + 1, sizeof(OwnOrder)):
            raise MemoryError("Simulator: out of memory for own orders")
        if self.push_action(ts + self.latency_ns, i, NEW_ORDER):
            raise MemoryError("Simulator: out of memory for actions in flight")
        o = &self.own[i]
        memset(o, 0, sizeof(OwnOrder))
        o.side = side
        o.price = price
        o.qty = qty
        o.tif = tif
        o.market = market
        o.post_only = post_only
        o.sent_ts = ts
        o.arrival_ts = INT64_MIN
        o.end_ts = INT64_MIN
        o.slot = LOB_NIL
        o.rest_pos = -1
        o.status = PENDING
        self.n_own += 1
        return i

    def submit(self, side, price, qty, *, ts, tif="GTC", post_only=False):
        """Send a limit order at `ts` (int ns; not before the simulator's
        clock); it arrives at ts + latency_ns (rule 1).  Returns its own
        order id.

        side: 0 (BID) or 1 (ASK).  price: int64 limit.  qty: int64 > 0.
        tif: "GTC" (the rest rests), "IOC" (the rest is cancelled) or "FOK"
        (all at once from the feed liquidity in front of any own order, else
        rejected).  post_only: rejected on arrival if it would take (GTC
        only).  On arrival a crossing order takes liquidity (rule 2), the
        rest of a GTC order joins the back of its level (rule 3)."""
        cdef int s = to_side(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t t = self.send_time(ts)
        cdef int code
        if s < 0:
            raise ValueError(f"side must be 0 (BID) or 1 (ASK), got {side!r}")
        if q <= 0:
            raise ValueError(f"qty must be > 0, got {qty!r}")
        if not isinstance(tif, str) or tif not in _TIFS:
            raise ValueError(f"tif must be 'GTC', 'IOC' or 'FOK', got {tif!r}")
        code = _TIFS[tif]
        if post_only and code != 0:
            raise ValueError(f"post_only needs tif 'GTC', got {tif!r}")
        return self.id_base + self.new_own(s, p, q, code, False, bool(post_only), t)

    def market(self, side, qty, *, ts):
        """Send a market order at `ts`: on arrival it takes the opposite
        side's liquidity (rule 2) and the rest is cancelled.  Returns its
        own order id."""
        cdef int s = to_side(side)
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t t = self.send_time(ts)
        if s < 0:
            raise ValueError(f"side must be 0 (BID) or 1 (ASK), got {side!r}")
        if q <= 0:
            raise ValueError(f"qty must be > 0, got {qty!r}")
        return self.id_base + self.new_own(s, 0, q, 1, True, False, t)

    def cancel(self, order_id, *, ts):
        """Send a cancel of own order `order_id` at `ts`; on arrival it takes
        what still rests out of the book (nothing when the order is done
        by then: a cancel that comes too late changes nothing).
        UnknownOrderError for an id that is not an own order."""
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t t = self.send_time(ts)
        if oid < self.id_base or oid - self.id_base >= <uint64_t>self.n_own:
            raise _error(LOB_E_UNKNOWN, order_id=oid)
        if self.push_action(t + self.latency_ns, <uint32_t>(oid - self.id_base), CANCEL_ORDER):
            raise MemoryError("Simulator: out of memory for actions in flight")

    def stop(self):
        """From a callback: make run() return once the current event and its
        callbacks are done; the next run() goes on from there."""
        self.stop_requested = True

    def run(self, until=None, *, every_ns=None, on_timer=None, on_fill=None):
        """Replay the feed events with ts <= `until` (int ns; None: all) and
        the own actions arriving by then (None: every action sent), calling
        back in Python:

        on_timer(sim, ts): every `every_ns` (int ns > 0) of event time, at
        t0, t0 + every_ns, ... where t0 is the ts of the first feed event this
        run replays (else the clock), up to `until` (None: the stream's last
        ts); after every feed event and action up to that time.
        on_fill(sim, fill): after each own fill (a lob.sim.SimFill), once the
        event or action that made it is complete.

        Callbacks may submit, cancel, read sim.book and its signals, and
        call sim.stop(); the loop runs without the GIL between them.  An
        exception in a callback stops the run and propagates (the fills of
        that event not yet called back are not called back)."""
        cdef int64_t t_until = INT64_MAX if until is None else to_int64(until, "until")
        cdef int64_t every = 0
        cdef int step
        cdef Py_ssize_t k
        cdef SimFillRow *f
        if self.running:
            raise RuntimeError("Simulator.run is already running (called from a callback?)")
        if (every_ns is None) != (on_timer is None):
            raise ValueError("every_ns and on_timer go together")
        if every_ns is not None:
            every = to_int64(every_ns, "every_ns")
            if every <= 0:
                raise ValueError(f"every_ns must be > 0, got {every_ns!r}")
        if on_timer is not None and not callable(on_timer):
            raise TypeError("on_timer must be callable: on_timer(sim, ts)")
        if on_fill is not None and not callable(on_fill):
            raise TypeError("on_fill must be callable: on_fill(sim, fill)")
        self._book.guard()
        self.check_own()
        self.until = t_until
        self.timers_on = on_timer is not None
        if self.timers_on:
            self.timer_every = every
            self.timer_next = self.ev[self.pos].ts if self.pos < self.n else self.clock
            self.timer_horizon = t_until if until is not None else (self.last_ts if self.n else INT64_MIN)
            if self.timer_next == INT64_MIN:
                self.timers_on = False
        self.call_fills = on_fill is not None
        self.notified = self.nfills
        self.stop_requested = False
        self.started = True
        self.running = True
        try:
            while True:
                core_enter(self.core)
                self.in_loop = True
                with nogil:
                    step = self.advance()
                self.in_loop = False
                core_leave(self.core)
                if step < 0:
                    raise _error(-step)
                if step == FILLS:
                    SimFill = records()[0]
                    while self.notified < self.nfills:
                        f = &self.fill_rows[self.notified]
                        self.notified += 1
                        on_fill(self, SimFill(f.ts, f.order_id, f.side, f.price, f.qty, f.liquidity, f.queue_ahead,
                                              f.mid))
                    self.check_own()
                elif step == TIMER:
                    on_timer(self, self.timer_due)
                    self.check_own()
                elif step == STOPPED:
                    break
                else:
                    if until is not None:
                        self.clock = max64(self.clock, t_until)
                    break
        finally:
            self.in_loop = False
            self.running = False
            self.stop_requested = False

    # ------------------------------------------------------------------
    # readers

    @property
    def book(self):
        """The venue's book as the simulation has it (own resting orders in
        their queues), read-only: a lob.BookView with every reader and signal."""
        if self._view is None:
            self._view = view_of(self.core, self)
        return self._view

    @property
    def fills(self):
        """Every own fill so far, in time order: a lob.SIM_FILL_DTYPE array (a copy)."""
        out = np.empty(self.nfills, dtype=_SIM_FILL_DTYPE)
        if self.nfills:
            memcpy(cnp.PyArray_DATA(out), self.fill_rows, self.nfills * sizeof(SimFillRow))
        return out

    @property
    def rejected(self):
        """Feed events the book refused (an id it never saw, ...), by reason,
        as apply(on_error="skip") counts them: {reason: count}."""
        return {_REASONS.get(code, str(code)): int(self.rejected_counts[code]) for code in range(32)
                if self.rejected_counts[code]}

    @property
    def now(self):
        """The simulator's clock (int ns): the time of the latest feed event,
        action or timer it went through (`until` after run(until)); None
        before the first run."""
        return self.clock if self.started and self.clock != INT64_MIN else None

    @property
    def last_ts(self):
        """The highest ts of the stream (int ns), None when it is empty."""
        if self.n and self.max_ts == INT64_MIN:
            self.max_ts = scan(self._events)[1]
        return self.max_ts if self.n else None

    @property
    def position(self):
        """Feed events replayed so far."""
        return self.pos

    @property
    def pending(self):
        """Own actions sent and not yet arrived."""
        return self.n_heap

    @property
    def own_ids(self):
        """(first, end): own order ids are first, first + 1, ... below end;
        no id of the stream or of the book is in that range."""
        return (self.id_base, self.id_base + self.id_cap)

    def order(self, order_id):
        """Own order `order_id` as a lob.sim.SimOrder: side, price (None for
        a market order), qty (sent), filled, status ("pending", "resting",
        "filled", "cancelled", "rejected"), arrival_ts (None while pending),
        sent_ts, end_ts (None while pending or resting), resting (qty in the
        book now), cancelled (qty that neither traded nor rests), tif,
        post_only.  filled + resting + cancelled == qty once it arrived."""
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef OwnOrder *o
        if oid < self.id_base or oid - self.id_base >= <uint64_t>self.n_own:
            raise _error(LOB_E_UNKNOWN, order_id=oid)
        o = &self.own[oid - self.id_base]
        SimOrder = records()[1]
        return SimOrder(o.side, None if o.market else o.price, o.qty, o.filled, STATUSES[o.status],
                        None if o.arrival_ts == INT64_MIN else o.arrival_ts, o.sent_ts,
                        None if o.end_ts == INT64_MIN else o.end_ts,
                        self.core.orders[o.slot].qty if o.status == RESTING else 0, o.cancelled,
                        "MARKET" if o.market else _TIF_NAMES[o.tif], bool(o.post_only))

    def orders(self):
        """Every own order so far as a lob.sim.SIM_ORDER_DTYPE array: order_id,
        side, price (0 for a market order), qty, filled, cancelled, resting,
        status (index of lob.sim.STATUSES), market, ts_submit (sent),
        ts_arrival, ts_end (INT64_MIN when not reached: ts_arrival while
        pending, ts_end while pending or resting)."""
        from lob.sim import SIM_ORDER_DTYPE
        cdef Py_ssize_t k
        cdef OwnOrder *o
        out = np.zeros(self.n_own, dtype=SIM_ORDER_DTYPE)
        for k in range(self.n_own):
            o = &self.own[k]
            out[k] = (self.id_base + k, o.side, o.price, o.qty, o.filled, o.cancelled,
                      self.core.orders[o.slot].qty if o.status == RESTING else 0, o.status, o.market,
                      o.sent_ts, o.arrival_ts, o.end_ts)
        return out

    def __repr__(self):
        return (f"<Simulator events={self.pos}/{self.n} own_orders={self.n_own} resting={self.n_resting} "
                f"fills={self.nfills} pending={self.n_heap}>")


cdef object scan(object events):
    """(the highest order id events name (ADD, REDUCE, CANCEL, EXECUTE,
    MODIFY) or None, the highest ts or None): one pass in C."""
    cdef const Event *ev = event_data(events)
    cdef Py_ssize_t k, n = events.shape[0]
    cdef uint64_t top = 0
    cdef int64_t ts = INT64_MIN
    cdef bint named = False
    cdef int kind
    with nogil:
        for k in range(n):
            if ev[k].ts > ts:
                ts = ev[k].ts
            kind = ev[k].kind
            if kind == ADD or kind == REDUCE or kind == CANCEL or kind == EXECUTE or kind == MODIFY:
                named = True
                if ev[k].order_id > top:
                    top = ev[k].order_id
    return (top if named else None), (ts if n else None)


def own_id_range(events, book):
    """(first, count): order ids first .. first + count - 1 are used by no
    event of `events` (ADD, REDUCE, CANCEL, EXECUTE, MODIFY) and no order
    resting in `book`: from the next power of ten above the highest id in
    use (plainly apart from the feed's ids), else above that id, else the
    widest gap between the ids in use."""
    events = event_array(events)
    top, _ = scan(events)
    resting = book.snapshot()["order_id"]
    if len(resting):
        top = max(int(resting.max()), top if top is not None else 0)
    if top is None:
        return 1, 1 << 63
    for first in (10 ** len(str(top)), top + 1):
        if first < (1 << 64) - (1 << 32):
            return first, min((1 << 64) - first, 1 << 63)
    named = np.isin(events["kind"], (ADD, REDUCE, CANCEL, EXECUTE, MODIFY))
    used = np.concatenate([events["order_id"][named], resting])
    edges = np.unique(np.concatenate([np.array([0], dtype=np.uint64), used.astype(np.uint64)]))
    widths = np.diff(edges) - np.uint64(1)            # ids strictly between neighbours
    k = int(np.argmax(widths))
    if int(widths[k]) == 0:
        raise OverflowError("Simulator: the stream and the book use every order id; none is left for own orders")
    return int(edges[k]) + 1, int(widths[k])
