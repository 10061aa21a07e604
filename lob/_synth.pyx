# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The C loop behind lob.synth.generate: a seeded L3 event stream.

It drives a private book core (src/lob_book.h) directly, so every event it
writes is valid against the book state it has built (cancels and executions
name resting orders, adds never cross) and the stream replays cleanly.
"""
from libc.stdint cimport int64_t, uint64_t, uint32_t
from libc.stdlib cimport malloc, free

from lob._core cimport *
from lob._events cimport Event, ADD, REDUCE, CANCEL, EXECUTE, TRADE, MODIFY

import numpy as np

import lob._events  # checks the event layout
from lob.dtypes import EVENT_DTYPE

cdef extern from "lob_rng.h":
    ctypedef struct lob_rng:
        uint64_t state
    uint64_t lob_rng_next(lob_rng *r) nogil
    double lob_rng_uniform(lob_rng *r) nogil
    uint64_t lob_rng_below(lob_rng *r, uint64_t n) nogil
    uint64_t lob_rng_geometric(lob_rng *r, double p, uint64_t cap) nogil


cdef inline int64_t best_price(const lob_book *book, int side) noexcept nogil:
    return lob_book_best(book, side)


cdef struct Live:
    # resting ids for uniform random picks: swap-remove array plus each id's index
    uint64_t *ids
    uint32_t *index_of     # by id - first_id
    uint64_t n
    uint64_t first_id


cdef inline void live_push(Live *live, uint64_t order_id) noexcept nogil:
    live.index_of[order_id - live.first_id] = <uint32_t>live.n
    live.ids[live.n] = order_id
    live.n += 1


cdef inline void live_remove(Live *live, uint64_t order_id) noexcept nogil:
    cdef uint32_t i = live.index_of[order_id - live.first_id]
    cdef uint64_t last = live.ids[live.n - 1]
    live.ids[i] = last
    live.index_of[last - live.first_id] = i
    live.n -= 1


cdef int64_t draw_qty(lob_rng *rng, int64_t lot) noexcept nogil:
    # mostly round lots (1 to ~6 lots), some odd lots
    if lob_rng_uniform(rng) < 0.2:
        return 1 + <int64_t>lob_rng_below(rng, <uint64_t>(lot - 1 if lot > 1 else 1))
    return lot * (1 + <int64_t>lob_rng_geometric(rng, 0.6, 60))


def generate_into(out, uint64_t seed, int64_t start_price, int64_t tick,
                  int64_t lot, Py_ssize_t target_orders, double p_execute, double p_reduce,
                  double p_modify, double p_trade, double p_far, double mean_depth,
                  double p_drift, int64_t start_ts, double mean_gap_ns, uint64_t first_id):
    """Fill `out` (a C-contiguous lob.EVENT_DTYPE array) with events; see
    lob.synth.generate for the parameters."""
    if out.dtype != EVENT_DTYPE or not out.flags.c_contiguous:
        raise TypeError("out must be a C-contiguous array of lob.EVENT_DTYPE")
    cdef Py_ssize_t n = out.shape[0], i
    cdef unsigned char[::1] raw = out.view(np.uint8).reshape(-1)
    cdef Event *events = <Event *>&raw[0] if n else NULL
    cdef lob_book core
    cdef lob_book *book = &core
    cdef lob_rng rng
    cdef Live live
    cdef int64_t mid = start_price, price, qty, anchor, ts = start_ts, left
    cdef uint64_t next_id = first_id, oid
    cdef double u, p_add, depth_p = mean_depth / (1.0 + mean_depth)
    cdef int side, status = 0, kind
    cdef uint32_t slot
    cdef Event *ev
    rng.state = seed
    live.first_id = first_id
    live.n = 0
    live.ids = <uint64_t *>malloc((n + 1) * sizeof(uint64_t))
    live.index_of = <uint32_t *>malloc((n + 1) * sizeof(uint32_t))
    if live.ids == NULL or live.index_of == NULL or lob_book_init(book, 0, 1, 0, 0) != LOB_OK:
        free(live.ids)
        free(live.index_of)
        lob_book_free(book)
        raise MemoryError("lob.synth: cannot allocate the generator state")
    try:
        with nogil:
            for i in range(n):
                ev = &events[i]
                ts += 1 + <int64_t>lob_rng_below(&rng, <uint64_t>(2.0 * mean_gap_ns) + 1)
                ev.ts = ts
                if lob_rng_uniform(&rng) < p_drift:
                    mid += tick if lob_rng_next(&rng) & 1 else -tick
                # the feedback holds the book near target_orders
                p_add = 0.49 * (1.0 + 2.0 * (<double>target_orders - <double>live.n) / <double>target_orders)
                if p_add > 0.9:
                    p_add = 0.9
                elif p_add < 0.1:
                    p_add = 0.1
                u = lob_rng_uniform(&rng)
                if live.n == 0 or u < p_add:
                    kind = ADD
                elif u < p_add + p_execute:
                    kind = EXECUTE
                else:
                    u = lob_rng_uniform(&rng)
                    if u < p_trade:
                        kind = TRADE
                    elif u < p_trade + p_reduce:
                        kind = REDUCE
                    elif u < p_trade + p_reduce + p_modify:
                        kind = MODIFY
                    else:
                        kind = CANCEL
                ev.kind = kind
                if kind == ADD or kind == MODIFY:
                    if kind == ADD:
                        oid = next_id
                        next_id += 1
                        side = <int>(lob_rng_next(&rng) & 1)
                    else:
                        oid = live.ids[lob_rng_below(&rng, live.n)]
                        slot = lob_book_find(book, oid)
                        side = <int>book.levels[book.orders[slot].level].side
                    # anchor at the mid, never through the far touch
                    anchor = mid
                    if side == 0:
                        if book.ladder[1].n and anchor >= best_price(book, 1):
                            anchor = best_price(book, 1) - tick
                    elif book.ladder[0].n and anchor <= best_price(book, 0):
                        anchor = best_price(book, 0) + tick
                    if lob_rng_uniform(&rng) < p_far:
                        price = <int64_t>(100 + lob_rng_below(&rng, 20000)) * tick
                    else:
                        price = <int64_t>lob_rng_geometric(&rng, depth_p, 100000) * tick
                    price = anchor - price if side == 0 else anchor + price
                    qty = draw_qty(&rng, lot)
                    if kind == ADD:
                        status = lob_book_add(book, oid, side, price, qty)
                        live_push(&live, oid)
                    else:
                        status = lob_book_modify(book, oid, price, qty)
                elif kind == CANCEL:
                    oid = live.ids[lob_rng_below(&rng, live.n)]
                    slot = lob_book_find(book, oid)
                    side = <int>book.levels[book.orders[slot].level].side
                    price = book.levels[book.orders[slot].level].price
                    status = lob_book_cancel(book, oid, &qty)
                    live_remove(&live, oid)
                elif kind == REDUCE:
                    oid = live.ids[lob_rng_below(&rng, live.n)]
                    slot = lob_book_find(book, oid)
                    side = <int>book.levels[book.orders[slot].level].side
                    price = book.levels[book.orders[slot].level].price
                    qty = 1 + <int64_t>lob_rng_below(&rng, <uint64_t>book.orders[slot].qty)
                    status = lob_book_reduce(book, oid, qty, &left)
                    if left == 0:
                        live_remove(&live, oid)
                elif kind == EXECUTE:
                    # the head of the queue at the touch of a side with orders
                    side = <int>(lob_rng_next(&rng) & 1)
                    if book.ladder[side].n == 0:
                        side = 1 - side
                    slot = book.levels[book.ladder[side].levels[book.ladder[side].n - 1]].head
                    oid = book.orders[slot].order_id
                    price = best_price(book, side)
                    qty = book.orders[slot].qty
                    if qty > 1 and lob_rng_uniform(&rng) < 0.2:
                        qty = 1 + <int64_t>lob_rng_below(&rng, <uint64_t>(qty - 1))
                    status = lob_book_execute(book, oid, qty, &left)
                    if left == 0:
                        live_remove(&live, oid)
                else:  # TRADE: a hidden print at the touch; side is the aggressor
                    side = <int>(lob_rng_next(&rng) & 1)
                    oid = 0
                    price = mid
                    if book.ladder[1 - side].n:
                        price = best_price(book, 1 - side)
                    qty = draw_qty(&rng, lot)
                    status = lob_book_trade(book, side, price, qty)
                if status != 0:
                    break
                ev.side = side
                ev.order_id = oid
                ev.price = price
                ev.qty = qty
        if status != 0:   # generate() checked the parameters: a refusal here is a bug
            raise RuntimeError(f"lob.synth generated an invalid event at {i} (status {status}): a bug")
    finally:
        free(live.ids)
        free(live.index_of)
        lob_book_free(book)
