# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The session chart's numbers, binned in C during one replay (lob.plot).

replay_bins() applies an event stream to a book in one C loop without the
GIL (as OrderBook.apply(on_error="skip") does) and, over a window cut into
columns by `edges` (ns), keeps:

- cells: a time x price grid of the mean resting qty (time-weighted over
  each column) of the levels within `band` of the mid, at most `levels` a
  side from the touch, in rows of `price_bin` from `price_lo`;
- columns: per column, the lowest and highest mid and the time-weighted
  mean top-level imbalance, and the events applied;
- samples: the book's top and signals at every edge (after the events at
  that instant; at the last edge, before them: they are not applied);
- trades: every trade print or execution in the window, its aggressor and
  its run (the fields docs/signals.md gives a feature row).

Time is the running maximum of the events' ts from the book's clock (a
late event counts at the time already reached), refused events included.
The state after an event holds until the next event's time; events at or
after the last edge are not applied.  Per event the loop costs the walk of
the levels in the band only when time advances.
"""
from libc.stdint cimport int64_t, uint64_t, int32_t, int8_t
from libc.string cimport memset
from libc.math cimport NAN, isnan

from lob._core cimport *
from lob._events cimport Event, event_array, event_data, ADD, ANON, CANCEL, EXECUTE, MODIFY, REDUCE, TRADE
from lob._book cimport OrderBook

cimport numpy as cnp
import numpy as np

from lob.errors import REASONS, error as _error

cnp.import_array()

#: The book at each edge of the columns (the state just before that instant).
SAMPLE_DTYPE = np.dtype([("ts", "<i8"), ("best_bid", "<i8"), ("best_bid_qty", "<i8"), ("best_ask", "<i8"),
                         ("best_ask_qty", "<i8"), ("microprice", "<f8"), ("imbalance", "<f8"),
                         ("rolling_vwap", "<f8"), ("vwap_deviation_bps", "<f8"), ("ofi", "<i8"),
                         ("volume_delta", "<i8"), ("trades", "<i8"), ("sweeps", "<i8")])
#: One column: mid range and mean imbalance over the time it held, events applied in it.
COLUMN_DTYPE = np.dtype([("mid_low", "<f8"), ("mid_high", "<f8"), ("imbalance", "<f8"), ("events", "<i8")])
#: One trade: time, price, qty, aggressor (0 buy, 1 sell, 2 none), its run's levels and qty so far.
TRADE_DTYPE = np.dtype([("ts", "<i8"), ("price", "<i8"), ("qty", "<i8"), ("side", "i1"), ("run_levels", "<i4"),
                        ("run_qty", "<i8")])

cdef packed struct Sample:
    int64_t ts
    int64_t best_bid
    int64_t best_bid_qty
    int64_t best_ask
    int64_t best_ask_qty
    double microprice
    double imbalance
    double rolling_vwap
    double vwap_deviation_bps
    int64_t ofi
    int64_t volume_delta
    int64_t trades
    int64_t sweeps


cdef packed struct Column:
    double mid_low
    double mid_high
    double imbalance
    int64_t events


cdef packed struct Trade:
    int64_t ts
    int64_t price
    int64_t qty
    int8_t side
    int32_t run_levels
    int64_t run_qty


if (sizeof(Sample) != SAMPLE_DTYPE.itemsize or sizeof(Column) != COLUMN_DTYPE.itemsize
        or sizeof(Trade) != TRADE_DTYPE.itemsize):
    raise ImportError("lob._heatmap: a C struct and its dtype differ in size")


cdef struct Bins:
    lob_book *b
    const int64_t *edges
    Py_ssize_t columns
    int64_t price_lo
    uint64_t price_bin
    Py_ssize_t rows              # 0: no grid
    int64_t price_hi             # price_lo + rows * price_bin, saturated
    double *cells                # columns x rows: qty x ns, then the mean
    double *cur                  # per row: the qty resting in it now
    double *acc                  # per row: qty x ns held in the current column so far
    int64_t *stamp               # per row: cur has held since
    Column *cols
    double *imb_time             # per column: ns where the imbalance was defined
    Sample *samples
    Trade *trades
    Py_ssize_t n_trades
    int64_t since                # the current state holds from here
    Py_ssize_t col               # the column holding `since`: -1 before edges[0], columns after the last
    Py_ssize_t pending           # an edge whose sample waits for the events at its instant (-1: none)


cdef inline void take_sample(Bins *s, Py_ssize_t k) noexcept nogil:
    cdef lob_book *b = s.b
    cdef Sample *out = &s.samples[k]
    cdef int64_t bid, bid_qty, ask, ask_qty
    lob_book_touch(b, LOB_BID, &bid, &bid_qty)
    lob_book_touch(b, LOB_ASK, &ask, &ask_qty)
    out.ts = s.edges[k]
    out.best_bid = bid
    out.best_bid_qty = bid_qty
    out.best_ask = ask
    out.best_ask_qty = ask_qty
    out.microprice = lob_microprice_of(bid, bid_qty, ask, ask_qty)
    out.imbalance = lob_imbalance_of(<double>bid_qty, <double>ask_qty)
    out.rolling_vwap = lob_book_rolling_vwap(b)
    out.vwap_deviation_bps = lob_book_vwap_deviation_bps(b)
    out.ofi = lob_i128_to_int64_sat(&b.sig.ofi[0])
    out.volume_delta = b.flow_buy - b.flow_sell
    out.trades = b.flow_trades
    out.sweeps = b.sig.sweeps


cdef inline Py_ssize_t row_of(const Bins *s, int64_t price) noexcept nogil:
    """The grid row of a price, -1 outside the grid."""
    if price < s.price_lo or price >= s.price_hi:
        return -1
    return <Py_ssize_t>((<uint64_t>price - <uint64_t>s.price_lo) / s.price_bin)


cdef inline double qty_at(const lob_book *b, int side, int64_t price) noexcept nogil:
    cdef uint32_t level = lob_book_level_of(b, side, price)
    return 0.0 if level == LOB_NIL else <double>b.levels[level].qty


cdef inline void flush_row(Bins *s, Py_ssize_t r, int64_t t) noexcept nogil:
    s.acc[r] += s.cur[r] * <double>(t - s.stamp[r])
    s.stamp[r] = t


cdef void fill_rows(Bins *s) noexcept nogil:
    """cur[] from the book: every level inside the grid's prices."""
    cdef const lob_book *b = s.b
    cdef const lob_ladder *lad
    cdef const lob_level *lvl
    cdef Py_ssize_t m, r
    cdef int side
    memset(s.cur, 0, s.rows * sizeof(double))
    for side in range(2):
        lad = &b.ladder[side]
        for m in range(<Py_ssize_t>lad.n):       # from the touch outward
            lvl = &b.levels[lad.levels[lad.n - 1 - m]]
            r = row_of(s, lvl.price)
            if r >= 0:
                s.cur[r] += <double>lvl.qty
            elif (lvl.price < s.price_lo) == (side == LOB_BID):   # past the grid's far edge
                break


