# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""OrderBook.apply: a whole event array in one C loop, without the GIL.

Each event goes through the same C-level methods as the Python calls, so a
batch gives exactly the book and signals of the same events applied one call
at a time; after each event (if recording) the top of book, microprice,
top-level imbalance, volume delta and `depth` levels a side are written into
one row of lob.feature_dtype(depth).
"""
from libc.stdint cimport int64_t, uint64_t, uint32_t
from libc.string cimport memset

from lob._book cimport (OrderBook, Level, lob_ladder, microprice_of, imbalance_of, E_KIND, E_NOMEM,
                        E_FULL)
from lob._events cimport Event
from lob._apply cimport apply_one

import numpy as np

from lob.dtypes import EVENT_DTYPE, feature_dtype
from lob.errors import EventError
from lob.kinds import EventKind

if sizeof(Event) != EVENT_DTYPE.itemsize:  # the C struct must mirror the dtype
    raise ImportError(f"lob._events.Event is {sizeof(Event)} bytes, EVENT_DTYPE {EVENT_DTYPE.itemsize}")

# status code -> the reason named in OrderBook.last_rejected
REASONS = {1: "bad_side", 2: "bad_qty", 3: "qty_above_resting", 4: "duplicate_id", 5: "unknown_id",
           6: "crossed", 9: "bad_kind", 10: "overflow"}


# The fixed head of a feature row; depth arrays follow it.
cdef struct FeatureHead:
    int64_t ts
    int64_t best_bid
    int64_t best_bid_qty
    int64_t best_ask
    int64_t best_ask_qty
    double microprice
    double imbalance
    int64_t volume_delta


cdef inline void write_levels(OrderBook book, int side, int64_t *prices, int64_t *qtys,
                              Py_ssize_t depth) noexcept nogil:
    cdef lob_ladder *lad = &book.ladder[side]
    cdef Py_ssize_t i, n = depth if depth < <Py_ssize_t>lad.n else <Py_ssize_t>lad.n
    cdef Level *lvl
    for i in range(n):
        lvl = &book.levels[lad.levels[lad.n - 1 - i]]
        prices[i] = lvl.price
        qtys[i] = lvl.qty
    for i in range(n, depth):
        prices[i] = 0
        qtys[i] = 0


cdef inline void write_row(OrderBook book, char *row, int64_t ts, Py_ssize_t depth) noexcept nogil:
    cdef FeatureHead *f = <FeatureHead *>row
    cdef int64_t *levels
    f.ts = ts
    f.volume_delta = book.flow_buy - book.flow_sell
    book.c_touch(0, &f.best_bid, &f.best_bid_qty)
    book.c_touch(1, &f.best_ask, &f.best_ask_qty)
    f.microprice = microprice_of(f.best_bid, f.best_bid_qty, f.best_ask, f.best_ask_qty)
    f.imbalance = imbalance_of(<double>f.best_bid_qty, <double>f.best_ask_qty)
    if depth:
        levels = <int64_t *>(row + sizeof(FeatureHead))
        write_levels(book, 0, levels, levels + depth, depth)
        write_levels(book, 1, levels + 2 * depth, levels + 3 * depth, depth)


cdef object event_array(events):
    """`events` as a C-contiguous 1-d array of lob.EVENT_DTYPE, or TypeError."""
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        raise TypeError(f"events must be a 1-d NumPy array of lob.EVENT_DTYPE, got "
                        f"{getattr(events, 'dtype', type(events).__name__)!r}")
    return np.ascontiguousarray(events)


def apply_events(OrderBook book, events, Py_ssize_t depth=0, bint record=True, str on_error="raise", out=None):
    """The body of OrderBook.apply (see its docstring)."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    events = event_array(events)
    cdef Py_ssize_t n = events.shape[0], i = 0, stop = n
    cdef const unsigned char[::1] event_bytes = events.view(np.uint8).reshape(-1)
    cdef const Event *ev = <const Event *>&event_bytes[0] if n else NULL
    cdef bint skip = on_error == "skip"
    cdef int status = 0
    cdef Py_ssize_t rejected[16]
    cdef unsigned char[::1] row_bytes
    cdef char *rows = NULL
    cdef Py_ssize_t row_size = 0
    features = None
    if record:
        dtype = feature_dtype(depth)
        if out is None:
            features = np.empty(n, dtype=dtype)
        elif (not isinstance(out, np.ndarray) or out.dtype != dtype or out.ndim != 1
              or not out.flags.c_contiguous or not out.flags.writeable or out.shape[0] < n):
            raise TypeError(f"out must be a writeable C-contiguous 1-d array of lob.feature_dtype({depth}) "
                            f"with at least {n} rows")
        else:
            features = out[:n]
        row_size = dtype.itemsize
        if n:
            row_bytes = features.view(np.uint8).reshape(-1)
            rows = <char *>&row_bytes[0]
    memset(rejected, 0, sizeof(rejected))
    book.guard()
    book.busy = True
    try:
        with nogil:
            while i < n:
                status = apply_one(book, &ev[i])
                if status:
                    if not skip or status == E_NOMEM or status == E_FULL:
                        stop = i
                        break
                    rejected[status] += 1
                if rows != NULL:
                    write_row(book, rows + i * row_size, ev[i].ts, depth)
                i += 1
    finally:
        book.busy = False
    book.last_rejected = {REASONS[code]: int(rejected[code]) for code in REASONS if rejected[code]}
    if stop < n:
        raise_event_error(book, events, stop, status, features)
    return features


