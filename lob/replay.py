"""Replaying an event stream through a book in chunks: progress, signal
statistics, rejected events by reason, feature rows streamed to a file.  The
engine of `lob replay` and `lob demo`."""
from __future__ import annotations

import errno
import math
import os
import shutil
import sys
import time
import warnings
from types import TracebackType
from typing import Any, NamedTuple, Optional, Union

import numpy as np
import numpy.typing as npt

from lob import OrderBook
from lob.dtypes import feature_dtype

__all__ = ["RunningStats", "Replay", "replay", "PriceUnit", "price_unit", "FeatureWriter", "save_features",
           "FEATURE_SUFFIXES"]

CHUNK = 1 << 16
#: FeatureWriter warns before writing a file larger than this (bytes).
LARGE_FEATURES = 1 << 30
#: The feature file formats, by file name suffix.
FEATURE_SUFFIXES = (".npy", ".parquet")

PathLike = Union[str, "os.PathLike[str]"]


class PriceUnit(NamedTuple):
    """How a summary shows a source's integer prices: ``price / scale`` with
    ``decimals`` digits, and a note naming the unit (feature rows keep the
    integers)."""

    note: str
    scale: int = 1
    decimals: int = 0

    def show(self, price: Optional[float], extra: int = 0) -> str:
        """One price (an integer of the source, or a float such as a mid) in
        this unit, with `extra` more decimals (a mid can fall between ticks)."""
        if price is None or (isinstance(price, float) and math.isnan(price)):
            return "-"
        if self.scale == 1:
            return f"{price}" if isinstance(price, (int, np.integer)) else f"{price:.{extra}f}"
        return f"{price / self.scale:.{self.decimals + extra}f}"


#: The summary's default: integers shown as they are (lob.synth streams have no unit).
RAW_PRICES = PriceUnit("")


def price_unit(prices: npt.ArrayLike, scale: int, note: str) -> PriceUnit:
    """The PriceUnit of a source whose integer prices are ``scale`` units of
    the instrument's price (ITCH and LOBSTER: 10,000 a dollar; DBN: 1e9).
    Decimals: the fewest that show every price in ``prices`` exactly (a penny
    stock's 1e-4 prices need 2, an ES future's 1e-9 prices 2)."""
    values = np.asarray(prices, dtype=np.int64)
    values = np.abs(values[(values != 0) & (np.abs(values) < 1 << 62)])   # DBN's undefined price is INT64_MAX
    exponent = round(math.log10(scale)) if scale > 1 else 0
    common = int(np.gcd.reduce(values)) if len(values) else 10 ** exponent
    decimals = exponent
    while decimals > 0 and common % 10 ** (exponent - decimals + 1) == 0:
        decimals -= 1
    return PriceUnit(note, scale, decimals)


class RunningStats:
    """Mean, std, min and max of a float stream, chunk by chunk (nan skipped)."""

    def __init__(self, name: str, scale: float = 1.0) -> None:
        self.name, self.n, self.total, self.squares = name, 0, 0.0, 0.0
        self.scale = scale          # the summary divides by it (a price's unit)
        self.low, self.high = math.inf, -math.inf

    def update(self, values: npt.NDArray[Any]) -> None:
        """Fold one chunk of values in."""
        values = values[np.isfinite(values)]
        if len(values):
            self.n += len(values)
            self.total += float(values.sum())
            self.squares += float((values * values).sum())
            self.low = min(self.low, float(values.min()))
            self.high = max(self.high, float(values.max()))

    def __str__(self) -> str:
        if not self.n:
            return f"  {self.name:<13} (undefined throughout)"
        mean = self.total / self.n
        std = math.sqrt(max(self.squares / self.n - mean * mean, 0.0))
        s = self.scale
        return (f"  {self.name:<13} mean {mean / s:14.4f}  std {std / s:12.4f}  "
                f"min {self.low / s:14.4f}  max {self.high / s:14.4f}")