cdef void close_column(Bins *s, Py_ssize_t col, int64_t t) noexcept nogil:
    """Column col ends at t: its cells take what every row held."""
    cdef Py_ssize_t r
    cdef double *cells = s.cells + col * s.rows
    for r in range(s.rows):
        cells[r] = s.acc[r] + s.cur[r] * <double>(t - s.stamp[r])
        s.acc[r] = 0.0
        s.stamp[r] = t


cdef inline void hold(Bins *s, Py_ssize_t col, int64_t dt) noexcept nogil:
    """The current state held for dt > 0 ns inside column col: the band's
    reference (the mid, or the touch of a one-sided book) and the
    imbalance."""
    cdef lob_book *b = s.b
    cdef int64_t bid, bid_qty, ask, ask_qty
    cdef double ref, imb
    cdef Column *c = &s.cols[col]
    cdef bint has_bid = b.ladder[LOB_BID].n > 0, has_ask = b.ladder[LOB_ASK].n > 0
    lob_book_touch(b, LOB_BID, &bid, &bid_qty)
    lob_book_touch(b, LOB_ASK, &ask, &ask_qty)
    if has_bid and has_ask:
        ref = (<double>bid + <double>ask) / 2.0
        imb = lob_imbalance_of(<double>bid_qty, <double>ask_qty)
        if not isnan(imb):
            c.imbalance += imb * <double>dt
            s.imb_time[col] += <double>dt
    elif has_bid:
        ref = <double>bid
    elif has_ask:
        ref = <double>ask
    else:
        return
    if isnan(c.mid_low) or ref < c.mid_low:
        c.mid_low = ref
    if isnan(c.mid_high) or ref > c.mid_high:
        c.mid_high = ref


