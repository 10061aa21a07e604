"""`lob plot FILE`: the session chart of a LOBSTER, ITCH 5.0 or Databento MBO
file (lob.plot), loaded as `lob replay` loads it, saved as PNG (or SVG, PDF).

Refusals raise (lob.errors / OSError / ValueError); lob.cli.main() turns
them into one line and a non-zero exit.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import re
import time
from typing import Any, NamedTuple, Optional

import numpy as np
import numpy.typing as npt

#: Chart files matplotlib writes without extra packages.
CHART_SUFFIXES = (".png", ".svg", ".pdf")
_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS


class ClockTime(NamedTuple):
    """A --from / --to value: ns after the venue's midnight (clock=True) or
    ns in the events' own clock."""

    ns: int
    clock: bool
    text: str


def clock_time(text: str) -> ClockTime:
    """An argparse type: hh:mm[:ss[.fffffffff]] in the venue's clock, or a
    whole number of ns (the events' ts)."""
    value = text.strip()
    if re.fullmatch(r"-?\d+", value):
        return ClockTime(int(value), False, value)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?", value)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: hh:mm:ss[.fff] in the venue's clock, or ns")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time of day (hh 0-23, mm and ss 0-59)")
    fraction = int((match[4] or "").ljust(9, "0"))
    return ClockTime(((hours * 60 + minutes) * 60 + seconds) * _NS + fraction, True, value)


