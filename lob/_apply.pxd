# One event through an OrderBook's C-level methods: shared, inline, by every
# batch loop (OrderBook.apply, apply_routed, the ITCH parser's direct path).
from libc.stdint cimport int64_t

from lob._book cimport OrderBook, E_KIND, E_UNKNOWN
from lob._events cimport Event, ADD, REDUCE, CANCEL, EXECUTE, TRADE, MODIFY, CLEAR, ANON


cdef inline int apply_one(OrderBook book, const Event *ev) noexcept nogil:
    cdef int64_t left
    cdef int kind = ev.kind
    cdef int status
    if kind == ADD:
        return book.c_add(ev.order_id, ev.side, ev.price, ev.qty)
    if kind == CANCEL:
        status = book.c_cancel(ev.order_id, &left)
    elif kind == EXECUTE:
        status = book.c_execute(ev.order_id, ev.qty, &left)
    elif kind == REDUCE:
        status = book.c_reduce(ev.order_id, ev.qty, &left)
    elif kind == MODIFY:
        return book.c_modify(ev.order_id, ev.price, ev.qty)
    elif kind == TRADE:
        return book.c_trade(ev.side, ev.price, ev.qty)
    elif kind == CLEAR:
        book.c_clear()
        return 0
    elif kind == ANON:
        return book.c_set_anon(ev.side, ev.price, ev.qty)
    else:
        return E_KIND
    if status == E_UNKNOWN:   # a seeded book draws on its anonymous qty
        return book.c_draw_unknown(kind, ev.side, ev.price, ev.qty)
    return status