cdef inline void sample_at(Bins *s, Py_ssize_t k, int64_t t) noexcept nogil:
    """Edge k is reached on the way to t: its sample now, or, when the next
    events happen at its very instant, once time has moved past them."""
    if s.edges[k] == t:
        s.pending = k
    else:
        take_sample(s, k)


cdef inline void advance(Bins *s, int64_t t) noexcept nogil:
    """Hold the current state from s.since to t, column by column, taking
    a sample at every edge reached (after the events at its instant)."""
    cdef int64_t stop
    if s.pending >= 0 and t > s.since:
        take_sample(s, s.pending)
        s.pending = -1
    while s.since < t:
        if s.col < 0:
            if t < s.edges[0]:
                s.since = t
                return
            open_window(s, t)
            continue
        if s.col >= s.columns:
            s.since = t
            return
        stop = s.edges[s.col + 1]
        if stop > t:
            stop = t
        if stop > s.since:
            hold(s, s.col, stop - s.since)
        s.since = stop
        if stop == s.edges[s.col + 1]:
            if s.rows:
                close_column(s, s.col, stop)
            s.col += 1
            sample_at(s, s.col, t)


cdef void open_window(Bins *s, int64_t t) noexcept nogil:
    """The window opens (edges[0]) on the way to t: the first sample, the
    rows from the book."""
    cdef Py_ssize_t r
    s.since = s.edges[0]
    s.col = 0
    sample_at(s, 0, t)
    if s.rows:
        fill_rows(s)
        for r in range(s.rows):
            s.acc[r] = 0.0
            s.stamp[r] = s.edges[0]


# An event's touched levels: (side, price) pairs whose qty it may change.
cdef struct Touched:
    int n                        # -1: any level (CLEAR): read the book again
    int side[2]
    int64_t price[2]
    double before[2]


cdef inline void touched_levels(const lob_book *b, const Event *ev, Touched *out) noexcept nogil:
    cdef uint32_t slot
    cdef const lob_level *lvl
    cdef int k = ev.kind
    out.n = 0
    if k == ADD or k == ANON:
        if ev.side == LOB_BID or ev.side == LOB_ASK:
            out.side[0] = ev.side
            out.price[0] = ev.price
            out.n = 1
    elif k == CANCEL or k == REDUCE or k == EXECUTE or k == MODIFY:
        slot = lob_book_find(b, ev.order_id)
        if slot != LOB_NIL:
            lvl = &b.levels[b.orders[slot].level]
            out.side[0] = <int>lvl.side
            out.price[0] = lvl.price
            out.n = 1
            if k == MODIFY and ev.price != lvl.price:
                out.side[1] = <int>lvl.side
                out.price[1] = ev.price
                out.n = 2
        elif k != MODIFY and (ev.side == LOB_BID or ev.side == LOB_ASK):   # a draw on anonymous qty
            out.side[0] = ev.side
            out.price[0] = ev.price
            out.n = 1
    elif k != TRADE:
        out.n = -1


