# Declarations of the execution simulator (lob._sim), for Cython modules that
# cimport it: own orders in a replayed venue book.
cimport cython
from libc.stdint cimport int64_t, uint64_t, uint32_t, int8_t, uint8_t

from lob._core cimport lob_book
from lob._events cimport Event
from lob._book cimport OrderBook


# One row of lob.SIM_FILL_DTYPE (packed, 50 bytes).
cdef packed struct SimFillRow:
    int64_t ts
    uint64_t order_id
    int8_t side
    int64_t price
    int64_t qty
    uint8_t liquidity       # 0 maker, 1 taker
    int64_t queue_ahead
    double mid


# An own order, indexed by its id minus the simulator's id base.
cdef struct OwnOrder:
    int64_t price           # the limit (0 for a market order)
    int64_t qty             # sent
    int64_t filled
    int64_t cancelled       # neither traded nor rests: cancels, IOC / market rests, refusals, a venue clear
    int64_t sent_ts
    int64_t arrival_ts
    int64_t end_ts          # when it stopped resting or was done (filled, cancelled, rejected)
    uint64_t seq            # arrival order: own orders at one price queue in this order
    uint32_t slot           # its book pool slot while it rests, else LOB_NIL
    int rest_pos            # its index in the resting list, -1 when it does not rest
    int side
    int tif                 # 0 GTC, 1 IOC, 2 FOK
    bint market
    bint post_only
    int status              # OwnStatus


# An own action in flight: it arrives at `time`; ties keep the order sent (seq).
cdef struct Action:
    int64_t time
    uint64_t seq
    uint32_t index          # the own order it concerns
    int kind                # ActionKind


# A feed order (or, per side, an anonymous price level) that own takers or
# rule 5 consumed: the qty the feed still believes rests beyond what the
# simulated book holds (the order's side and latest price with it).
cdef struct DebtEntry:
    uint64_t key
    int64_t debt
    int64_t price
    int side
    bint used


cdef struct DebtMap:
    DebtEntry *e
    uint64_t mask
    uint64_t count
    int shift


@cython.final
cdef class Simulator:
    cdef OrderBook _book
    cdef lob_book *core
    cdef object _view
    cdef object _events             # the feed, kept alive while `ev` points into it
    cdef const Event *ev
    cdef Py_ssize_t n
    cdef Py_ssize_t pos             # next feed event
    cdef readonly int64_t latency_ns
    cdef uint64_t id_base
    cdef uint64_t id_cap
    # own orders
    cdef OwnOrder *own
    cdef Py_ssize_t n_own
    cdef Py_ssize_t own_cap
    cdef uint32_t *resting          # own indices of the orders that rest
    cdef Py_ssize_t n_resting
    cdef Py_ssize_t resting_cap
    cdef Py_ssize_t n_rest_side[2]
    cdef int64_t own_best[2]        # best own resting price per side (INT64_MIN bid / INT64_MAX ask: none)
    cdef uint64_t arrivals
    cdef uint32_t *cand             # rule 4 / 5 candidates, scratch
    cdef Py_ssize_t cand_cap
    # actions in flight: a binary heap on (time, seq)
    cdef Action *heap
    cdef Py_ssize_t n_heap
    cdef Py_ssize_t heap_cap
    cdef uint64_t sent
    # consumed feed liquidity
    cdef DebtMap debts
    cdef DebtMap anon_debts[2]
    # fills
    cdef SimFillRow *fill_rows
    cdef Py_ssize_t nfills
    cdef Py_ssize_t fills_cap
    cdef Py_ssize_t notified
    # the run
    cdef int64_t clock              # the simulator's time: the latest feed event, action or timer done
    cdef bint started
    cdef int64_t max_ts
    cdef int64_t until
    cdef bint timers_on
    cdef int64_t timer_next
    cdef int64_t timer_every
    cdef int64_t timer_horizon
    cdef int64_t timer_due
    cdef bint call_fills
    cdef bint running
    cdef bint in_loop
    cdef bint stop_requested
    cdef readonly int64_t reconciled
    cdef Py_ssize_t rejected_counts[32]

    cdef int reserve_fill(self) noexcept nogil
    cdef int push_fill(self, int64_t ts, uint32_t i, int64_t price, int64_t qty, int liquidity,
                       int64_t ahead, double mid) noexcept nogil
    cdef int reserve_resting(self) noexcept nogil
    cdef void add_resting(self, uint32_t i) noexcept nogil
    cdef void drop_resting(self, uint32_t i) noexcept nogil
    cdef void best_of(self, int side) noexcept nogil
    cdef bint crosses_own(self, int side, int64_t price) noexcept nogil
    cdef int count_status(self, int status) noexcept nogil
    cdef int maker_fill(self, uint32_t i, int64_t qty, int aggressor, int64_t ts) noexcept nogil
    cdef int gather(self, int side, int64_t price, bint inclusive, uint32_t x_slot) noexcept nogil
    cdef int64_t rule4(self, int side, int64_t price, int64_t qty, uint32_t x_slot, int64_t ts) noexcept nogil
    cdef int64_t rule5(self, int side, int64_t price, int64_t qty, int64_t ts) noexcept nogil
    cdef int owe(self, uint64_t order_id, int side, int64_t price, int64_t qty) noexcept nogil
    cdef int apply_as(self, const Event *e, int kind, int64_t qty) noexcept nogil
    cdef int feed_event(self, const Event *e) noexcept nogil
    cdef int feed_add(self, const Event *e) noexcept nogil
    cdef int feed_execute(self, const Event *e) noexcept nogil
    cdef int feed_remove(self, const Event *e) noexcept nogil
    cdef int feed_modify(self, const Event *e) noexcept nogil
    cdef int feed_clear(self, const Event *e) noexcept nogil
    cdef int feed_anon(self, const Event *e) noexcept nogil
    cdef int unknown_draw(self, const Event *e) noexcept nogil
    cdef int arrive(self, const Action *a) noexcept nogil
    cdef int arrive_new(self, uint32_t i, int64_t t) noexcept nogil
    cdef int64_t fok_room(self, const OwnOrder *o) noexcept nogil
    cdef int push_action(self, int64_t time, uint32_t i, int kind) noexcept nogil
    cdef void pop_action(self, Action *out) noexcept nogil
    cdef void fire_timer(self, int64_t tt) noexcept nogil
    cdef bint quiet(self) noexcept nogil
    cdef int replay(self, int64_t limit) noexcept nogil
    cdef int advance(self) noexcept nogil
    cdef int check_own(self) except -1
    cdef int64_t send_time(self, object ts) except? -1
    cdef uint32_t new_own(self, int side, int64_t price, int64_t qty, int tif, bint market, bint post_only,
                          int64_t ts) except? 0xFFFFFFFF