cdef raise_event_error(OrderBook book, events, Py_ssize_t index, int status, features):
    row = events[index]
    kind, side, oid, price, qty = (int(row["kind"]), int(row["side"]), int(row["order_id"]),
                                   int(row["price"]), int(row["qty"]))
    try:
        if status == E_KIND:
            raise ValueError(f"kind must be 1 to 7 (lob.EventKind), got {kind}")
        book.raise_status(status, <uint64_t>oid, side, price, qty, side)
    except Exception as exc:
        cause = exc
    name = EventKind(kind).name if 1 <= kind <= 7 else str(kind)
    err = EventError(f"event {index} ({name} order_id={oid} side={side} price={price} qty={qty}): {cause}",
                     index)
    err.features = features[:index] if features is not None else None
    raise err from cause


def book_table(books):
    """(table, held): the OrderBooks of `books` (a list with None for no
    book) as a uintp array of their addresses (0 for None) for C loops, and
    the books themselves, which the caller keeps referenced while it uses the
    table.  TypeError for anything else; RuntimeError if one is busy."""
    table = np.zeros(max(len(books), 1), dtype=np.uintp)
    cdef size_t[::1] slots = table
    cdef list held = []
    for i, book in enumerate(books):
        if book is not None:
            if not isinstance(book, OrderBook):
                raise TypeError(f"books[{i}] is {type(book).__name__}, not an OrderBook")
            (<OrderBook>book).guard()
            held.append(book)
            slots[i] = <size_t><void *>book
    return table, held


