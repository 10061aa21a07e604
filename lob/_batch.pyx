# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""OrderBook.apply: a whole event array in one C loop, without the GIL.

Each event goes through lob_book_apply, the same core operation as the
per-call methods, so a batch gives exactly the book and signals of the same
events applied one call at a time; after each event (if recording) the top of
book, microprice, top-level imbalance, volume delta, `depth` levels a side
and (signals=True) every signal are written into one row of
lob.feature_dtype(depth, signals, ofi_levels).
"""
from libc.stdint cimport int64_t, uint64_t, uint32_t, int32_t
from libc.string cimport memset, memcpy

from lob._core cimport *
from lob._events cimport Event, event_array, event_data
from lob._book cimport OrderBook

cimport numpy as cnp
import numpy as np

from lob.dtypes import feature_dtype
from lob.errors import EventError, REASONS, error as _error
from lob.kinds import EventKind

cnp.import_array()


# Where a row's parts sit: the fixed head, the depth arrays, the signals.
cdef struct RowLayout:
    Py_ssize_t size
    Py_ssize_t depth
    bint signals
    int ofi_levels           # > 1: the ofi_levels array is in the row
    Py_ssize_t ofi
    Py_ssize_t ofi_vector
    Py_ssize_t trade_imbalance
    Py_ssize_t ewm
    Py_ssize_t rolling_vwap
    Py_ssize_t deviation
    Py_ssize_t run_qty
    Py_ssize_t absorbed_bid
    Py_ssize_t absorbed_ask
    Py_ssize_t run_levels


# The fixed head of a feature row; depth arrays follow it.
cdef packed struct FeatureHead:
    int64_t ts
    int64_t best_bid
    int64_t best_bid_qty
    int64_t best_ask
    int64_t best_ask_qty
    double microprice
    double imbalance
    int64_t volume_delta


cdef object row_layout(Py_ssize_t depth, bint signals, int ofi_levels, RowLayout *layout):
    """The dtype of the rows, and their layout into *layout."""
    dtype = feature_dtype(depth, signals, ofi_levels)
    memset(layout, 0, sizeof(RowLayout))
    layout.size = dtype.itemsize
    layout.depth = depth
    layout.signals = signals
    layout.ofi_levels = ofi_levels
    if signals:
        fields = dtype.fields
        layout.ofi = fields["ofi"][1]
        layout.ofi_vector = fields["ofi_levels"][1] if ofi_levels > 1 else 0
        layout.trade_imbalance = fields["trade_imbalance"][1]
        layout.ewm = fields["volume_delta_ewm"][1]
        layout.rolling_vwap = fields["rolling_vwap"][1]
        layout.deviation = fields["vwap_deviation_bps"][1]
        layout.run_qty = fields["run_qty"][1]
        layout.absorbed_bid = fields["absorbed_bid"][1]
        layout.absorbed_ask = fields["absorbed_ask"][1]
        layout.run_levels = fields["run_levels"][1]
    return dtype


cdef inline void write_levels(const lob_book *b, int side, char *prices, char *qtys, Py_ssize_t depth) noexcept nogil:
    cdef const lob_ladder *lad = &b.ladder[side]
    cdef Py_ssize_t i, n = depth if depth < <Py_ssize_t>lad.n else <Py_ssize_t>lad.n
    cdef const lob_level *lvl
    for i in range(n):
        lvl = &b.levels[lad.levels[lad.n - 1 - i]]
        memcpy(prices + 8 * i, &lvl.price, 8)
        memcpy(qtys + 8 * i, &lvl.qty, 8)
    if n < depth:
        memset(prices + 8 * n, 0, 8 * (depth - n))
        memset(qtys + 8 * n, 0, 8 * (depth - n))


cdef inline void put_i64(char *row, Py_ssize_t offset, int64_t value) noexcept nogil:
    memcpy(row + offset, &value, 8)


cdef inline void put_f64(char *row, Py_ssize_t offset, double value) noexcept nogil:
    memcpy(row + offset, &value, 8)


cdef inline void write_signals(lob_book *b, char *row, const RowLayout *layout, bint traded) noexcept nogil:
    cdef int m
    cdef double rv
    cdef int32_t levels = <int32_t>b.sig.run_levels if traded else 0
    put_i64(row, layout.ofi, lob_i128_to_int64_sat(&b.sig.ofi[0]))
    if layout.ofi_levels > 1:
        for m in range(layout.ofi_levels):
            put_i64(row, layout.ofi_vector + 8 * m, lob_i128_to_int64_sat(&b.sig.ofi[m]))
    rv = lob_book_rolling_vwap(b)
    put_f64(row, layout.trade_imbalance, lob_book_trade_imbalance(b))
    put_f64(row, layout.ewm, lob_book_volume_delta_ewm(b))
    put_f64(row, layout.rolling_vwap, rv)
    put_f64(row, layout.deviation, lob_vwap_deviation_of(lob_book_mid(b), rv))
    put_i64(row, layout.run_qty, b.sig.run_qty if traded else 0)
    put_i64(row, layout.absorbed_bid, b.sig.absorbed[0])
    put_i64(row, layout.absorbed_ask, b.sig.absorbed[1])
    memcpy(row + layout.run_levels, &levels, 4)


cdef inline void write_row(lob_book *b, char *row, const Event *ev, int status, const RowLayout *layout) noexcept nogil:
    cdef FeatureHead *f = <FeatureHead *>row
    cdef int64_t bid, bid_qty, ask, ask_qty
    cdef char *levels
    lob_book_touch(b, LOB_BID, &bid, &bid_qty)
    lob_book_touch(b, LOB_ASK, &ask, &ask_qty)
    f.ts = ev.ts
    f.best_bid = bid
    f.best_bid_qty = bid_qty
    f.best_ask = ask
    f.best_ask_qty = ask_qty
    f.microprice = lob_microprice_of(bid, bid_qty, ask, ask_qty)
    f.imbalance = lob_imbalance_of(<double>bid_qty, <double>ask_qty)
    f.volume_delta = b.flow_buy - b.flow_sell
    if layout.depth:
        levels = row + sizeof(FeatureHead)
        write_levels(b, LOB_BID, levels, levels + 8 * layout.depth, layout.depth)
        write_levels(b, LOB_ASK, levels + 16 * layout.depth, levels + 24 * layout.depth, layout.depth)
    if layout.signals:
        write_signals(b, row, layout, lob_event_traded(ev, status))


cdef object output_rows(object dtype, Py_ssize_t n, object out):
    """A fresh array of n rows, or out[:n] after checking it."""
    if out is None:
        return np.empty(n, dtype=dtype)
    if (not isinstance(out, np.ndarray) or out.dtype != dtype or out.ndim != 1
            or not out.flags.c_contiguous or not out.flags.writeable or out.shape[0] < n):
        raise TypeError(f"out must be a writeable C-contiguous 1-d array of {dtype} with at least {n} rows")
    return out[:n]


def apply_events(OrderBook book, events, Py_ssize_t depth=0, bint record=True, str on_error="raise", out=None,
                 bint signals=False):
    """The body of OrderBook.apply (see its docstring)."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    events = event_array(events)
    cdef lob_book *b = book.core
    cdef Py_ssize_t n = events.shape[0], i = 0, stop = n
    cdef const Event *ev = event_data(events)
    cdef bint skip = on_error == "skip"
    cdef int status = 0
    cdef Py_ssize_t rejected[32]
    cdef char *rows = NULL
    cdef RowLayout layout
    features = None
    if record:
        dtype = row_layout(depth, signals, b.sig.ofi_levels, &layout)
        features = output_rows(dtype, n, out)
        if n:
            rows = <char *>cnp.PyArray_DATA(features)
    memset(rejected, 0, sizeof(rejected))
    book.guard()
    core_enter(b)
    try:
        with nogil:
            if rows == NULL:
                # a loop of its own: no per-event test of rows, fewer live registers
                while i < n:
                    status = lob_book_apply(b, &ev[i])
                    if status:
                        if not skip or LOB_FATAL(status):
                            stop = i
                            break
                        rejected[status & 31] += 1
                    i += 1
            else:
                while i < n:
                    status = lob_book_apply(b, &ev[i])
                    if status:
                        if not skip or LOB_FATAL(status):
                            stop = i
                            break
                        rejected[status & 31] += 1
                    write_row(b, rows + i * layout.size, &ev[i], status, &layout)
                    i += 1
    finally:
        core_leave(b)
    book.last_rejected = {REASONS.get(code, str(code)): int(rejected[code]) for code in range(32) if rejected[code]}
    if stop < n:
        raise event_error(&b.fail, events, stop, features)
    return features


