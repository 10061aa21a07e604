"""Replaying an event stream through a book in chunks: progress, signal
statistics, rejected events by reason, optional feature output.  The engine
of `lob replay` and `lob demo`."""
import math
import sys
import time

import numpy as np

from lob import OrderBook
from lob.dtypes import feature_dtype

__all__ = ["RunningStats", "Replay", "replay"]

CHUNK = 1 << 16


class RunningStats:
    """Mean, std, min and max of a float stream, chunk by chunk (nan skipped)."""

    def __init__(self, name):
        self.name, self.n, self.total, self.squares = name, 0, 0.0, 0.0
        self.low, self.high = math.inf, -math.inf

    def update(self, values):
        values = values[np.isfinite(values)]
        if len(values):
            self.n += len(values)
            self.total += float(values.sum())
            self.squares += float((values * values).sum())
            self.low = min(self.low, float(values.min()))
            self.high = max(self.high, float(values.max()))

    def __str__(self):
        if not self.n:
            return f"  {self.name:<13} (undefined throughout)"
        mean = self.total / self.n
        std = math.sqrt(max(self.squares / self.n - mean * mean, 0.0))
        return (f"  {self.name:<13} mean {mean:14.4f}  std {std:12.4f}  "
                f"min {self.low:14.4f}  max {self.high:14.4f}")


class Replay:
    """What replay() measured: the book, events, seconds, statistics and
    rejected events by reason."""

    def __init__(self, book, events, seconds, stats, rejected):
        self.book, self.events, self.seconds, self.stats, self.rejected = book, events, seconds, stats, rejected

    def summary(self, title):
        book, n = self.book, max(self.events, 1)
        lines = [title,
                 f"  events        {self.events:,} in {self.seconds:.3f} s: {self.events / max(self.seconds, 1e-12):,.0f} "
                 f"events/s, {self.seconds / n * 1e9:.0f} ns/event (batches of {CHUNK:,}, features after every event)",
                 f"  final book    {len(book):,} orders, {book.level_count(0)} bid / {book.level_count(1)} ask levels",
                 f"  top of book   bid {book.best_bid} x {book.best_bid_qty}   ask {book.best_ask} x "
                 f"{book.best_ask_qty}   spread {book.spread}   mid {book.mid}"]
        lines += [str(s) for s in self.stats]
        vwap = book.vwap
        lines.append(f"  trade flow    {book.trade_count:,} trades, buy {book.buy_volume:,} / sell {book.sell_volume:,}, "
                     f"vwap {vwap:.4f}" if not math.isnan(vwap) else "  trade flow    no trades")
        if self.rejected:
            lines.append("  rejected      " + ", ".join(f"{reason} {count:,}" for reason, count in
                                                      sorted(self.rejected.items(), key=lambda kv: -kv[1])))
        else:
            lines.append("  rejected      none")
        return "\n".join(lines)


def replay(events, book=None, *, depth=0, features_path=None, progress=None):
    """Apply `events` (lob.EVENT_DTYPE) to `book` (a new OrderBook by default)
    in batches, skipping and counting refused events, folding microprice,
    imbalance and volume delta into statistics, and optionally saving every
    feature row (lob.feature_dtype(depth)) to a .npy or .parquet file.
    progress: True/False, or None for "when stderr is a terminal and the
    stream is long"."""
    book = OrderBook() if book is None else book
    n = len(events)
    if progress is None:
        progress = sys.stderr.isatty() and n > 4 * CHUNK
    dtype = feature_dtype(depth)
    keep = np.empty(n, dtype=dtype) if features_path else None
    buffer = np.empty(min(CHUNK, max(n, 1)), dtype=dtype)
    stats = [RunningStats("microprice"), RunningStats("imbalance"), RunningStats("volume delta")]
    rejected = {}
    start = time.perf_counter()
    for lo in range(0, n, CHUNK):
        rows = book.apply(events[lo:lo + CHUNK], depth=depth, on_error="skip", out=buffer)
        for reason, count in book.last_rejected.items():
            rejected[reason] = rejected.get(reason, 0) + count
        stats[0].update(rows["microprice"])
        stats[1].update(rows["imbalance"])
        stats[2].update(rows["volume_delta"].astype(float))
        if keep is not None:
            keep[lo:lo + len(rows)] = rows
        if progress:
            done = min(lo + CHUNK, n)
            bar = "#" * int(30 * done / n)
            print(f"\r  [{bar:<30}] {done:,}/{n:,} events", end="", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - start
    if progress:
        print(file=sys.stderr)
    if features_path:
        save_features(keep, features_path)
    return Replay(book, n, seconds, stats, rejected)


def save_features(features, path):
    """Write feature rows to .npy (NumPy) or .parquet (needs pyarrow; depth
    arrays become list columns)."""
    path = str(path)
    if path.endswith(".parquet"):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise SystemExit("writing .parquet needs pyarrow: pip install pyarrow (or write .npy)") from None
        columns = {}
        for name in features.dtype.names:
            column = features[name]
            columns[name] = pa.array(list(column)) if column.ndim > 1 else pa.array(column)
        pq.write_table(pa.table(columns), path)
    elif path.endswith(".npy"):
        np.save(path, features)
    else:
        raise SystemExit(f"--features must end in .npy or .parquet, got {path!r}")