def apply_routed(books, events, keys):
    """Apply each event to books[keys[i]], in order, in one C loop without
    the GIL: a multi-stock stream (ITCH events with their stock locates)
    replayed into one book per stock with no per-stock split first.  Events
    whose key has no book (beyond the list, or None there) are passed over.
    Refused events are skipped and counted; returns ({reason: count},
    events passed over)."""
    events = event_array(events)
    keys = np.ascontiguousarray(keys, dtype=np.int64)
    if keys.shape[0] != events.shape[0]:
        raise ValueError(f"keys has {keys.shape[0]} rows but events {events.shape[0]}")
    books = list(books)
    cdef Py_ssize_t nbooks = len(books), n = events.shape[0], i, key, passed = 0
    table, held = book_table(books)
    cdef size_t[::1] slots = table
    cdef const unsigned char[::1] event_bytes = events.view(np.uint8).reshape(-1)
    cdef const Event *ev = <const Event *>&event_bytes[0] if n else NULL
    cdef const int64_t[::1] key_view = keys
    cdef Py_ssize_t rejected[16]
    cdef int status = 0
    cdef OrderBook target
    memset(rejected, 0, sizeof(rejected))
    for book in held:
        (<OrderBook>book).busy = True
    try:
        with nogil:
            for i in range(n):
                key = key_view[i]
                if key < 0 or key >= nbooks or slots[key] == 0:
                    passed += 1
                    continue
                status = apply_one(<OrderBook><void *>slots[key], &ev[i])
                if status:
                    if status == E_NOMEM or status == E_FULL:
                        break
                    rejected[status] += 1
    finally:
        for book in held:
            (<OrderBook>book).busy = False
    if status == E_NOMEM or status == E_FULL:
        raise MemoryError("apply_routed: out of memory")
    return {REASONS[code]: int(rejected[code]) for code in REASONS if rejected[code]}, int(passed)


cdef extern from "lob_clock.h":
    uint64_t lob_ticks() nogil
    uint64_t lob_now_ns() nogil


def apply_latency(OrderBook book, events, Py_ssize_t depth=0):
    """Apply `events` as OrderBook.apply(events, depth) does (writing each
    feature row into one scratch row) and time every event on its own;
    returns (ticks, ns_per_tick): a uint64 array of timer ticks per event
    (the apply and the row write) and the tick length in ns, calibrated
    against CLOCK_MONOTONIC over the run.  The timer is the TSC on x86-64
    (read with fences: ~10-20 ns of it is in every figure; time an empty
    stream of reads with timer_overhead() to subtract), CLOCK_MONOTONIC
    elsewhere.  Stops at the first refused event with lob.EventError."""
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    events = event_array(events)
    cdef Py_ssize_t n = events.shape[0], i = 0
    cdef const unsigned char[::1] event_bytes = events.view(np.uint8).reshape(-1)
    cdef const Event *ev = <const Event *>&event_bytes[0] if n else NULL
    ticks = np.zeros(n, dtype=np.uint64)
    cdef uint64_t[::1] out = ticks
    scratch = np.zeros(1, dtype=feature_dtype(depth))
    cdef unsigned char[::1] row_bytes = scratch.view(np.uint8).reshape(-1)
    cdef char *row = <char *>&row_bytes[0]
    cdef int status = 0
    cdef uint64_t t0, t1, start_ticks, start_ns, end_ticks, end_ns
    book.guard()
    book.busy = True
    try:
        with nogil:
            start_ns = lob_now_ns()
            start_ticks = lob_ticks()
            while i < n:
                t0 = lob_ticks()
                status = apply_one(book, &ev[i])
                write_row(book, row, ev[i].ts, depth)
                t1 = lob_ticks()
                if status:
                    break
                out[i] = t1 - t0
                i += 1
            end_ticks = lob_ticks()
            end_ns = lob_now_ns()
    finally:
        book.busy = False
    if i < n:
        raise_event_error(book, events, i, status, None)
    ns_per_tick = <double>(end_ns - start_ns) / <double>(end_ticks - start_ticks) if end_ticks > start_ticks else 1.0
    return ticks, ns_per_tick


def timer_overhead(Py_ssize_t n=100000):
    """Ticks of n back-to-back timer reads with nothing between them (the
    floor of every apply_latency figure), as a uint64 array."""
    ticks = np.zeros(n, dtype=np.uint64)
    cdef uint64_t[::1] out = ticks
    cdef Py_ssize_t i
    cdef uint64_t t0
    with nogil:
        for i in range(n):
            t0 = lob_ticks()
            out[i] = lob_ticks() - t0
    return ticks
