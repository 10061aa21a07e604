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

__all__ = ["RunningStats", "Replay", "Replayer", "replay", "PriceUnit", "price_unit", "price_gcd",
           "price_unit_of_gcd", "FeatureWriter", "save_features", "FEATURE_SUFFIXES", "BookConfig", "detect_format",
           "check_input", "replay_lobster_file", "LobsterRun", "replay_itch_stocks", "ItchRun", "itch_event_counts",
           "replay_dbn_file", "replay_path"]

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
    return price_unit_of_gcd(price_gcd(prices), scale, note)


def price_gcd(prices: npt.ArrayLike, common: int = 0) -> int:
    """The greatest common divisor of the defined, non-zero prices, folded
    into `common` (0: none yet), so a stream can be measured chunk by chunk."""
    values = np.asarray(prices, dtype=np.int64)
    values = np.abs(values[(values != 0) & (np.abs(values) < 1 << 62)])   # DBN's undefined price is INT64_MAX
    return math.gcd(common, int(np.gcd.reduce(values))) if len(values) else common


def price_unit_of_gcd(common: int, scale: int, note: str) -> PriceUnit:
    """price_unit() from the prices' gcd (price_gcd; 0 when there were none)."""
    exponent = round(math.log10(scale)) if scale > 1 else 0
    common = common or 10 ** exponent
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


class Replayer:
    """A replay fed chunk by chunk (what replay() does for one array): each
    feed() applies its events to the book in batches of CHUNK, skipping and
    counting refused events, folding the statistics and writing the feature
    rows to `features` (rows tagged with `symbol` when it has a symbol
    column); finish() returns the Replay.  Memory: one batch of rows (`out`,
    which several replayers may share: rows leave it before the next batch).
    The rows do not depend on how the stream is cut into feeds."""

    def __init__(self, book: Optional[OrderBook] = None, *, depth: int = 0, signals: bool = False,
                 features: Optional[FeatureWriter] = None, symbol: Optional[str] = None,
                 out: Optional[npt.NDArray[np.void]] = None) -> None:
        self.book = OrderBook() if book is None else book
        self.depth, self.signals, self.features, self.symbol = depth, signals, features, symbol
        self.row_dtype = feature_dtype(depth, signals, len(self.book.ofi_levels()))
        if out is not None and out.dtype != self.row_dtype:
            raise ValueError(f"out= has dtype {out.dtype}, the rows are {self.row_dtype}")
        self.out = out
        self.events, self.seconds = 0, 0.0
        self.stats = [RunningStats("microprice"), RunningStats("imbalance"), RunningStats("volume delta")]
        self.rejected: dict[str, int] = {}

    def feed(self, events: npt.NDArray[np.void]) -> None:
        """Apply the next events (lob.EVENT_DTYPE) and write their rows."""
        n = len(events)
        if self.out is None or len(self.out) < min(n, CHUNK):
            self.out = np.empty(min(CHUNK, max(n, 1)), dtype=self.row_dtype)
        book, writer = self.book, self.features
        for lo in range(0, n, CHUNK):
            start = time.perf_counter()
            rows = book.apply(events[lo:lo + CHUNK], depth=self.depth, on_error="skip", out=self.out,
                              signals=self.signals)
            self.seconds += time.perf_counter() - start
            assert rows is not None                 # record=True returns the rows
            for reason, count in book.last_rejected.items():
                self.rejected[reason] = self.rejected.get(reason, 0) + count
            self.stats[0].update(rows["microprice"])
            self.stats[1].update(rows["imbalance"])
            self.stats[2].update(rows["volume_delta"].astype(float))
            if writer is not None:
                writer.write(rows, self.symbol)
        self.events += n

    def finish(self, unit: PriceUnit = RAW_PRICES) -> Replay:
        """The Replay so far (the writer stays the caller's to close)."""
        return Replay(self.book, self.events, self.seconds, self.stats, self.rejected, self.depth, unit,
                      self.signals)


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
    own = (FeatureWriter(features_path, depth, n, signals=signals, ofi_levels=ofi_levels)
           if features_path is not None and features is None else None)
    replayer = Replayer(book, depth=depth, signals=signals, features=own if own is not None else features,
                        symbol=symbol)
    try:
        for lo in range(0, n, CHUNK):
            replayer.feed(events[lo:lo + CHUNK])
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
    return replayer.finish(unit)


