"""Session charts: the book as a depth heat map over time, the trades on top,
the order-flow signals underneath (`lob plot`, extra ``[plot]``).

    fig = lob.plot.session(events, price_scale=10_000, out="aapl.png")

The numbers come from one replay in C (lob._heatmap.replay_bins): the heat
map is a time x price grid of the mean resting qty (time-weighted within a
column) of the levels within a band of the mid, binned during the replay,
so a full day costs about what the replay costs; matplotlib only draws the
grid, a line per signal and the trades.  bin_session() gives those numbers,
draw() the Figure from them; session() does both.

Times are the venue's clock: ns after midnight (LOBSTER, ITCH) or since the
epoch (DBN, shown in UTC), labelled hh:mm:ss.  Prices are the events'
integers divided by ``price_scale`` (10,000 for LOBSTER and ITCH dollars,
1e9 for DBN).
"""
from __future__ import annotations

import copy
import datetime
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

import numpy as np
import numpy.typing as npt

from lob._book import OrderBook
from lob._heatmap import replay_bins
from lob.dtypes import EVENT_DTYPE
from lob.kinds import ADD, ANON, MODIFY

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["session", "bin_session", "draw", "SessionBins", "OPTIONS"]

#: session()'s options beyond its named arguments, with their defaults.
OPTIONS: dict[str, Any] = {
    "columns": 1000,          # time columns of the grid (at most one per ns of the window)
    "band": None,             # price units: levels within this of the mid are drawn (default 25 ticks)
    "price_range": None,      # (low, high) in price units: the heat map's price axis (default: the mid's range + band)
    "max_rows": 400,          # price rows at most: a row holds several ticks when the range needs more
    "tick": None,             # the events' integer price step (default: the gcd of their prices)
    "symbol": None,           # the instrument's name, in the title
    "qty_unit": "qty",        # what a qty counts ("shares", "contracts"): colour bar and axes
    "price_unit": "",         # what a displayed price is in ("$", "index points"): the price axis
    "clock": "auto",          # "midnight" (ns after midnight), "epoch" (ns since 1970, shown UTC), "auto"
    "allow_cross": False,     # the new book's allow_cross (when book is None): DBN needs True
    "vwap_window_ns": None,   # the new book's rolling VWAP window (default 60 s)
    "max_trades": 3_000,      # above this, trades are drawn summed per column, price and aggressor
    "max_sweeps": 60,         # above this, only the largest sweeps (by qty) are marked
    "figsize": (14.0, 9.5),   # inches
    "dpi": 110,               # of the saved file
}

#: The options only draw() uses.
DRAW_OPTIONS = ("symbol", "qty_unit", "price_unit", "figsize", "dpi", "max_trades", "max_sweeps")

#: Colours: what a trader expects (bids and buys green, asks and sells red).
BID_COLOUR = "#2ee86b"
ASK_COLOUR = "#ff4d4d"
CROSS_COLOUR = "#f2f2f2"
MICRO_COLOUR = "#d291ff"
VWAP_COLOUR = "#ffb000"
SWEEP_COLOUR = "#ffe600"
OWN_BUY = "#27c8ff"
OWN_SELL = "#ff5cf0"
IMBALANCE_COLOUR = "#3b5bdb"
HEAT_BACKGROUND = "#000000"
#: The heat map's colours: dark grey-blue (little qty) to white (much), "bone" without its black end, so
#: the coloured lines and dots stand out and an empty price stays black.
HEAT_CMAP = ("bone", 0.22)

#: Fields own_orders and own_fills must have.
OWN_ORDER_FIELDS = ("order_id", "side", "price", "qty", "ts_submit", "ts_end")
OWN_FILL_FIELDS = ("ts", "order_id", "side", "price", "qty", "liquidity")

#: The heat map's cells at most (8 bytes each).
MAX_CELLS = 20_000_000
#: OFI bars at most (columns are summed into wider bars).
OFI_BARS = 150
_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
#: Clock ticks (s): the first that gives at most 8 labels is used.
_TICK_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600,
               900, 1800, 3600, 7200, 10800)


@dataclass
class SessionBins:
    """What bin_session() measured, in the events' integer units and ns.

    edges: the columns' bounds (int64 ns, columns + 1).  cells: (columns,
    rows) float64 mean resting qty per column and price row (0 outside the
    band).  Row r holds prices [price_lo + r * price_bin, + price_bin).
    columns, samples, trades: lob._heatmap's COLUMN_DTYPE, SAMPLE_DTYPE (the
    book at each edge) and TRADE_DTYPE arrays.  rejected: refused events by
    reason; applied: events applied or refused before the window's end;
    seconds: the replays' time.  The rest are the settings the chart used.
    """

    edges: npt.NDArray[np.int64]
    cells: npt.NDArray[np.float64]
    price_lo: int
    price_bin: int
    band: int
    tick: int
    columns: npt.NDArray[np.void]
    samples: npt.NDArray[np.void]
    trades: npt.NDArray[np.void]
    rejected: dict[str, int]
    applied: int
    seconds: float
    price_scale: float
    clock: str
    vwap_window_ns: int
    book: OrderBook

    @property
    def t0(self) -> int:
        """The window's start (ns)."""
        return int(self.edges[0])

    @property
    def t1(self) -> int:
        """The window's end (ns, excluded)."""
        return int(self.edges[-1])

    @property
    def rows(self) -> int:
        """Price rows of the grid."""
        return int(self.cells.shape[1])

    def opening_volume_delta(self) -> int:
        """The book's volume delta just before t0 (the first sample is the
        book after the events at t0: their trades are taken back out)."""
        t = self.trades[self.trades["ts"] == self.t0]
        return int(self.samples["volume_delta"][0] - t["qty"][t["side"] == 0].sum()
                   + t["qty"][t["side"] == 1].sum())

    def sweeps(self) -> npt.NDArray[np.void]:
        """The sweeps among the trades: one row per run of one aggressor that
        traded at 2 or more prices (docs/signals.md), with its time (ns),
        side (0 buy, 1 sell), first and last price, lowest and highest
        price, qty and levels."""
        return _sweeps(self.trades)