class Replay:
    """What replay() measured: the book, events, seconds (in OrderBook.apply
    alone), statistics, rejected events by reason, and the unit its summary
    shows prices in."""

    def __init__(self, book: OrderBook, events: int, seconds: float, stats: list[RunningStats],
                 rejected: dict[str, int], depth: int = 0, unit: PriceUnit = RAW_PRICES, signals: bool = False) -> None:
        self.book, self.events, self.seconds, self.stats, self.rejected = book, events, seconds, stats, rejected
        self.depth, self.unit, self.signals = depth, unit, signals

    def summary(self, title: str, unit: Optional[PriceUnit] = None) -> str:
        """The lines `lob replay` prints: events and speed, the final book, the
        signal statistics, trade flow and refused events; prices in `unit`
        (default: the one given to replay())."""
        unit = self.unit if unit is None else unit
        book, n = self.book, max(self.events, 1)
        rows = f"a feature row with {self.depth} levels a side" if self.depth else "a feature row"
        lines = [title,
                 f"  events        {self.events:,} in {self.seconds:.3f} s: {self.events / max(self.seconds, 1e-12):,.0f} "
                 f"events/s, {self.seconds / n * 1e9:.0f} ns/event in OrderBook.apply (batches of {CHUNK:,}, {rows} "
                 f"after every event)",
                 f"  final book    {len(book):,} orders, {book.level_count(0)} bid / {book.level_count(1)} ask levels",
                 f"  top of book   bid {unit.show(book.best_bid)} x {book.best_bid_qty}   ask "
                 f"{unit.show(book.best_ask)} x {book.best_ask_qty}   spread {unit.show(book.spread)}   "
                 f"mid {unit.show(book.mid, 1)}"]
        if unit.note:
            lines.append(f"  prices        {unit.note}")
        for stats in self.stats:
            stats.scale = unit.scale if stats.name == "microprice" else 1.0
            lines.append(str(stats))
        vwap = book.vwap
        lines.append(f"  trade flow    {book.trade_count:,} trades, buy {book.buy_volume:,} / sell {book.sell_volume:,}, "
                     f"vwap {unit.show(vwap, 4 if unit.scale == 1 else 2)}"
                     if not math.isnan(vwap) else "  trade flow    no trades")
        if self.signals:
            rv, dev = book.rolling_vwap, book.vwap_deviation_bps
            window = f"{book.vwap_window_ns / 1e9:g} s" if book.vwap_window_ns else "session"
            lines.append(f"  signals       ofi {book.ofi:,} (levels {', '.join(f'{v:,}' for v in book.ofi_levels())}), "
                         f"trade imbalance {book.trade_imbalance:.4f}, sweeps {book.sweeps:,}, "
                         f"rolling vwap ({window}) {unit.show(rv, 4 if unit.scale == 1 else 2) if rv == rv else 'none'}"
                         f", deviation {dev:.2f} bps, absorbed bid {book.absorbed_bid:,} / ask {book.absorbed_ask:,}")
        if self.rejected:
            lines.append("  rejected      " + ", ".join(f"{reason} {count:,}" for reason, count in
                                                      sorted(self.rejected.items(), key=lambda kv: -kv[1])))
        else:
            lines.append("  rejected      none")
        return "\n".join(lines)