def _positive_price(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a price >= 0, got {text}")
    return value


def register(subparsers: Any) -> None:
    """Add `plot` to the `lob` command's subparsers."""
    from lob.cli import _int_between, duration_ns

    p = subparsers.add_parser(
        "plot", help="draw a session chart: depth heat map, trades, sweeps, OFI, volume delta (PNG)",
        description="Replay an exchange file and draw its session: the depth heat map (mean resting qty by "
                    "price and time, log colour scale) with the best bid and ask, microprice and rolling VWAP, "
                    "the trades (green buyer-initiated, red seller-initiated, white crosses; area by qty), the "
                    "sweeps; under it OFI and imbalance, then the cumulative volume delta and the mid's "
                    "deviation from the VWAP in bps. Needs matplotlib (pip install 'lobcore[plot]').")
    p.add_argument("file", metavar="FILE", help="the message file (.csv LOBSTER, .itch/.gz ITCH, .dbn/.dbn.zst DBN)")
    p.add_argument("--format", choices=["lobster", "itch", "dbn"],
                   help="default: from the file's first bytes, else its name")
    p.add_argument("--symbol", metavar="S", help="ITCH: the stock to draw (default: the busiest); DBN: the instrument_id")
    p.add_argument("--from", dest="start", type=clock_time, metavar="T",
                   help="start of the window: hh:mm:ss[.fff] in the venue's clock (DBN: UTC, on the day of "
                        "the first event), or ns (default: the first event)")
    p.add_argument("--to", dest="end", type=clock_time, metavar="T", help="end of the window, as --from (default: the last event)")
    p.add_argument("--out", metavar="OUT.png", help="the chart file: .png, .svg or .pdf (default: the file's name with .png, "
                                 "in the current folder)")
    p.add_argument("--orderbook", help="LOBSTER: the orderbook file to seed from (default: the sibling file; "
                                       "'none': the message file alone)")
    p.add_argument("--columns", type=_int_between(1, 20_000), default=1000,
                   help="time columns of the heat map, 1 to 20,000 (default 1,000)")
    p.add_argument("--band", type=_positive_price,
                   help="draw levels within this many price units of the mid (default: 25 ticks)")
    p.add_argument("--vwap-window", type=duration_ns, default=60 * _NS,
                   help="the rolling VWAP's window, e.g. 60s (default 60s; 0: the session vwap)")
    p.add_argument("--title", help="the chart's title (default: the symbol, the day and the window)")
    p.add_argument("--dpi", type=_int_between(30, 600), default=110, help="resolution of a PNG (default 110)")
    p.set_defaults(func=plot_file)


class Loaded(NamedTuple):
    """A file's events and how to show them."""

    events: npt.NDArray[np.void]
    price_scale: int
    allow_cross: bool
    label: str
    qty_unit: str
    price_unit: str


def _lobster_name(path: pathlib.Path) -> str:
    """"AAPL 2012-06-21" from LOBSTER's file name, else the name."""
    match = re.match(r"([A-Za-z.^]+)_(\d{4}-\d{2}-\d{2})_", path.name)
    return f"{match[1]} {match[2]}" if match else path.name


def load(args: argparse.Namespace, path: pathlib.Path) -> Loaded:
    """The events of FILE as `lob replay` reads them (format from --format,
    the first bytes or the name)."""
    from lob.replay import detect_format

    fmt = detect_format(path, args.format)
    if fmt == "lobster":
        return _load_lobster(args, path)
    if fmt == "dbn":
        return _load_dbn(args, path)
    return _load_itch(args, path)


def _load_lobster(args: argparse.Namespace, path: pathlib.Path) -> Loaded:
    import lob.io
    from lob import cli

    orderbook: Optional[pathlib.Path] = None
    if not (args.orderbook and args.orderbook.lower() == "none"):
        orderbook = pathlib.Path(args.orderbook) if args.orderbook else path.with_name(
            path.name.replace("_message_", "_orderbook_"))
        if orderbook == path or (not args.orderbook and not orderbook.exists()):
            orderbook = None
    stream = lob.io.read_lobster_stream(path, orderbook)
    how = "seeded from its orderbook file" if orderbook is not None else "messages alone"
    return Loaded(stream.events, cli.LOBSTER_PRICES[0], False, f"{_lobster_name(path)} (LOBSTER, {how})", "shares",
                  "$")


def _load_itch(args: argparse.Namespace, path: pathlib.Path) -> Loaded:
    import lob.io
    from lob import cli
    from lob.errors import error

    parser = lob.io.ItchParser(source=str(path))
    books = lob.io.read_itch(path, symbols=[args.symbol] if args.symbol else None, parser=parser)
    if not sum(parser.counts.values()):
        raise error(28, source=str(path), detail="no ITCH 5.0 messages in the file")
    if args.symbol and args.symbol not in books:
        cli._no_symbol(path, args.symbol, parser)
    if not books:
        raise error(28, source=str(path), detail=f"no order events ({len(parser.directory):,} stocks in the "
                                                 f"directory, only directory and system messages): nothing to draw")
    symbol = args.symbol or max(sorted(books), key=lambda s: len(books[s]))
    return Loaded(books[symbol], cli.ITCH_PRICES[0], False, f"{symbol} (ITCH 5.0)", "shares", "$")


def _load_dbn(args: argparse.Namespace, path: pathlib.Path) -> Loaded:
    from lob import cli
    from lob.replay import read_dbn_file

    instrument = cli.dbn_instrument(path, args.symbol)
    with cli.naming_dbn_symbol(path, instrument, "lob plot: --symbol ID draws one"):
        events = read_dbn_file(path, instrument)
    name = f"instrument {instrument}, " if instrument is not None else ""
    return Loaded(events, cli.DBN_PRICES[0], True, f"{path.name} (Databento MBO{', ' + name[:-2] if name else ''})",
                  "contracts", "")


def _check_out(target: str) -> None:
    """Refuse a chart file that cannot be written, before the replay."""
    from lob.cli import Refused

    if pathlib.Path(target).is_dir():
        raise IsADirectoryError(21, "is a folder; --out takes a file name", target)
    if not target.lower().endswith(CHART_SUFFIXES):
        raise Refused(f"{target}: --out must end in {', '.join(CHART_SUFFIXES)}", target)
    folder = pathlib.Path(target).resolve().parent
    if not folder.is_dir():
        raise FileNotFoundError(2, f"no such folder {folder} for --out", target)
    if not os.access(folder, os.W_OK):
        raise PermissionError(13, f"cannot write in {folder}", target)


def _window_end(value: Optional[ClockTime], events: npt.NDArray[np.void], clock: str) -> Optional[int]:
    """A --from / --to value in the events' ns (a clock time on the day of the first event)."""
    if value is None:
        return None
    if not value.clock:
        return value.ns
    first = int(events["ts"][0])
    return (first - first % _DAY_NS) + value.ns if clock == "epoch" else value.ns


def plot_file(args: argparse.Namespace) -> int:
    """`lob plot FILE`: load, replay and bin, draw, save; one line of what it did."""
    import lob.plot

    lob.plot._matplotlib()                    # refuse before reading a large file
    path = pathlib.Path(args.file)
    out = args.out or path.name.split(".")[0] + ".png"
    _check_out(out)
    start = time.perf_counter()
    loaded = load(args, path)
    read_s = time.perf_counter() - start
    clock = lob.plot._clock_of(int(np.maximum.accumulate(loaded.events["ts"])[0]), "auto")
    t0, t1 = _window_end(args.start, loaded.events, clock), _window_end(args.end, loaded.events, clock)
    if t0 is not None and t1 is not None and t1 <= t0:
        raise ValueError(f"--to {args.end.text} is not after --from {args.start.text}")
    binned = lob.plot.bin_session(loaded.events, price_scale=loaded.price_scale, t0=t0, t1=t1,
                                  columns=args.columns, band=args.band, allow_cross=loaded.allow_cross,
                                  vwap_window_ns=args.vwap_window)
    start = time.perf_counter()
    fig = lob.plot.draw(binned, title=args.title, symbol=loaded.label, qty_unit=loaded.qty_unit,
                        price_unit=loaded.price_unit)
    fig.savefig(out, dpi=args.dpi, facecolor="white")
    draw_s = time.perf_counter() - start
    width, height = (int(round(v * args.dpi)) for v in fig.get_size_inches())
    events = int(binned.columns["events"].sum())
    print(f"{out}: {width} x {height} px, {os.path.getsize(out) / 1e3:,.0f} kB; {loaded.label}, {events:,} events "
          f"in the window (read in {read_s:.2f} s, replayed and binned in {binned.seconds:.2f} s, drawn in "
          f"{draw_s:.2f} s)")
    return 0