_SWEEP_DTYPE = np.dtype([("ts", "<i8"), ("side", "i1"), ("first", "<i8"), ("last", "<i8"), ("low", "<i8"),
                         ("high", "<i8"), ("qty", "<i8"), ("levels", "<i4")])


def _sweeps(trades: npt.NDArray[np.void]) -> npt.NDArray[np.void]:
    sided = trades[trades["run_qty"] > 0]
    if not len(sided):
        return np.zeros(0, _SWEEP_DTYPE)
    # a run's first trade is the one whose run qty is its own qty (a run adds every trade's qty)
    start = sided["run_qty"] == sided["qty"]
    ends = np.r_[np.flatnonzero(start)[1:] - 1, len(sided) - 1]
    starts = np.flatnonzero(start)
    swept = sided["run_levels"][ends] >= 2
    out = np.zeros(int(swept.sum()), _SWEEP_DTYPE)
    if not len(out):
        return out
    prices = sided["price"]
    low = np.minimum.reduceat(prices, starts)
    high = np.maximum.reduceat(prices, starts)
    out["ts"] = sided["ts"][ends][swept]
    out["side"] = sided["side"][ends][swept]
    out["first"] = prices[starts][swept]
    out["last"] = prices[ends][swept]
    out["low"] = low[swept]
    out["high"] = high[swept]
    out["qty"] = sided["run_qty"][ends][swept]
    out["levels"] = sided["run_levels"][ends][swept]
    return out