def save_features(features: npt.NDArray[np.void], path: PathLike) -> None:
    """Write feature rows to .npy (NumPy) or .parquet (needs pyarrow; depth
    arrays become list columns)."""
    names = features.dtype.names or ()
    depth = features.dtype["bid_qty"].shape[0] if "bid_qty" in names else 0
    ofi_levels = features.dtype["ofi_levels"].shape[0] if "ofi_levels" in names else 1
    with FeatureWriter(path, depth, len(features), signals="ofi" in names, ofi_levels=ofi_levels) as writer:
        writer.write(features)


# ---- one exchange file (or some of its stocks) through the book: the work of `lob replay` ----

#: The formats a replay reads, as messages name them.
FORMAT_NAMES = {"itch": "ITCH 5.0 binary", "lobster": "LOBSTER CSV text", "dbn": "Databento DBN"}
#: The integer price unit of each exchange format: units per instrument price unit, and the note.
ITCH_PRICES = (10_000, "dollars (ITCH prices / 10,000; feature files keep ITCH's integers)")
LOBSTER_PRICES = (10_000, "dollars (LOBSTER prices / 10,000; feature files keep LOBSTER's integers)")
DBN_PRICES = (1_000_000_000, "the instrument's units (DBN prices / 1e9; feature files keep DBN's integers)")
#: A replay of many ITCH stocks at once holds at most this many events waiting for a full batch
#: (34 bytes each): past it, the stocks with the most waiting replay what they have.
PENDING_EVENTS = 1 << 22


class BookConfig(NamedTuple):
    """The signals' configuration of the books a file replay makes (lob.OrderBook's
    keywords); the defaults are those of `lob replay`."""

    ofi_levels: int = 5
    vwap_window_ns: int = 60_000_000_000
    halflife_ns: int = 10_000_000_000

    def new_book(self, allow_cross: bool = False) -> OrderBook:
        """A book with this configuration."""
        return OrderBook(allow_cross, ofi_levels=self.ofi_levels, vwap_window_ns=self.vwap_window_ns,
                         halflife_ns=self.halflife_ns)


def check_input(path: PathLike) -> None:
    """Refuse what no reader can open: missing, a folder, not a regular file, empty."""
    from lob.errors import error

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "no such file", path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "is a folder, not a file", path)
    if not os.path.isfile(path):
        raise error(20, source=path, detail="not a regular file")
    if os.path.getsize(path) == 0:
        raise error(28, source=path, detail="the file is empty (0 bytes)")


def _guess_format(path: PathLike) -> str:
    name = os.fspath(path).lower()
    if name.endswith(".csv"):
        return "lobster"
    if name.endswith((".dbn", ".dbn.zst", ".zst")):
        return "dbn"
    return "itch"


def _sniff(path: PathLike) -> Optional[str]:
    """The format the first bytes show ("itch", "lobster", "dbn"), or None
    when they show none of them clearly."""
    from lob.io.itch import MESSAGE_LENGTHS

    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:4] == b"\x28\xb5\x2f\xfd" or head[:3] == b"DBN":     # zstd frame, DBN magic
        return "dbn"
    if head[:2] == b"\x1f\x8b":                                  # gzip: ITCH files ship gzipped
        return "itch"
    if len(head) >= 3:
        kind = chr(head[2])
        if MESSAGE_LENGTHS.get(kind) == int.from_bytes(head[:2], "big"):
            return "itch"
    text = head.split(b"\n")[0]
    if text and b"," in text and all(c in b"0123456789.,-+eE \r\t" for c in text):
        return "lobster"
    return None


def _check_text(path: PathLike) -> None:
    """Refuse binary data where CSV text is expected, at its first byte."""
    from lob.errors import error

    with open(path, "rb") as f:
        head = f.read(1 << 16)
    binary = next((i for i, c in enumerate(head) if c < 32 and c not in b"\r\n\t" or c > 126), None)
    if binary is not None:
        raise error(20, source=os.fspath(path), offset=binary,
                    detail=f"binary data (byte 0x{head[binary]:02x}) where LOBSTER CSV text is expected")