cdef object event_error(const lob_failure *fail, events, Py_ssize_t index, features):
    """lob.EventError for the event at `index` (a valid index), its __cause__
    built from the failure's context."""
    row = events[index]
    kind, side, oid, price, qty = (int(row["kind"]), int(row["side"]), int(row["order_id"]),
                                   int(row["price"]), int(row["qty"]))
    cause = _error(fail.code, **failure_context(fail))
    name = EventKind(kind).name if kind in EventKind._value2member_map_ else str(kind)
    err = EventError(f"event {index} ({name} order_id={oid} side={side} price={price} qty={qty}): {cause}",
                     index, reason=REASONS.get(fail.code), kind=kind, order_id=oid, side=side, price=price, qty=qty)
    err.features = features[:index] if features is not None else None
    err.__cause__ = cause
    return err


def book_table(books):
    """(table, held): the cores of the OrderBooks of `books` (a list with None
    for no book) as a uintp array of lob_book addresses (0 for None) for C
    loops, and the books themselves, which the caller keeps referenced while
    it uses the table.  TypeError for anything else; RuntimeError if one is
    busy."""
    books = list(books)
    table = np.zeros(max(len(books), 1), dtype=np.uintp)
    cdef size_t[::1] slots = table
    cdef list held = []
    cdef Py_ssize_t i
    for i, book in enumerate(books):
        if book is not None:
            if not isinstance(book, OrderBook):
                raise TypeError(f"books[{i}] is {type(book).__name__}, not an OrderBook")
            (<OrderBook>book).guard()
            held.append(book)
            slots[i] = <size_t>(<OrderBook>book).core
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
    if keys.ndim != 1 or keys.shape[0] != events.shape[0]:
        raise ValueError(f"keys must be 1-d with one key per event: {keys.shape} for {events.shape[0]} events")
    table, held = book_table(books)
    cdef Py_ssize_t nbooks = len(books), n = events.shape[0], i, key, passed = 0, entered = 0
    cdef size_t[::1] slots = table
    cdef const Event *ev = event_data(events)
    cdef const int64_t[::1] key_view = keys
    cdef Py_ssize_t rejected[32]
    cdef int status = 0
    memset(rejected, 0, sizeof(rejected))
    try:
        for book in held:
            core_enter((<OrderBook>book).core)
            entered += 1
        with nogil:
            for i in range(n):
                key = key_view[i]
                if key < 0 or key >= nbooks or slots[key] == 0:
                    passed += 1
                    continue
                status = lob_book_apply(<lob_book *>slots[key], &ev[i])
                if status:
                    if LOB_FATAL(status):
                        break
                    rejected[status & 31] += 1
    finally:
        for book in held[:entered]:
            core_leave((<OrderBook>book).core)
    if LOB_FATAL(status):
        raise _error(status)
    return {REASONS.get(code, str(code)): int(rejected[code]) for code in range(32) if rejected[code]}, int(passed)


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
    cdef lob_book *b = book.core
    cdef Py_ssize_t n = events.shape[0], i = 0
    cdef const Event *ev = event_data(events)
    cdef RowLayout layout
    ticks = np.zeros(n, dtype=np.uint64)
    cdef uint64_t[::1] out = ticks
    scratch = np.zeros(1, dtype=row_layout(depth, False, 1, &layout))
    cdef char *row = <char *>cnp.PyArray_DATA(scratch)
    cdef int status = 0
    cdef uint64_t t0, t1, start_ticks, start_ns, end_ticks, end_ns
    book.guard()
    core_enter(b)
    try:
        with nogil:
            start_ns = lob_now_ns()
            start_ticks = lob_ticks()
            while i < n:
                t0 = lob_ticks()
                status = lob_book_apply(b, &ev[i])
                write_row(b, row, &ev[i], status, &layout)
                t1 = lob_ticks()
                if status:
                    break
                out[i] = t1 - t0
                i += 1
            end_ticks = lob_ticks()
            end_ns = lob_now_ns()
    finally:
        core_leave(b)
    if i < n:
        raise event_error(&b.fail, events, i, None)
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