cdef inline void update_rows(Bins *s, Touched *touch, int64_t t) noexcept nogil:
    """After an applied event: the rows of its touched levels take the change."""
    cdef int j
    cdef Py_ssize_t r
    cdef double delta
    if touch.n < 0:
        for r in range(s.rows):
            flush_row(s, r, t)
        fill_rows(s)
        return
    for j in range(touch.n):
        delta = qty_at(s.b, touch.side[j], touch.price[j]) - touch.before[j]
        if delta != 0.0:
            r = row_of(s, touch.price[j])
            if r >= 0:
                flush_row(s, r, t)
                s.cur[r] += delta


def replay_bins(OrderBook book, events, edges, int64_t price_lo=0, int64_t price_bin=1, Py_ssize_t rows=0,
                band=None):
    """Replay `events` into `book` and bin the window `edges` (int64 ns,
    increasing, at least 2) as the module docstring says.

    price_lo, price_bin (> 0), rows: the grid's price rows in the book's
    integer prices (row r holds [price_lo + r * price_bin, + price_bin));
    rows=0 keeps no grid.  band (int >= 0, or None for no limit): a
    column's cells farther than this from every mid the column saw (the
    touch of a one-sided book) are 0.

    Returns (cells, columns, samples, trades, rejected, applied): cells a
    float64 (columns, rows) array of mean qty (None when rows=0); columns
    (COLUMN_DTYPE: mid_low / mid_high are the band's reference over the
    states that held in it, nan if none); samples (SAMPLE_DTYPE, one per
    edge); trades (TRADE_DTYPE); refused events by reason; and how many
    events were applied or refused (the rest start at the last edge).  A
    fatal failure (memory) raises."""
    events = event_array(events)
    edge_array = np.ascontiguousarray(edges, dtype=np.int64)
    if edge_array.ndim != 1 or edge_array.shape[0] < 2:
        raise ValueError(f"edges must be a 1-d array of at least 2 times, got shape {edge_array.shape}")
    if np.any(edge_array[1:] <= edge_array[:-1]):
        raise ValueError("edges must increase strictly")
    if price_bin <= 0:
        raise ValueError(f"price_bin must be > 0, got {price_bin}")
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if band is not None and not 0 <= band < 2**63:
        raise ValueError(f"band must be in [0, 2**63) or None, got {band}")
    cdef Py_ssize_t columns = edge_array.shape[0] - 1
    cdef const Event *ev = event_data(events)
    cdef Py_ssize_t n = events.shape[0], i, stop_at = n, cap = 0
    for i in range(n):          # trades can only come from these
        if ev[i].kind == EXECUTE or ev[i].kind == TRADE:
            cap += 1
    cells = np.zeros((columns, rows), dtype=np.float64) if rows else None
    row_state = np.zeros((2, rows), dtype=np.float64)
    stamps = np.zeros(rows, dtype=np.int64)
    cols = np.zeros(columns, dtype=COLUMN_DTYPE)
    cols["mid_low"] = np.nan
    cols["mid_high"] = np.nan
    imb_time = np.zeros(columns, dtype=np.float64)
    samples = np.zeros(columns + 1, dtype=SAMPLE_DTYPE)
    trades = np.zeros(cap, dtype=TRADE_DTYPE)
    cdef Bins s
    memset(&s, 0, sizeof(Bins))
    s.b = book.core
    s.edges = <const int64_t *>cnp.PyArray_DATA(edge_array)
    s.columns = columns
    s.price_lo = price_lo
    s.price_bin = <uint64_t>price_bin
    s.rows = rows
    s.price_hi = <int64_t>min(int(price_lo) + int(rows) * int(price_bin), 2**63 - 1)
    if rows:
        s.cells = <double *>cnp.PyArray_DATA(cells)
        s.cur = <double *>cnp.PyArray_DATA(row_state)
        s.acc = s.cur + rows
        s.stamp = <int64_t *>cnp.PyArray_DATA(stamps)
    s.cols = <Column *>cnp.PyArray_DATA(cols)
    s.imb_time = <double *>cnp.PyArray_DATA(imb_time)
    s.samples = <Sample *>cnp.PyArray_DATA(samples)
    s.trades = <Trade *>cnp.PyArray_DATA(trades) if cap else NULL
    cdef lob_book *b = book.core
    cdef Py_ssize_t rejected[32]
    memset(rejected, 0, sizeof(rejected))
    cdef int status = 0, j
    cdef int64_t clock, t, end = s.edges[columns], flow_before, traded, buy_before, sell_before
    cdef Touched touch
    cdef bint track
    cdef Trade *tr
    book.guard()
    core_enter(b)
    try:
        with nogil:
            clock = b.sig.ts
            s.pending = -1
            if clock >= s.edges[0]:
                open_window(&s, s.edges[0])
            else:
                s.since = clock
                s.col = -1
            for i in range(n):
                t = ev[i].ts if ev[i].ts > clock else clock
                if t >= end:
                    stop_at = i
                    break
                clock = t
                advance(&s, t)
                track = s.rows > 0 and s.col >= 0
                if track:
                    touched_levels(b, &ev[i], &touch)
                    for j in range(touch.n):
                        touch.before[j] = qty_at(b, touch.side[j], touch.price[j])
                flow_before = b.flow_trades
                buy_before = b.flow_buy
                sell_before = b.flow_sell
                traded = b.flow_buy + b.flow_sell + b.flow_cross
                status = lob_book_apply(b, &ev[i])
                if status:
                    if LOB_FATAL(status):
                        stop_at = i
                        break
                    rejected[status & 31] += 1
                    continue
                if s.col < 0:
                    continue
                if track:
                    update_rows(&s, &touch, t)
                s.cols[s.col].events += 1
                if b.flow_trades != flow_before and s.n_trades < cap:
                    tr = &s.trades[s.n_trades]
                    s.n_trades += 1
                    tr.ts = t
                    tr.price = b.flow_last_price
                    tr.qty = b.flow_buy + b.flow_sell + b.flow_cross - traded
                    if b.flow_buy != buy_before:
                        tr.side = LOB_BID
                    elif b.flow_sell != sell_before:
                        tr.side = LOB_ASK
                    else:
                        tr.side = LOB_NO_AGGRESSOR
                    if lob_event_traded(&ev[i], status):
                        tr.run_levels = <int32_t>b.sig.run_levels
                        tr.run_qty = b.sig.run_qty
            if not (stop_at < n and LOB_FATAL(status)):
                advance(&s, end)
                if s.pending >= 0:
                    take_sample(&s, s.pending)
    finally:
        core_leave(b)
    if stop_at < n and LOB_FATAL(status):
        raise _error(status)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["imbalance"] = np.where(imb_time > 0, cols["imbalance"] / imb_time, np.nan)
    if rows:
        cells /= np.diff(edge_array).astype(np.float64)[:, None]
        if band is not None:
            cells[~band_mask(cols, price_lo, price_bin, rows, band)] = 0.0
    counts = {REASONS.get(code, str(code)): int(rejected[code]) for code in range(32) if rejected[code]}
    return cells, cols, samples, trades[:s.n_trades].copy(), counts, int(stop_at)


def band_mask(columns, price_lo, price_bin, rows, band):
    """(columns, rows) bool: the cells whose prices come within `band` of
    the column's mid range (COLUMN_DTYPE mid_low / mid_high; a column with
    none keeps nothing)."""
    low = np.asarray(columns["mid_low"], dtype=np.float64)[:, None] - float(band)
    high = np.asarray(columns["mid_high"], dtype=np.float64)[:, None] + float(band)
    bottom = float(price_lo) + np.arange(rows, dtype=np.float64)[None, :] * float(price_bin)
    top = bottom + float(price_bin) - 1.0          # the row's highest integer price
    with np.errstate(invalid="ignore"):
        return (top >= low) & (bottom <= high)