def detect_format(path: PathLike, format: Optional[str] = None) -> str:
    """The format of an exchange file: "lobster", "itch" or "dbn", from its
    first bytes, else its name.  A `format` the first bytes contradict, a
    missing, empty or non-regular file, and binary data in a LOBSTER file
    are refused (OSError, lob.errors.ParseError naming the file)."""
    from lob.errors import error

    check_input(path)
    if format is not None and format not in FORMAT_NAMES:
        raise ValueError(f"format must be one of {', '.join(FORMAT_NAMES)}, got {format!r}")
    sniffed = _sniff(path)
    if format and sniffed and sniffed != format:
        raise error(20, source=os.fspath(path), line=1 if format == "lobster" else None,
                    offset=None if format == "lobster" else 0,
                    detail=f"not {FORMAT_NAMES[format]}: the file starts like {FORMAT_NAMES[sniffed]} "
                           f"(--format {sniffed}, or leave --format out)")
    fmt = format or sniffed or _guess_format(path)
    if fmt == "lobster":
        _check_text(path)
    return fmt


class LobsterRun(NamedTuple):
    """What replay_lobster_file did: the replay, the stream it replayed, the
    touch rates (None unless measured), seconds reading, the orderbook file
    it was seeded from (None: the messages alone), the sibling orderbook file
    measured against when alone, and whether the messages alone were asked for."""

    replay: Replay
    stream: Any
    touch: Any
    read_s: float
    orderbook: Any
    sibling: Any
    alone: bool


def replay_lobster_file(path: PathLike, *, orderbook: Optional[PathLike] = None, depth: int = 0,
                        signals: bool = False, features: Optional[PathLike] = None,
                        config: BookConfig = BookConfig(), measure: bool = True) -> LobsterRun:
    """Replay a LOBSTER message file as `lob replay` does.  orderbook: the
    orderbook file to seed from (None: the sibling ``_orderbook_`` file when
    there is one; "none": the message file alone, repaired where it proves
    the book stale).  features: a .npy / .parquet file for every feature row.
    measure: also the touch rates against the orderbook file (what `lob
    replay` prints; they do not change the rows)."""
    import pathlib

    import lob.io

    path = pathlib.Path(os.fspath(path))
    named = os.fspath(orderbook) if orderbook is not None else None
    alone = named is not None and named.lower() == "none"
    book_file = None
    if not alone:
        book_file = pathlib.Path(named) if named else path.with_name(path.name.replace("_message_", "_orderbook_"))
        if book_file == path or (not named and not book_file.exists()):
            book_file = None
    start = time.perf_counter()
    # messages alone beside their orderbook file: measure against it
    sibling = path.with_name(path.name.replace("_message_", "_orderbook_")) if book_file is None else None
    if sibling is not None and (sibling == path or not sibling.exists()):
        sibling = None
    stream = lob.io.read_lobster_stream(path, book_file)
    touch = lob.io.lobster_touch_rate(stream, book_file if book_file is not None else sibling) if measure else None
    read_s = time.perf_counter() - start
    result = replay(stream.events, config.new_book(), depth=depth, signals=signals, features_path=features,
                    unit=price_unit(stream.events["price"], *LOBSTER_PRICES))
    return LobsterRun(result, stream, touch, read_s, book_file, sibling, alone)


def itch_event_counts(path: PathLike, symbols: Optional[Any] = None) -> tuple[dict[str, int], Any]:
    """One streaming pass over an ITCH 5.0 file: {symbol: book events} of every
    stock with order events (read_itch's names: '#<locate>' without a
    directory message), or only of `symbols`; and the ItchParser (directory,
    counts).  Memory: one chunk of the file."""
    from lob.io.itch import ItchParser, iter_itch

    parser = ItchParser(source=os.fsdecode(path))
    wanted = None if symbols is None else set(symbols)
    counts: dict[str, int] = {}
    for _, locates in iter_itch(path, parser=parser):
        if len(locates) == 0:
            continue
        per_locate = np.bincount(locates, minlength=1)
        for locate in np.flatnonzero(per_locate).tolist():
            name = parser.directory.get(locate, f"#{locate}")
            if wanted is None or name in wanted:
                counts[name] = counts.get(name, 0) + int(per_locate[locate])
    return counts, parser