class FeatureWriter:
    """Feature rows to a .npy or .parquet file, chunk by chunk, so a long
    replay never holds its rows in memory.

    rows: how many rows will come (a .npy header states its shape first).
    symbols: add a leading ``symbol`` column (one file for many stocks).
    The file is complete only after close() (or the end of a `with` block);
    a writer that ends by an exception or short of ``rows`` removes it, so
    a failed run leaves no half-written file.
    """

    def __init__(self, path: PathLike, depth: int, rows: int, *, symbols: bool = False, signals: bool = False,
                 ofi_levels: int = 1) -> None:
        self.path = os.fspath(path)
        if not self.path.endswith(FEATURE_SUFFIXES):
            raise ValueError(f"{self.path}: a features file must end in .npy or .parquet")
        self.rows, self.written = int(rows), 0
        self.row_dtype = feature_dtype(depth, signals, ofi_levels)
        fields = self.row_dtype.descr
        self.dtype = np.dtype(([("symbol", "S8")] if symbols else []) + fields)
        self.symbols = symbols
        self._check_room()
        self._parquet: Any = None
        if self.path.endswith(".parquet"):
            pa, pq = _pyarrow()
            self._pa = pa
            self._parquet = pq.ParquetWriter(self.path, self._schema(pa))
            self._file = None
        else:
            self._file = open(self.path, "wb")
            header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                      "shape": (self.rows,)}
            try:
                np.lib.format.write_array_header_1_0(self._file, header)
            except ValueError:                  # a header past 64 KiB (a very deep row)
                self._file.seek(0)
                self._file.truncate()
                np.lib.format.write_array_header_2_0(self._file, header)

    def _check_room(self) -> None:
        # before the first byte: a file that cannot fit is refused, a large one announced
        row = self.dtype.itemsize
        size, what = self.rows * row, f"{self.rows:,} rows x {row:,} bytes"
        free = shutil.disk_usage(os.path.dirname(os.path.abspath(self.path))).free
        if size > free:
            raise OSError(errno.ENOSPC, f"the features need {size / 1e9:,.1f} GB ({what}) and "
                                        f"{free / 1e9:,.1f} GB is free", self.path)
        if size > LARGE_FEATURES:
            warnings.warn(f"{self.path}: the features file will take {size / 1e9:,.1f} GB ({what})",
                          stacklevel=3)

    def _schema(self, pa: Any) -> Any:
        fields = [pa.field("symbol", pa.string())] if self.symbols else []
        for name in self.row_dtype.names or ():
            kind = self.row_dtype[name]
            base = pa.float64() if kind.base.kind == "f" else (pa.int32() if kind.base.itemsize == 4 else pa.int64())
            fields.append(pa.field(name, pa.list_(base) if kind.shape else base))
        return pa.schema(fields)

    def write(self, rows: npt.NDArray[np.void], symbol: Optional[str] = None) -> None:
        """Append feature rows (lob.feature_dtype(depth)); ``symbol`` names
        their stock when the file has a symbol column."""
        if self.written + len(rows) > self.rows:
            raise ValueError(f"{self.path}: more feature rows than the {self.rows:,} announced")
        if self._parquet is not None:
            pa = self._pa
            columns: dict[str, Any] = {}
            if self.symbols:
                columns["symbol"] = pa.array([symbol or ""] * len(rows), type=pa.string())
            for name in rows.dtype.names or ():
                column = rows[name]
                if column.ndim > 1:
                    offsets = np.arange(0, column.size + 1, column.shape[1], dtype=np.int32)
                    columns[name] = pa.ListArray.from_arrays(pa.array(offsets), pa.array(column.ravel()))
                else:
                    columns[name] = pa.array(column)
            self._parquet.write_table(pa.table(columns, schema=self._parquet.schema))
        else:
            assert self._file is not None
            if self.symbols:
                out = np.empty(len(rows), dtype=self.dtype)
                out["symbol"] = (symbol or "").encode()
                for name in rows.dtype.names or ():
                    out[name] = rows[name]
                self._file.write(out.tobytes())
            else:
                self._file.write(np.ascontiguousarray(rows).astype(self.dtype, copy=False).tobytes())
        self.written += len(rows)

    def close(self) -> None:
        """Finish the file; short of the announced rows, remove it and raise."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.written != self.rows:
            self.discard()
            raise ValueError(f"{self.path}: {self.written:,} feature rows written, {self.rows:,} announced")

    def discard(self) -> None:
        """Close and remove the file (a failed run)."""
        try:
            if self._parquet is not None:
                self._parquet.close()
            if self._file is not None:
                self._file.close()
        finally:
            self._parquet = self._file = None
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> "FeatureWriter":
        return self

    def __exit__(self, kind: Optional[type[BaseException]], value: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        if kind is None:
            self.close()
        else:
            self.discard()


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa  # type: ignore[import-untyped,import-not-found,unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        raise ImportError("writing .parquet needs pyarrow: pip install pyarrow (or write .npy)") from None
    return pa, pq


def replay(events: npt.NDArray[np.void], book: Optional[OrderBook] = None, *, depth: int = 0,
           signals: bool = False, features_path: Optional[PathLike] = None, progress: Optional[bool] = None,
           features: Optional[FeatureWriter] = None, symbol: Optional[str] = None,
           unit: PriceUnit = RAW_PRICES) -> Replay:
    """Apply `events` (lob.EVENT_DTYPE) to `book` (a new OrderBook by default)
    in batches, skipping and counting refused events, folding microprice,
    imbalance and volume delta into statistics, and optionally writing every
    feature row (lob.feature_dtype(depth, signals, the book's ofi_levels):
    with signals=True every signal of the contract) to a .npy or .parquet file
    (`features_path`), or to an open FeatureWriter (`features`, rows tagged
    with `symbol` when it has a symbol column).  Rows stream to the file
    chunk by chunk; the book's prices stay the events' integers.
    progress: True/False, or None for "when stderr is a terminal and the
    stream is long".  unit: how the summary shows prices."""
    book = OrderBook() if book is None else book
    n = len(events)
    if progress is None:
        progress = sys.stderr.isatty() and n > 4 * CHUNK
    ofi_levels = len(book.ofi_levels())
    buffer = np.empty(min(CHUNK, max(n, 1)), dtype=feature_dtype(depth, signals, ofi_levels))
    stats = [RunningStats("microprice"), RunningStats("imbalance"), RunningStats("volume delta")]
    rejected: dict[str, int] = {}
    own = (FeatureWriter(features_path, depth, n, signals=signals, ofi_levels=ofi_levels)
           if features_path is not None and features is None else None)
    writer = own if own is not None else features
    seconds = 0.0
    try:
        for lo in range(0, n, CHUNK):
            start = time.perf_counter()
            rows = book.apply(events[lo:lo + CHUNK], depth=depth, on_error="skip", out=buffer, signals=signals)
            seconds += time.perf_counter() - start
            assert rows is not None                 # record=True returns the rows
            for reason, count in book.last_rejected.items():
                rejected[reason] = rejected.get(reason, 0) + count
            stats[0].update(rows["microprice"])
            stats[1].update(rows["imbalance"])
            stats[2].update(rows["volume_delta"].astype(float))
            if writer is not None:
                writer.write(rows, symbol)
            if progress:
                done = min(lo + CHUNK, n)
                bar = "#" * int(30 * done / n)
                print(f"\r  [{bar:<30}] {done:,}/{n:,} events", end="", file=sys.stderr, flush=True)
    except BaseException:
        if own is not None:
            own.discard()
        raise
    if progress:
        print(file=sys.stderr)
    if own is not None:
        own.close()
    return Replay(book, n, seconds, stats, rejected, depth, unit, signals)


def save_features(features: npt.NDArray[np.void], path: PathLike) -> None:
    """Write feature rows to .npy (NumPy) or .parquet (needs pyarrow; depth
    arrays become list columns)."""
    names = features.dtype.names or ()
    depth = features.dtype["bid_qty"].shape[0] if "bid_qty" in names else 0
    ofi_levels = features.dtype["ofi_levels"].shape[0] if "ofi_levels" in names else 1
    with FeatureWriter(path, depth, len(features), signals="ofi" in names, ofi_levels=ofi_levels) as writer:
        writer.write(features)