def _options(given: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise TypeError(f"lob.plot: unknown option {unknown[0]!r} (options: {', '.join(OPTIONS)})")
    opts = dict(OPTIONS)
    opts.update(given)
    columns = opts["columns"]
    if not isinstance(columns, (int, np.integer)) or isinstance(columns, bool) or not 1 <= columns <= 100_000:
        raise ValueError(f"columns must be a whole number from 1 to 100,000, got {columns!r}")
    max_rows = opts["max_rows"]
    if not isinstance(max_rows, (int, np.integer)) or isinstance(max_rows, bool) or not 1 <= max_rows <= 100_000:
        raise ValueError(f"max_rows must be a whole number from 1 to 100,000, got {max_rows!r}")
    if opts["clock"] not in ("auto", "midnight", "epoch"):
        raise ValueError(f"clock must be 'auto', 'midnight' or 'epoch', got {opts['clock']!r}")
    if opts["band"] is not None and not (_finite(opts["band"]) and opts["band"] >= 0):
        raise ValueError(f"band must be a price >= 0, got {opts['band']!r}")
    if opts["tick"] is not None and not (isinstance(opts["tick"], (int, np.integer)) and opts["tick"] >= 1):
        raise ValueError(f"tick must be a whole number >= 1 (the events' integer units), got {opts['tick']!r}")
    if opts["price_range"] is not None:
        try:
            low, high = opts["price_range"]
        except (TypeError, ValueError):
            raise ValueError(f"price_range must be (low, high), got {opts['price_range']!r}") from None
        if not (_finite(low) and _finite(high) and low < high):
            raise ValueError(f"price_range must be (low, high) with low < high, got {opts['price_range']!r}")
    if opts["vwap_window_ns"] is not None and not (isinstance(opts["vwap_window_ns"], (int, np.integer))
                                                   and opts["vwap_window_ns"] >= 0):
        raise ValueError(f"vwap_window_ns must be a whole number of ns >= 0, got {opts['vwap_window_ns']!r}")
    for name in ("max_trades", "max_sweeps"):
        if not (isinstance(opts[name], (int, np.integer)) and not isinstance(opts[name], bool) and opts[name] >= 0):
            raise ValueError(f"{name} must be a whole number >= 0, got {opts[name]!r}")
    return opts


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(float(value))


def _events(events: Any) -> npt.NDArray[np.void]:
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        raise TypeError(f"events must be a 1-d NumPy array of lob.EVENT_DTYPE, got "
                        f"{getattr(events, 'dtype', type(events).__name__)!r}")
    if not len(events):
        raise ValueError("events: the stream is empty, nothing to draw")
    return np.ascontiguousarray(events)


def _resting_prices(events: npt.NDArray[np.void], want: int = 1_000_000) -> npt.NDArray[np.int64]:
    """The prices of the first `want` adds, modifies and anonymous levels
    (read a million events at a time: a full day's mask costs more)."""
    parts, found = [], 0
    for lo in range(0, len(events), 1_000_000):
        chunk = events[lo:lo + 1_000_000]
        kinds = chunk["kind"]
        prices = chunk["price"][(kinds == ADD) | (kinds == MODIFY) | (kinds == ANON)]
        parts.append(prices[np.abs(prices) < 1 << 61])
        found += len(parts[-1])
        if found >= want:
            break
    return np.concatenate(parts)[:want] if parts else np.zeros(0, np.int64)


def _tick(prices: npt.NDArray[np.int64]) -> int:
    """The gcd of the differences between resting prices (1 if they show none)."""
    if len(prices) < 2:
        return 1
    steps = np.abs(prices - prices[0])
    steps = steps[steps > 0]
    return int(np.gcd.reduce(steps)) if len(steps) else 1


def _clock_of(ts: int, clock: str) -> str:
    if clock != "auto":
        return clock
    return "epoch" if ts > 3 * _DAY_NS else "midnight"


def bin_session(events: npt.NDArray[np.void], *, book: Optional[OrderBook] = None, price_scale: float = 1.0,
                t0: Optional[int] = None, t1: Optional[int] = None, **options: Any) -> SessionBins:
    """Replay `events` (lob.EVENT_DTYPE) into `book` (a new OrderBook by
    default; pass a seeded one, e.g. from OrderBook.from_depth) and bin the
    window [t0, t1) ns (default: the first event's time to just after the
    last's) for the chart: see SessionBins.  Refused events are skipped and
    counted.  The book ends in its state at t1 (events from t1 on are not
    applied).  Options: see OPTIONS and session()."""
    import time

    opts = _options(options)
    events = _events(events)
    scale = float(price_scale)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"price_scale must be a number > 0, got {price_scale!r}")
    start_clock = book.ts if book is not None else 0
    clock_ts = np.maximum.accumulate(np.maximum(events["ts"], start_clock))
    first, last = int(clock_ts[0]), int(clock_ts[-1])
    t0 = first if t0 is None else int(t0)
    t1 = last + 1 if t1 is None else int(t1)
    if t1 <= t0:
        raise ValueError(f"the window is empty: t0={t0} must be before t1={t1}")
    inside = np.count_nonzero((clock_ts >= t0) & (clock_ts < t1))
    clock = _clock_of(first, opts["clock"])
    if not inside:
        raise ValueError(f"no events between {_clock_text(t0, clock, 3)} and {_clock_text(t1, clock, 3)} "
                         f"(the events span {_clock_text(first, clock, 3)} to {_clock_text(last, clock, 3)})")
    span = t1 - t0
    columns = int(min(opts["columns"], span))
    edges = np.array([t0 + span * k // columns for k in range(columns + 1)], dtype=np.int64)
    window = opts["vwap_window_ns"]
    if book is None:
        if window is None:
            window = 60 * _NS
        book = OrderBook(bool(opts["allow_cross"]), ofi_levels=1, vwap_window_ns=int(window))
    elif window is not None and window != book.vwap_window_ns:
        raise ValueError(f"vwap_window_ns={window} differs from the book's ({book.vwap_window_ns}): the book "
                         f"keeps its own signals' configuration")
    resting = _resting_prices(events)
    tick = int(opts["tick"] or _tick(resting))
    band = int(round(opts["band"] * scale)) if opts["band"] is not None else 25 * tick
    started = time.perf_counter()
    if opts["price_range"] is not None:
        low, high = (int(math.floor(opts["price_range"][0] * scale)), int(math.ceil(opts["price_range"][1] * scale)))
    else:
        _, scan, _, scan_trades, _, _ = replay_bins(copy.deepcopy(book), events, edges)
        low, high = _price_span(scan, events, clock_ts, t0, t1, tick)
        low, high = _with_trades(low - band, high + band, scan_trades["price"], band + tick)
    price_bin = tick * max(1, math.ceil((high - low) / tick / opts["max_rows"]))
    anchor = int(resting[0]) % tick if len(resting) else 0         # rows start on the tick grid
    price_lo = anchor + ((low - anchor) // price_bin) * price_bin
    rows = int((high - price_lo) // price_bin) + 1
    if columns * rows > MAX_CELLS:
        raise ValueError(f"the grid would hold {columns:,} columns x {rows:,} rows = {columns * rows:,} cells, more "
                         f"than {MAX_CELLS:,}: ask for fewer columns or max_rows")
    cells, cols, samples, trades, rejected, applied = replay_bins(book, events, edges, price_lo, price_bin, rows,
                                                                  band)
    seconds = time.perf_counter() - started
    assert cells is not None
    return SessionBins(edges, cells, int(price_lo), int(price_bin), band, tick, cols, samples, trades, rejected,
                       applied, seconds, scale, clock, int(book.vwap_window_ns), book)


def _with_trades(low: int, high: int, prices: npt.NDArray[np.int64], margin: int) -> tuple[int, int]:
    """The price axis widened to the trades, by at most 4 x margin: a print
    far from the book (a stub quote hit, a late report) does not squash the
    chart."""
    if not len(prices):
        return low, high
    return (int(max(min(low, int(prices.min()) - margin // 5), low - 4 * margin)),
            int(min(max(high, int(prices.max()) + margin // 5), high + 4 * margin)))


def _price_span(scan: npt.NDArray[np.void], events: npt.NDArray[np.void], clock_ts: npt.NDArray[np.int64],
                t0: int, t1: int, tick: int) -> tuple[int, int]:
    """The mid's range over the window, from the scan's columns; a few
    columns far from the rest (a stub quote, a one-sided moment) are left
    out.  Without any mid: the window's resting prices."""
    lows, highs = scan["mid_low"], scan["mid_high"]
    held = ~np.isnan(lows)
    if not held.any():
        kinds = events["kind"]
        inside = (clock_ts >= t0) & (clock_ts < t1) & ((kinds == ADD) | (kinds == MODIFY) | (kinds == ANON))
        prices = events["price"][inside]
        if not len(prices):
            raise ValueError("nothing to draw: the book holds no order in the window")
        return int(np.percentile(prices, 1)), int(np.percentile(prices, 99))
    lows, highs = lows[held], highs[held]
    full_low, full_high = float(lows.min()), float(highs.max())
    robust_low, robust_high = float(np.percentile(lows, 1)), float(np.percentile(highs, 99))
    if full_high - full_low > 4 * max(robust_high - robust_low, 20 * tick):
        full_low, full_high = robust_low, robust_high
    return int(math.floor(full_low)), int(math.ceil(full_high))


def _clock_text(ns: int, clock: str, decimals: int = 0) -> str:
    """hh:mm:ss[.fff] of a time in the venue's clock."""
    of_day = ns % _DAY_NS if clock == "epoch" else ns
    negative = of_day < 0
    of_day = abs(of_day)
    seconds, fraction = divmod(of_day, _NS)
    hours, rest = divmod(seconds, 3600)
    text = f"{'-' if negative else ''}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    if decimals:
        text += f".{fraction // 10 ** (9 - decimals):0{decimals}d}"
    return text


def _date_text(ns: int, clock: str) -> str:
    if clock != "epoch":
        return ""
    return datetime.datetime.fromtimestamp(ns // _NS, tz=datetime.timezone.utc).strftime("%Y-%m-%d")


def _time_ticks(t0: int, t1: int, clock: str) -> tuple[list[float], list[str]]:
    """Tick positions (s after t0) at round clock times, with their labels."""
    span_s = (t1 - t0) / _NS
    step = next((s for s in _TICK_STEPS if span_s / s <= 8), _TICK_STEPS[-1])
    while span_s / step > 8:
        step *= 2
    step_ns = int(round(step * _NS))
    origin = t0 - (t0 % _DAY_NS if clock == "epoch" else t0)      # the clock's midnight, in ts
    of_day = t0 - origin
    first = -(-of_day // step_ns) * step_ns
    decimals = 0 if step >= 1 else min(3, int(math.ceil(-math.log10(step))))
    positions, labels = [], []
    tick = first
    while tick + origin < t1:
        positions.append((tick + origin - t0) / _NS)
        labels.append(_clock_text(tick, "midnight", decimals))
        tick += step_ns
    return positions, labels


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("lob.plot needs matplotlib: pip install 'lobcore[plot]'") from None
    return matplotlib, Figure


def session(events: npt.NDArray[np.void], *, book: Optional[OrderBook] = None, price_scale: float = 1.0,
            t0: Optional[int] = None, t1: Optional[int] = None, title: Optional[str] = None,
            own_orders: Optional[npt.NDArray[np.void]] = None, own_fills: Optional[npt.NDArray[np.void]] = None,
            markouts: Optional[Mapping[str, Sequence[tuple[float, float]]]] = None,
            out: Optional[Any] = None, **options: Any) -> "Figure":
    """The session chart of an event stream, as a matplotlib Figure.

    Top: a heat map of the mean resting qty by price and time (log colour
    scale; levels within `band` of the mid), with the best bid and ask, the
    microprice and the rolling VWAP, the trades as dots (area by qty; green
    a buyer lifted the ask, red a seller hit the bid, white a cross without
    aggressor) and the sweeps (one aggressor through 2 or more prices at
    one time) as triangles.  Under it: OFI per column (bars) with the
    time-weighted top-level imbalance, then the cumulative volume delta with
    the VWAP deviation in bps.

    events: lob.EVENT_DTYPE; book: the book to replay into (default a new
    OrderBook; it ends in its state at t1); price_scale: integer price units
    per displayed unit (10,000: LOBSTER and ITCH dollars; 1e9: DBN); t0, t1:
    the window in the events' ns (default: all of it); title: the chart's
    title (default: the symbol and the window).

    own_orders: a structured array with order_id, side, price, qty,
    ts_submit, ts_end: each order's resting span as a segment (ts_end <=
    ts_submit or past t1: to t1).  own_fills: lob.SIM_FILL_DTYPE rows (ts,
    order_id, side, price, qty, liquidity 0 maker / 1 taker, ...): maker
    fills as circles, taker fills as crosses.  markouts: {strategy:
    [(horizon_s, bps), ...]}: a markout panel at the bottom.  out: a file
    name (.png, .svg, .pdf) to save the chart to.

    Options (OPTIONS): columns (1000), band (price units, 25 ticks),
    price_range ((low, high) price units), max_rows (400), tick (the
    events' integer step), symbol, qty_unit ("qty"), clock ("auto",
    "midnight", "epoch"), allow_cross (False), vwap_window_ns (60 s),
    max_trades (20,000), price_unit (""), figsize, dpi.
    """
    _matplotlib()
    opts = _options(options)
    # refuse bad drawing inputs before the replay changes `book`
    if own_orders is not None:
        _own_array(own_orders, OWN_ORDER_FIELDS, "own_orders")
    if own_fills is not None:
        _own_array(own_fills, OWN_FILL_FIELDS, "own_fills")
    if markouts is not None:
        _markouts(markouts)
    binned = bin_session(events, book=book, price_scale=price_scale, t0=t0, t1=t1,
                         **{k: v for k, v in options.items() if k not in DRAW_OPTIONS})
    fig = draw(binned, title=title, own_orders=own_orders, own_fills=own_fills, markouts=markouts,
               symbol=opts["symbol"], qty_unit=opts["qty_unit"], price_unit=opts["price_unit"],
               figsize=opts["figsize"], max_trades=opts["max_trades"], max_sweeps=opts["max_sweeps"])
    if out is not None:
        fig.savefig(out, dpi=opts["dpi"], facecolor="white")
    return fig


def _own_array(array: Any, fields: Sequence[str], name: str) -> npt.NDArray[np.void]:
    if not isinstance(array, np.ndarray) or array.dtype.names is None or array.ndim != 1:
        raise TypeError(f"{name} must be a 1-d structured NumPy array with fields {', '.join(fields)}")
    missing = [f for f in fields if f not in array.dtype.names]
    if missing:
        raise ValueError(f"{name} lacks the field {missing[0]!r} (needs {', '.join(fields)})")
    return array


def _markouts(markouts: Any) -> dict[str, npt.NDArray[np.float64]]:
    if not isinstance(markouts, Mapping):
        raise TypeError("markouts must be a dict {strategy: [(horizon_s, bps), ...]}")
    out = {}
    for name, points in markouts.items():
        try:
            table = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        except (TypeError, ValueError):
            raise ValueError(f"markouts[{name!r}] must be a list of (horizon_s, bps) pairs") from None
        if len(table) and not (np.isfinite(table[:, 0]).all() and (table[:, 0] > 0).all()):
            raise ValueError(f"markouts[{name!r}]: every horizon must be a number of seconds > 0")
        out[str(name)] = table[np.argsort(table[:, 0], kind="stable")]
    return out


def draw(binned: SessionBins, *, title: Optional[str] = None, own_orders: Optional[npt.NDArray[np.void]] = None,
         own_fills: Optional[npt.NDArray[np.void]] = None,
         markouts: Optional[Mapping[str, Sequence[tuple[float, float]]]] = None, symbol: Optional[str] = None,
         qty_unit: str = "qty", price_unit: str = "", figsize: tuple[float, float] = (14.0, 9.5),
         max_trades: int = 3_000, max_sweeps: int = 60) -> "Figure":
    """The session chart (see session()) of what bin_session() measured."""
    matplotlib, Figure = _matplotlib()
    import matplotlib.ticker
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D
    from matplotlib import patheffects

    orders = _own_array(own_orders, OWN_ORDER_FIELDS, "own_orders") if own_orders is not None else None
    fills = _own_array(own_fills, OWN_FILL_FIELDS, "own_fills") if own_fills is not None else None
    marks = _markouts(markouts) if markouts is not None else None
    b = binned
    scale, t0, t1, clock = b.price_scale, b.t0, b.t1, b.clock
    span_s = (t1 - t0) / _NS
    x_edges = (b.edges - t0) / _NS

    if marks:                     # the markout panel gets its own room
        figsize = (figsize[0], figsize[1] + 2.0)
    fig = Figure(figsize=figsize, layout="constrained")
    heights = [5.0, 1.45, 1.45] + ([1.5] if marks else [])
    grid = fig.add_gridspec(len(heights), 2, height_ratios=heights, width_ratios=[60, 1])
    heat = fig.add_subplot(grid[0, 0])
    bar_ax = fig.add_subplot(grid[0, 1])
    flow_ax = fig.add_subplot(grid[1, 0], sharex=heat)
    delta_ax = fig.add_subplot(grid[2, 0], sharex=heat)

    # the heat map: a level price sits in the middle of its row
    cells = b.cells
    positive = cells[cells > 0]
    y_low = (b.price_lo - b.tick / 2) / scale
    y_high = (b.price_lo + b.rows * b.price_bin - b.tick / 2) / scale
    heat.set_facecolor(HEAT_BACKGROUND)
    if len(positive):
        top = float(np.percentile(positive, 99.5))
        top = max(top, float(positive.min()) * 1.0001)
        bottom = max(float(positive.min()), top / 1e3)
        image = heat.imshow(np.ma.masked_less_equal(cells.T, 0.0), origin="lower", aspect="auto",
                            interpolation="nearest", extent=(0.0, span_s, y_low, y_high), cmap=_heat_cmap(),
                            norm=LogNorm(vmin=bottom, vmax=top))
        bar = fig.colorbar(image, cax=bar_ax, extend="both")
        bar.set_label(f"resting {qty_unit} per price (time-weighted mean, log scale)")
        plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 10 else f"{v:g}")
        bar.ax.yaxis.set_major_formatter(plain)
        bar.ax.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(
            lambda v, _: plain(v) if str(int(v))[0] in "25" and v >= 1 else ""))
    else:
        bar_ax.set_axis_off()
        heat.text(0.5, 0.5, "no resting orders in the band", transform=heat.transAxes, ha="center",
                  color="white")

    s = b.samples
    bid = np.where(s["best_bid_qty"] > 0, s["best_bid"] / scale, np.nan)
    ask = np.where(s["best_ask_qty"] > 0, s["best_ask"] / scale, np.nan)
    handles: list[Any] = []
    window = _duration_text(b.vwap_window_ns) if b.vwap_window_ns else "session"
    lines: list[tuple[Any, str, float, Any, bool, str]] = [
        (bid, BID_COLOUR, 1.5, "-", True, "best bid"), (ask, ASK_COLOUR, 1.5, "-", True, "best ask"),
        (s["microprice"] / scale, MICRO_COLOUR, 0.7, "-", False, "microprice"),
        (s["rolling_vwap"] / scale, VWAP_COLOUR, 1.4, "--", True, f"rolling VWAP ({window})")]
    for values, colour, width, style, outline, label in lines:
        effects = [patheffects.Stroke(linewidth=width + 1.5, foreground="black"), patheffects.Normal()]
        heat.plot(x_edges, values, drawstyle="steps-post", color=colour, linewidth=width, linestyle=style,
                  label=label, alpha=1.0 if outline else 0.8, path_effects=effects if outline else None)
        handles.append(Line2D([], [], color=colour, linewidth=max(width, 1.2), linestyle=style, label=label))

    trade_handles, trades_note = _draw_trades(heat, b, max_trades)
    handles += trade_handles
    sweep_handles, sweeps_note = _draw_sweeps(heat, b, LineCollection, max_sweeps)
    handles += sweep_handles
    if orders is not None:
        handles += _draw_own_orders(heat, orders, b, LineCollection)
    if fills is not None:
        handles += _draw_own_fills(heat, fills, b)

    heat.set_xlim(0.0, span_s)
    heat.set_ylim(y_low, y_high)
    heat.ticklabel_format(axis="y", useOffset=False, style="plain")     # prices as they are, no "+1e6"
    heat.set_ylabel(f"price ({price_unit})" if price_unit else "price")
    legend = heat.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.005, 1.0, 0.1),
                         mode="expand", ncol=min(len(handles), 5), fontsize=8, frameon=True, fancybox=False,
                         facecolor=HEAT_BACKGROUND, edgecolor=HEAT_BACKGROUND, labelcolor="white",
                         handletextpad=0.5, columnspacing=1.0, borderaxespad=0.0, framealpha=1.0)
    legend.get_frame().set_linewidth(0.0)
    heat.tick_params(labelbottom=False)
    heat.grid(False)

    _draw_flow(flow_ax, b, x_edges, qty_unit)
    _draw_delta(delta_ax, b, x_edges, qty_unit)
    for ax in (flow_ax, delta_ax):
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    positions, labels = _time_ticks(t0, t1, clock)
    delta_ax.set_xticks(positions, labels)
    date = _date_text(t0, clock)
    delta_ax.set_xlabel(f"time (venue clock{', UTC ' + date if date else ''})")
    flow_ax.tick_params(labelbottom=False)
    if marks:
        _draw_markouts(fig.add_subplot(grid[3, 0]), marks)

    summary = _summary(b, qty_unit, [n for n in (trades_note, sweeps_note) if n])
    name = title or " · ".join(x for x in (
        symbol, f"{date + ' ' if date else ''}{_clock_text(t0, clock, 3 if span_s < 60 else 0)} to "
                f"{_clock_text(t1, clock, 3 if span_s < 60 else 0)}") if x)
    fig.suptitle(f"{name}\n{summary}", fontsize=10.5, x=0.01, ha="left")
    return fig


def _heat_cmap() -> Any:
    import matplotlib
    from matplotlib.colors import ListedColormap

    name, start = HEAT_CMAP
    return ListedColormap(matplotlib.colormaps[name](np.linspace(start, 1.0, 256)), name=f"{name}_from_{start}")


def _duration_text(ns: int) -> str:
    if ns % (60 * _NS) == 0:
        return f"{ns // (60 * _NS)} min"
    if ns >= _NS:
        return f"{ns / _NS:g} s"
    if ns >= 1_000_000:
        return f"{ns / 1e6:g} ms"
    return f"{ns / 1e3:g} us"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _summary(b: SessionBins, qty_unit: str, notes: list[str]) -> str:
    """Two lines under the title: what happened, then how it is drawn."""
    s, t = b.samples, b.trades
    buys = int(t["qty"][t["side"] == 0].sum())
    sells = int(t["qty"][t["side"] == 1].sum())
    crosses = int(t["qty"][t["side"] == 2].sum())
    events = int(b.columns["events"].sum())
    sweeps = len(b.sweeps())
    parts = [_count(events, "event"), _count(len(t), "trade") + f": buyers {buys:,} / sellers {sells:,} {qty_unit}"
             + (f", crosses {crosses:,}" if crosses else ""), _count(sweeps, "sweep")]
    if b.rejected:
        parts.append("refused " + ", ".join(f"{reason} {count:,}" for reason, count in b.rejected.items()))
    rows = f"{b.price_bin / b.price_scale:g}" if b.price_scale != 1 else f"{b.price_bin}"
    drawn = [f"heat map: {len(b.columns):,} columns of {_rough_duration((b.t1 - b.t0) / len(b.columns))}, "
             f"{b.rows:,} rows of {rows}, levels within ±{b.band / b.price_scale:g} of the mid"] + notes
    return " · ".join(parts) + "\n" + " · ".join(drawn)


def _draw_trades(ax: Any, b: SessionBins, max_trades: int) -> tuple[list[Any], str]:
    """The trades as dots (area by qty), or their sums per column, price and
    aggressor when there are more than max_trades."""
    from matplotlib.lines import Line2D

    t = b.trades
    note = ""
    if not len(t):
        return [], note
    x = (t["ts"] - b.t0) / _NS
    price, qty, side = t["price"].astype(np.float64), t["qty"].astype(np.float64), t["side"].astype(np.int64)
    if len(t) > max_trades:
        unique, inverse = _trade_groups(np.searchsorted(b.edges, t["ts"], side="right") - 1, t["price"], side)
        qty = np.bincount(inverse.ravel(), weights=qty, minlength=len(unique)).astype(np.float64)
        centres = (b.edges[:-1] + b.edges[1:]) / 2
        x = (centres[unique[:, 0]] - b.t0) / _NS
        price, side = unique[:, 1].astype(np.float64), unique[:, 2].astype(np.int64)
        note = f"trades summed per column and price ({len(unique):,} dots)"
    # area by qty against the 90th percentile; a crowded window gets smaller dots
    reference = float(np.percentile(qty, 90)) or 1.0
    base = 38.0 * min(1.0, math.sqrt(500.0 / len(qty)))
    area = np.clip(qty / reference, 0.05, 5.0) * max(base, 8.0)
    colours = np.array([BID_COLOUR, ASK_COLOUR, CROSS_COLOUR])[np.clip(side, 0, 2)]
    order = np.argsort(-area, kind="stable")           # large dots below small ones
    ax.scatter(x[order], price[order] / b.price_scale, s=area[order], c=colours[order], edgecolors="black",
               linewidths=0.5, alpha=0.9, zorder=4)
    handles = []
    for code, colour, label in ((0, BID_COLOUR, "buyer-initiated trade"), (1, ASK_COLOUR, "seller-initiated trade"),
                                (2, CROSS_COLOUR, "cross (no aggressor)")):
        if (side == code).any():
            handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor=colour,
                                  markeredgecolor="black", markersize=7, label=label))
    if handles:
        handles[0].set_label(str(handles[0].get_label()) + f" (dot area ~ {'summed ' if note else ''}qty)")
    return handles, note


def _trade_groups(column: npt.NDArray[np.int64], price: npt.NDArray[np.int64], side: npt.NDArray[np.int64]
                  ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """The distinct (column, price, side) of the trades, as (k, 3) rows, and
    each trade's row: one int64 key per trade when the prices span less
    than 2**40 units (a sort of integers, not of rows)."""
    low, high = int(price.min()), int(price.max())
    if high - low < 1 << 40 and int(column.max()) < 1 << 21:
        key = (column.astype(np.int64) << 42) | ((price - low) << 2) | side      # sorts as the rows would
        keys, inverse = np.unique(key, return_inverse=True)
        unique = np.stack([keys >> 42, ((keys >> 2) & ((1 << 40) - 1)) + low, keys & 3], axis=1)
        return unique, inverse
    return np.unique(np.stack([column, price, side], axis=1), axis=0, return_inverse=True)


def _draw_sweeps(ax: Any, b: SessionBins, LineCollection: Any, max_sweeps: int) -> tuple[list[Any], str]:
    """Each sweep as a segment over the prices it went through and a
    triangle at its last price; only the max_sweeps largest when more."""
    from matplotlib.lines import Line2D

    sweeps = b.sweeps()
    if not len(sweeps) or not max_sweeps:
        return [], ""
    note = ""
    if len(sweeps) > max_sweeps:
        note = f"the {max_sweeps} largest of {len(sweeps):,} sweeps marked"
        sweeps = np.sort(sweeps[np.argsort(-sweeps["qty"], kind="stable")[:max_sweeps]], order="ts")
    x = (sweeps["ts"] - b.t0) / _NS
    segments = np.stack([np.stack([x, sweeps["low"] / b.price_scale], axis=1),
                         np.stack([x, sweeps["high"] / b.price_scale], axis=1)], axis=1)
    ax.add_collection(LineCollection(segments, colors=SWEEP_COLOUR, linewidths=2.0, zorder=5))
    for code, marker in ((0, "^"), (1, "v")):
        mine = sweeps["side"] == code
        if mine.any():
            ax.scatter(x[mine], sweeps["last"][mine] / b.price_scale, marker=marker, s=90, c=SWEEP_COLOUR,
                       edgecolors="black", linewidths=0.7, zorder=6)
    label = "sweep: ▲ buyer / ▼ seller through ≥ 2 prices at once" + (" (largest)" if note else "")
    return [Line2D([], [], marker="^", linestyle="-", color=SWEEP_COLOUR, markeredgecolor="black", markersize=8,
                   label=label)], note


def _draw_own_orders(ax: Any, orders: npt.NDArray[np.void], b: SessionBins, LineCollection: Any) -> list[Any]:
    from matplotlib.lines import Line2D

    if not len(orders):
        return []
    start = np.clip(orders["ts_submit"].astype(np.int64), b.t0, b.t1)
    end = orders["ts_end"].astype(np.int64)
    end = np.where((end <= orders["ts_submit"]) | (end > b.t1), b.t1, end)
    end = np.clip(end, b.t0, b.t1)
    y = orders["price"] / b.price_scale
    segments = np.stack([np.stack([(start - b.t0) / _NS, y], axis=1), np.stack([(end - b.t0) / _NS, y], axis=1)],
                        axis=1)
    colours = np.where(orders["side"] == 0, OWN_BUY, OWN_SELL)
    ax.add_collection(LineCollection(segments, colors=list(colours), linewidths=3.0, alpha=0.9, zorder=7,
                                     capstyle="butt"))
    return [Line2D([], [], color=OWN_BUY, linewidth=3, label="own buy order resting"),
            Line2D([], [], color=OWN_SELL, linewidth=3, label="own sell order resting")]


def _draw_own_fills(ax: Any, fills: npt.NDArray[np.void], b: SessionBins) -> list[Any]:
    from matplotlib.lines import Line2D

    if not len(fills):
        return []
    x = (fills["ts"].astype(np.int64) - b.t0) / _NS
    y = fills["price"] / b.price_scale
    colours = np.where(fills["side"] == 0, OWN_BUY, OWN_SELL)
    maker = fills["liquidity"] == 0
    if maker.any():
        ax.scatter(x[maker], y[maker], marker="o", s=90, c=list(colours[maker]), edgecolors="white", linewidths=1.5,
                   zorder=8)
    if (~maker).any():
        ax.scatter(x[~maker], y[~maker], marker="X", s=110, c=list(colours[~maker]), edgecolors="white",
                   linewidths=1.0, zorder=8)
    return [Line2D([], [], marker="o", linestyle="", markerfacecolor="#888888", markeredgecolor="white",
                   markersize=9, label="own fill, maker (passive)"),
            Line2D([], [], marker="X", linestyle="", markerfacecolor="#888888", markeredgecolor="white",
                   markersize=9, label="own fill, taker")]


def _draw_flow(ax: Any, b: SessionBins, x_edges: npt.NDArray[np.float64], qty_unit: str) -> None:
    """OFI as green / red bars and the top-level imbalance (time-weighted)
    as a line, both over bars of columns (at most OFI_BARS)."""
    ofi = np.diff(b.samples["ofi"].astype(np.float64))
    group = max(1, -(-len(ofi) // OFI_BARS))
    starts = np.arange(0, len(ofi), group)
    bars = np.add.reduceat(ofi, starts)
    bar_edges = np.r_[x_edges[starts], x_edges[-1]]
    ax.stairs(np.where(bars > 0, bars, 0.0), bar_edges, fill=True, color=BID_COLOUR, baseline=0.0)
    ax.stairs(np.where(bars < 0, bars, 0.0), bar_edges, fill=True, color=ASK_COLOUR, baseline=0.0)
    ax.axhline(0.0, color="#444444", linewidth=0.6)
    ax.set_ylabel(f"OFI ({qty_unit})\nper {_rough_duration((bar_edges[1] - bar_edges[0]) * _NS)}", fontsize=9)
    # a few huge bars (a snapshot at the open) would flatten the rest: they run off the axis
    limit = float(np.percentile(np.abs(bars), 99)) * 1.3 if np.any(bars) else 1.0
    ax.set_ylim(-(limit or 1.0), limit or 1.0)
    imbalance = b.columns["imbalance"]
    held = np.add.reduceat(np.where(np.isnan(imbalance), 0.0, 1.0), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.add.reduceat(np.nan_to_num(imbalance), starts) / held
    right = ax.twinx()
    right.stairs(np.where(held > 0, mean, np.nan), bar_edges, color=IMBALANCE_COLOUR, linewidth=1.2)
    right.set_ylim(-1.05, 1.05)
    right.set_ylabel("imbalance\n(bid-ask)/(bid+ask)", fontsize=9, color=IMBALANCE_COLOUR)
    right.tick_params(axis="y", colors=IMBALANCE_COLOUR)
    ax.set_title("order-flow imbalance (bars: green buying pressure, red selling) · top-of-book imbalance, "
                 "time-weighted (blue, right axis)", loc="left", fontsize=8, pad=2)


def _rough_duration(ns: float) -> str:
    """A duration in 2 significant digits and a fitting unit: "23 s", "2.7 min"."""
    for unit, size in (("h", 3600e9), ("min", 60e9), ("s", 1e9), ("ms", 1e6), ("us", 1e3), ("ns", 1.0)):
        if ns >= (2 if size >= 60e9 else 1) * size or unit == "ns":
            return f"{float(f'{ns / size:.2g}'):g} {unit}"
    raise AssertionError("unreachable")


def _draw_delta(ax: Any, b: SessionBins, x_edges: npt.NDArray[np.float64], qty_unit: str) -> None:
    """Cumulative volume delta since t0, the VWAP deviation (bps) on the right axis."""
    delta = (b.samples["volume_delta"] - b.opening_volume_delta()).astype(np.float64)
    ax.plot(x_edges, delta, drawstyle="steps-post", color="#222222", linewidth=1.2)
    ax.fill_between(x_edges, delta, 0.0, step="post", where=delta >= 0, color=BID_COLOUR, alpha=0.25,
                    interpolate=False)
    ax.fill_between(x_edges, delta, 0.0, step="post", where=delta <= 0, color=ASK_COLOUR, alpha=0.25,
                    interpolate=False)
    ax.axhline(0.0, color="#444444", linewidth=0.6)
    ax.set_ylabel(f"volume delta\n({qty_unit}, cumulative)", fontsize=9)
    right = ax.twinx()
    right.plot(x_edges, b.samples["vwap_deviation_bps"], drawstyle="steps-post", color="#d9480f", linewidth=0.9,
               linestyle="--", alpha=0.8)
    right.set_ylabel("mid vs VWAP\n(bps)", fontsize=9, color="#d9480f")
    right.tick_params(axis="y", colors="#d9480f")
    ax.set_title("cumulative volume delta, buyers minus sellers (black) · mid minus rolling VWAP in bps "
                 "(orange dashed, right axis)", loc="left", fontsize=8, pad=2)


def _draw_markouts(ax: Any, marks: dict[str, npt.NDArray[np.float64]]) -> None:
    """One line per strategy: markout (bps) against the horizon."""
    import matplotlib.ticker

    horizons = np.concatenate([m[:, 0] for m in marks.values()]) if marks else np.zeros(0)
    for name, table in marks.items():
        ax.plot(table[:, 0], table[:, 1], marker="o", linewidth=1.4, label=name)
    ax.axhline(0.0, color="#444444", linewidth=0.6)
    if len(horizons) and horizons.max() / horizons.min() >= 10:
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    if len(horizons):
        steps = np.unique(horizons)
        ax.set_xticks(steps, [f"{h:g} s" for h in steps])
    ax.set_xlabel("horizon after the fills (s)")
    ax.set_ylabel("markout (bps,\n+ good for us)", fontsize=9)
    ax.legend(fontsize=8, loc="best")
    ax.grid(True, alpha=0.3)