class ItchRun(NamedTuple):
    """What replay_itch_stocks did: the parser (directory, message counts),
    seconds in the parser (reading and decoding the file), the file's size
    in bytes, a Replay per stock with order events, and per stock the
    seconds its replay took (applying and writing its rows)."""

    parser: Any
    parse_s: float
    size: int
    replays: dict[str, Replay]
    seconds: dict[str, float]


def replay_itch_stocks(path: PathLike, symbols: Optional[Any] = None, *, depth: int = 0, signals: bool = False,
                       features: Optional[dict[str, PathLike]] = None, rows: Optional[dict[str, int]] = None,
                       config: BookConfig = BookConfig(), allow_cross: bool = False,
                       chunk_size: int = 1 << 24) -> ItchRun:
    """Replay the stocks of an ITCH 5.0 file (plain or gzip) in one streaming
    pass, each in its own book (`lob replay FILE --symbol S` for each S):
    `symbols` (None: every stock with order events).  features: {symbol:
    .npy / .parquet path} gets that stock's feature rows, equal to `lob
    replay FILE --symbol S --features PATH`; rows: {symbol: events} as
    itch_event_counts returns (a feature file announces its rows; without
    it a first pass counts them).  Memory: one chunk of the file
    (`chunk_size` bytes) and at most PENDING_EVENTS events waiting for a
    full batch, whatever the file's size.
    A file with no ITCH message is refused (ParseError); a stock without
    order events has no Replay and no file.  On an error every feature file
    of the run is removed."""
    from lob.errors import error
    from lob.io.itch import ItchParser, iter_itch

    source = os.fsdecode(path)
    wanted = None if symbols is None else set(symbols)
    targets = dict(features or {})
    if wanted is not None and set(targets) - wanted:
        raise ValueError(f"features for stocks not replayed: {sorted(set(targets) - wanted)}")
    if targets and rows is None:
        rows, _ = itch_event_counts(path, targets)
    parser = ItchParser(source=source)
    replayers: dict[str, Replayer] = {}
    writers: dict[str, FeatureWriter] = {}
    pending: dict[str, list[npt.NDArray[np.void]]] = {}
    waiting: dict[str, int] = {}
    gcds: dict[str, int] = {}
    seconds: dict[str, float] = {}
    shared: list[Any] = [None]          # one batch of rows, shared by every stock's replayer
    parse_s = 0.0

    def run(name: str, whole: bool) -> None:
        # replay what waits for `name`: whole batches only, unless `whole`
        parts = pending[name]
        events = parts[0] if len(parts) == 1 else np.concatenate(parts)
        cut = len(events) if whole else len(events) - len(events) % CHUNK
        if cut == 0:
            return
        start = time.perf_counter()
        replayer = replayers.get(name)
        if replayer is None:
            writer = None
            if name in targets:
                writer = writers[name] = FeatureWriter(targets[name], depth, (rows or {}).get(name, 0),
                                                       signals=signals, ofi_levels=config.ofi_levels)
            replayer = replayers[name] = Replayer(config.new_book(allow_cross), depth=depth, signals=signals,
                                                  features=writer, out=shared[0])
        replayer.feed(events[:cut])
        shared[0] = replayer.out
        writer = writers.get(name)
        if writer is not None and writer.written == writer.rows:
            writer.close()          # done: its file no longer holds a descriptor
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
        rest = events[cut:]
        pending[name] = [rest] if len(rest) else []
        waiting[name] = len(rest)

    try:
        chunks = iter_itch(path, chunk_size, parser=parser)
        while True:
            start = time.perf_counter()
            try:
                events, locates = next(chunks)
            except StopIteration:
                parse_s += time.perf_counter() - start
                break
            parse_s += time.perf_counter() - start
            if len(events) == 0:
                continue
            order = np.argsort(locates, kind="stable")        # read_itch's split: per stock, in file order
            sorted_locates = locates[order]
            starts = np.flatnonzero(np.r_[True, sorted_locates[1:] != sorted_locates[:-1]])
            ends = np.r_[starts[1:], len(order)]
            for lo, hi in zip(starts.tolist(), ends.tolist()):
                name = parser.directory.get(int(sorted_locates[lo]), f"#{int(sorted_locates[lo])}")
                if wanted is not None and name not in wanted:
                    continue
                part = events[order[lo:hi]]
                pending.setdefault(name, []).append(part)
                waiting[name] = waiting.get(name, 0) + len(part)
                gcds[name] = price_gcd(part["price"], gcds.get(name, 0))
                if waiting[name] >= CHUNK:
                    run(name, whole=False)
            if sum(waiting.values()) > PENDING_EVENTS:
                for name in sorted(waiting, key=lambda s: -waiting[s]):
                    if sum(waiting.values()) <= PENDING_EVENTS // 2:
                        break
                    run(name, whole=True)
        for name in pending:
            if waiting.get(name):
                run(name, whole=True)
        if not sum(parser.counts.values()):
            raise error(28, source=source, detail="no ITCH 5.0 messages in the file")
        for writer in writers.values():
            writer.close()          # short of its announced rows: refused (the count was of another file)
    except BaseException:
        for writer in writers.values():
            writer.discard()
        raise
    replays = {name: replayers[name].finish(price_unit_of_gcd(gcds[name], *ITCH_PRICES)) for name in replayers}
    return ItchRun(parser, parse_s, os.path.getsize(path), replays, seconds)


def read_dbn_file(path: PathLike, instrument: Optional[int] = None) -> npt.NDArray[np.void]:
    """lob.io.read_dbn's events of one instrument, refusing a file that holds
    no MBO records (for it) as every command does."""
    import lob.io
    from lob.errors import error

    events = lob.io.read_dbn(path, instrument_id=instrument)
    if not len(events):
        raise error(28, source=os.fspath(path), detail="no MBO records" + (
            f" for instrument {instrument}" if instrument is not None else ""))
    return events


def replay_dbn_file(path: PathLike, *, instrument: Optional[int] = None, depth: int = 0, signals: bool = False,
                    features: Optional[PathLike] = None, config: BookConfig = BookConfig()) -> Replay:
    """Replay a Databento MBO file (DBN, plain or zstd) as `lob replay` does:
    one instrument (`instrument`: its instrument_id, required when the file
    holds several), in a book that may lock or cross between the records of
    one exchange event.  features: a .npy / .parquet file for every row."""
    from lob.kinds import ADD, MODIFY, TRADE

    events = read_dbn_file(path, instrument)
    priced = np.isin(events["kind"], (ADD, MODIFY, TRADE))
    # a venue's book may lock or cross between the records of one exchange event
    return replay(events, config.new_book(allow_cross=True), depth=depth, signals=signals, features_path=features,
                  unit=price_unit(events["price"][priced], *DBN_PRICES))


def replay_path(path: PathLike, *, format: Optional[str] = None, symbol: Optional[str] = None, depth: int = 0,
                signals: bool = False, features: Optional[PathLike] = None,
                config: BookConfig = BookConfig()) -> Replay:
    """One (file, symbol) through the book, with its feature rows to
    `features` (.npy / .parquet): the rows of `lob replay FILE [--symbol S]
    --features OUT`.  format: detected when None.  symbol: ITCH, the stock
    (required); DBN, the instrument_id (required when the file holds
    several); LOBSTER, ignored (a file is one stock, seeded from its sibling
    orderbook file when there is one)."""
    from lob.errors import error

    fmt = detect_format(path, format)
    if fmt == "lobster":
        return replay_lobster_file(path, depth=depth, signals=signals, features=features, config=config,
                                   measure=False).replay
    if fmt == "dbn":
        instrument = None
        if symbol is not None:
            try:
                instrument = int(symbol)
            except ValueError:
                raise ValueError(f"{os.fspath(path)}: DBN: the symbol is a numeric instrument_id, "
                                 f"got {symbol!r}") from None
        return replay_dbn_file(path, instrument=instrument, depth=depth, signals=signals, features=features,
                               config=config)
    if symbol is None:
        raise ValueError(f"{os.fspath(path)}: ITCH: name the stock (symbol=); replay_itch_stocks replays several")
    run = replay_itch_stocks(path, [symbol], depth=depth, signals=signals,
                             features={symbol: features} if features is not None else None, config=config)
    if symbol not in run.replays:
        known = "it is in the stock directory" if symbol in run.parser.directory.values() else \
            "it is not in the stock directory"
        raise error(20, source=os.fsdecode(path), detail=f"no order events for symbol {symbol!r} ({known})")
    return run.replays[symbol]
