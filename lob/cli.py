"""The `lob` command (also `python -m lob`): demo, replay, replay-many, lobster-check, bench, version.

A command refuses bad input (a missing, empty or malformed file, a bad
argument) in one line on stderr that names the file, the line or byte offset
and the problem, with exit status 1 (2 for a malformed command line); the
handler in main() does that for every command, so a command just raises
(lob.errors.LobError / ParseError, OSError, ValueError, ImportError).
`--debug` shows the Python traceback instead.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import sys
import time
import warnings
import zlib
from typing import Any, Callable, Iterator, NoReturn, Optional, Sequence

import numpy as np
import numpy.typing as npt

import lob
from lob.errors import LobError, error
import lob.feed_cli
import lob.parallel_cli
import lob.plot_cli
import lob.sim_cli
from lob.kinds import ADD, CANCEL, CLEAR, EXECUTE, MODIFY, REDUCE, TRADE
from lob.replay import (DBN_PRICES, FEATURE_SUFFIXES, FORMAT_NAMES as _FORMAT_NAMES, ITCH_PRICES, LOBSTER_PRICES,
                        BookConfig, _check_text, _guess_format, _sniff, check_input as _check_input, price_unit)

#: Exit statuses: a refused input, a malformed command line (argparse's).
EXIT_REFUSED = 1
EXIT_USAGE = 2
#: `--depth` at most: a row holds 4 x depth int64 (32 KB at 1,000 levels).
MAX_DEPTH = 1000
#: `lob demo --events` at most (34 bytes an event, plus the per-call arrays).
MAX_DEMO_EVENTS = 100_000_000
#: Exceptions that mean "this input is refused", not "lobcore has a bug"
#: (EOFError and zlib.error: a truncated or corrupt gzip stream).
INPUT_ERRORS = (LobError, OSError, ValueError, ImportError, OverflowError, MemoryError, EOFError, zlib.error)


class Refused(LobError, ValueError):
    """A command's refusal of its input; ``source`` names the file."""

    def __init__(self, message: str, source: Optional[str] = None) -> None:
        super().__init__(message)
        self.source = source


def replay_calls(book: lob.OrderBook, events: npt.NDArray[np.void],
                 sample_signals: bool = True) -> Optional[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                                                                npt.NDArray[np.int64]]]:
    """Apply an EVENT_DTYPE array one call at a time; returns per-event
    microprice, top-level imbalance and volume delta (NumPy arrays), or None
    when sample_signals is false."""
    n = len(events)
    micro = np.empty(n if sample_signals else 0)
    imb = np.empty(n if sample_signals else 0)
    vdelta = np.empty(n if sample_signals else 0, dtype=np.int64)
    add, cancel, execute, reduce_, modify, trade = (
        book.add, book.cancel, book.execute, book.reduce, book.modify, book.trade)
    columns = zip(events["kind"].tolist(), events["side"].tolist(), events["order_id"].tolist(),
                  events["price"].tolist(), events["qty"].tolist())
    for i, (kind, side, oid, price, qty) in enumerate(columns):
        if kind == ADD:
            add(oid, side, price, qty)
        elif kind == CANCEL:
            cancel(oid)
        elif kind == EXECUTE:
            execute(oid, qty)
        elif kind == REDUCE:
            reduce_(oid, qty)
        elif kind == MODIFY:
            modify(oid, price, qty)
        elif kind == TRADE:
            trade(side, price, qty)
        elif kind == CLEAR:
            book.clear()
        else:
            raise ValueError(f"event {i}: unknown kind {kind}")
        if sample_signals:
            micro[i] = book.microprice()
            imb[i] = book.imbalance()
            vdelta[i] = book.volume_delta
    return (micro, imb, vdelta) if sample_signals else None


def _replay_calls_top(book: lob.OrderBook, events: npt.NDArray[np.void]) -> None:
    """The README table's per-call row: one call per event, then book.top()."""
    add, cancel, execute, top = book.add, book.cancel, book.execute, book.top
    columns = zip(events["kind"].tolist(), events["side"].tolist(), events["order_id"].tolist(),
                  events["price"].tolist(), events["qty"].tolist())
    for kind, side, oid, price, qty in columns:
        if kind == ADD:
            add(oid, side, price, qty)
        elif kind == CANCEL:
            cancel(oid)
        elif kind == EXECUTE:
            execute(oid, qty)
        else:
            raise ValueError(f"the per-call timing takes adds, cancels and executions, got kind {kind}")
        top()


def demo(args: argparse.Namespace) -> int:
    """Replay a lob.synth stream: the summary, then ns/event of the
    configurations the README's table measures, so the two can be compared."""
    from lob.replay import replay

    events = lob.synth.generate(args.events, seed=args.seed)
    n = len(events)
    result = replay(events, depth=5)
    result.book.check()
    print(result.summary(f"lobcore {lob.__version__}: replayed {n:,} synthetic L3 events "
                         f"(lob.synth, seed {args.seed})"))
    kinds = np.bincount(events["kind"], minlength=8)
    print(f"  mix           {', '.join(f'{lob.EventKind(k).name.lower()} {kinds[k]:,}' for k in range(1, 8) if kinds[k])}")
    depth = result.book.depth(5)
    print("  depth (5)     " + "  ".join(f"{p}x{q}" for p, q in zip(depth.bid_price, depth.bid_qty))
          + "  |  " + "  ".join(f"{p}x{q}" for p, q in zip(depth.ask_price, depth.ask_qty)))
    # the same stream through the per-call API, reading signals after each event
    calls_book = lob.OrderBook()
    start = time.perf_counter()
    replay_calls(calls_book, events)
    calls_s = time.perf_counter() - start
    if calls_book.snapshot().tobytes() != result.book.snapshot().tobytes():
        raise RuntimeError("demo: the batch and per-call replays disagree (a bug; please report it)")
    print(f"  per-call API  {calls_s:.3f} s, {n / calls_s:,.0f} events/s, "
          f"{calls_s / max(n, 1) * 1e9:.0f} ns/event (a Python call per event, then microprice(), "
          f"imbalance(), volume_delta); same final book")
    # The README's table: one 2M-event stream (seed 1), whole array per call,
    # median of 3 rounds, on a 2-core EPYC.  Here: this stream, one run each.
    out = np.empty(n, dtype=lob.FEATURE_DTYPE)
    start = time.perf_counter()
    lob.OrderBook().apply(events, record=False)
    bare_s = time.perf_counter() - start
    start = time.perf_counter()
    lob.OrderBook().apply(events, out=out)
    rows_s = time.perf_counter() - start
    start = time.perf_counter()
    _replay_calls_top(lob.OrderBook(), events)
    top_s = time.perf_counter() - start
    table = '= README table, lobcore "{}", column "{}"'
    rows = [(bare_s, "apply(events, record=False)", table.format("OrderBook.apply", "apply")),
            (rows_s, "apply(events), a feature row per event",
             table.format("OrderBook.apply", "apply + read top of book, microprice, imbalance")),
            (result.seconds, "the replay above (5 levels a side, in batches)",
             "not in the table (5 levels a side add 320 bytes to each row)"),
            (top_s, "a Python call per event, then book.top()",
             table.format("per call", "apply + read top of book, microprice, imbalance")),
            (calls_s, "the per-call API line above",
             "not in the table (three reads per event: microprice(), imbalance(), volume_delta)")]
    print("  timing        ns/event here, this stream, one run each (the README table: medians of 3 runs of a "
          "2M-event stream, python -m lob bench)")
    for seconds, what, relation in rows:
        print(f"    {seconds / max(n, 1) * 1e9:6.0f}  {what:<48} {relation}")
    return 0


def _check_features(target: str) -> None:
    """Refuse a features file that cannot be written, before the replay."""
    if not target.endswith(FEATURE_SUFFIXES):
        raise Refused(f"{target}: --features must end in .npy or .parquet", target)
    folder = pathlib.Path(target).resolve().parent
    if not folder.is_dir():
        raise FileNotFoundError(2, f"no such folder {folder} for --features", target)
    if pathlib.Path(target).is_dir():
        raise IsADirectoryError(21, "is a folder; --features takes a file name", target)
    if not os.access(folder, os.W_OK):
        raise PermissionError(13, f"cannot write in {folder}", target)
    if target.endswith(".parquet"):
        from lob.replay import _pyarrow
        try:
            _pyarrow()
        except ImportError as exc:
            raise Refused(f"{target}: {exc}", target) from None


def _features_line(target: Optional[str]) -> None:
    if target and os.path.exists(target):
        print(f"  features      {target} ({os.path.getsize(target) / 1e6:,.1f} MB)")


def replay_file(args: argparse.Namespace) -> int:
    """`lob replay FILE`: read a LOBSTER, ITCH or DBN file, replay it through
    the book and print a summary (optionally every feature row to a file)."""
    from lob.replay import detect_format, replay_lobster_file

    path = pathlib.Path(args.file)
    fmt = detect_format(path, args.format)
    features = args.features
    if features:
        _check_features(features)
    if fmt == "dbn":
        return _replay_dbn(args, path, features)
    if fmt == "lobster":
        # with the orderbook file beside the message file (or --orderbook), the
        # stream that reproduces the pair and a check of every row; without it
        # (or --orderbook none), the message file alone, repaired where it
        # proves the book stale, and what it cannot know
        import lob.io

        run = replay_lobster_file(path, orderbook=args.orderbook, depth=args.depth, signals=args.signals,
                                  features=features, config=book_config(args))
        result, stream, touch, read_s, orderbook, sibling, alone = run
        messages = stream.messages
        rows = len(stream.message_event)
        halts = f", {len(messages.halts):,} halts" if len(messages.halts) else ""
        how = (f"the pair with {orderbook.name}" if orderbook is not None
               else "the message file alone" + (" (--orderbook none)" if alone else " (no orderbook file beside it)"))
        print(result.summary(f"{path.name}: LOBSTER, {rows:,} message rows{halts}, {len(stream.events):,} events "
                             f"({how}; read in {read_s:.3f} s)",
                             unit=price_unit(stream.events["price"], *LOBSTER_PRICES)))
        _features_line(features)
        refused = len(stream.refused)
        lines = []
        if orderbook is not None:
            differ = len(stream.forced) + len(stream.unreproduced)
            lines.append(f"  seeding       seeded from {orderbook.name} row 0 (levels a side: {stream.levels}) as "
                         f"anonymous qty; {len(stream.resynced):,} rows took a level entering the window from the file "
                         f"({stream.resynced_levels:,} levels)")
            if differ == 0 and refused == 0 and touch.top_equal == rows:
                lines.append(f"  reproduced    every row: every level (levels a side: {stream.levels}) equals "
                             f"{orderbook.name} after each of the {rows:,} message rows (top of book checked: "
                             f"{touch.top_equal:,}/{rows:,})")
            else:
                lines.append(f"  NOT REPRODUCED {differ:,} of {rows:,} rows differ from {orderbook.name} (set from it: "
                             f"{len(stream.forced):,}; still different: {len(stream.unreproduced):,}), {refused:,} "
                             f"messages refused; top of book equal in {touch.top_equal:,}/{rows:,} rows "
                             f"(lob lobster-check shows where)")
        else:
            lines.append(f"  unknown ids   {stream.unknown:,} messages named orders the file never added (seeded as "
                         f"anonymous qty from their own messages; {stream.unknown_left:,} found none: executions "
                         f"kept as trade prints, cancels left out)")
            lines.append(f"  stale levels  {stream.stale_levels:,} levels dropped (a message proved them gone), "
                         f"{stream.relabelled:,} order sizes proven stale, {refused:,} messages refused")
            causal = lob.io.lobster_touch_rate(lob.io.read_lobster_stream(path, lookahead=False), sibling)
            lines.append(f"  touch         {touch.at_touch:,} of {touch.executions:,} visible executions found our "
                         f"best price at their price ({100 * touch.rate:.1f}%; {100 * causal.rate:.1f}% when each "
                         f"repair waits for the message that proves it)")
            if sibling is not None:
                lines.append(f"  vs orderbook  best bid and ask equal {sibling.name} after {touch.top_equal:,} of "
                             f"{touch.rows:,} rows ({100 * touch.top_rate:.1f}%; {100 * causal.top_rate:.1f}% without "
                             f"lookahead)")
            lines.append("  note          a message file alone cannot reproduce the levels outside its top-K window "
                         "(nor orders resting before it began); the orderbook file gives the exact book")
        for row, reason in stream.refused[:5]:
            lines.append(f"  refused       row {row}: {reason}")
        print("\n".join(lines))
        if orderbook is not None and (len(stream.forced) or len(stream.unreproduced) or refused):
            return 1
        return 0
    return _replay_itch(args, path, features)


def _itch_header(path: pathlib.Path, parser: Any, parse_s: float) -> None:
    size = path.stat().st_size
    print(f"{path.name}: ITCH 5.0, {size / 1e6:,.1f} MB, {sum(parser.counts.values()):,} messages parsed in "
          f"{parse_s:.3f} s ({size / max(parse_s, 1e-12) / 1e9:.2f} GB/s), {len(parser.directory):,} stocks")


def _no_symbol(path: pathlib.Path, symbol: str, parser: Any) -> NoReturn:
    known = "it is in the stock directory" if symbol in parser.directory.values() else \
        "it is not in the stock directory"
    raise error(20, source=str(path), detail=f"no order events for symbol {symbol!r} ({known})")


def _replay_itch(args: argparse.Namespace, path: pathlib.Path, features: Optional[str]) -> int:
    """ITCH: --symbol's stock alone (its features without a symbol column);
    without it one book per stock, the ten busiest summarised, --features
    gets every stock's rows with a symbol column."""
    import lob.io
    from lob.replay import FeatureWriter, replay, replay_itch_stocks

    if args.symbol:         # one stock: streamed (lob.parallel's task does the same)
        run = replay_itch_stocks(path, [args.symbol], depth=args.depth, signals=args.signals,
                                 features={args.symbol: features} if features else None, config=book_config(args))
        _itch_header(path, run.parser, run.parse_s)
        if args.symbol not in run.replays:
            _no_symbol(path, args.symbol, run.parser)
        result = run.replays[args.symbol]
        print(result.summary(f"{args.symbol}: {result.events:,} events"))
        _features_line(features)
        return 0
    parser = lob.io.ItchParser(source=str(path))
    start = time.perf_counter()
    books = lob.io.read_itch(path, parser=parser)
    parse_s = time.perf_counter() - start
    messages = sum(parser.counts.values())
    if not messages:
        raise error(28, source=str(path), detail="no ITCH 5.0 messages in the file")
    _itch_header(path, parser, parse_s)
    if not books:
        print("  no order events (only directory and system messages)")
        if features:
            with FeatureWriter(features, args.depth, 0, symbols=True, signals=args.signals,
                               ofi_levels=args.ofi_levels):
                pass
            _features_line(features)
        return 0
    busiest = sorted(books, key=lambda s: -len(books[s]))
    shown = busiest[:10]
    if features:
        rows = sum(len(e) for e in books.values())
        with FeatureWriter(features, args.depth, rows, symbols=True, signals=args.signals,
                           ofi_levels=args.ofi_levels) as writer:
            results = {}
            for symbol in sorted(books):        # the file: stock by stock, in symbol order
                result = replay(books[symbol], new_book(args), depth=args.depth, signals=args.signals,
                                features=writer, symbol=symbol, unit=price_unit(books[symbol]["price"], *ITCH_PRICES))
                if symbol in shown:
                    results[symbol] = result
        for symbol in shown:
            print(results[symbol].summary(f"{symbol}: {len(books[symbol]):,} events"))
    else:
        for symbol in shown:
            result = replay(books[symbol], new_book(args), depth=args.depth, signals=args.signals,
                            unit=price_unit(books[symbol]["price"], *ITCH_PRICES))
            print(result.summary(f"{symbol}: {len(books[symbol]):,} events"))
    if len(busiest) > 10:
        print(f"  ... and {len(busiest) - 10:,} more stocks (--symbol S for one)")
    if features:
        _features_line(features)
        print(f"                every stock's rows ({len(books):,} stocks), stock by stock in symbol order, "
              f"with a leading 'symbol' column")
    return 0


def dbn_instrument(path: pathlib.Path, symbol: Optional[str]) -> Optional[int]:
    """--symbol of a DBN file: its numeric instrument_id (None: not given)."""
    if symbol is None:
        return None
    try:
        return int(symbol)
    except ValueError:
        raise Refused(f"{path}: DBN: --symbol takes a numeric instrument_id, got {symbol!r}", str(path)) from None


@contextlib.contextmanager
def naming_dbn_symbol(path: pathlib.Path, instrument: Optional[int], hint: str) -> Iterator[None]:
    """A DBN file of several instruments read without --symbol: the reader's
    refusal, with the option that picks one (`hint`) named."""
    try:
        yield
    except ValueError as exc:
        if instrument is None and "instrument" in str(exc):
            raise Refused(f"{exc} ({hint})", str(path)) from exc
        raise


def _replay_dbn(args: argparse.Namespace, path: pathlib.Path, features: Optional[str]) -> int:
    """DBN (Databento MBO): one instrument (--symbol takes its instrument id)."""
    from lob.replay import replay_dbn_file

    instrument = dbn_instrument(path, args.symbol)
    with naming_dbn_symbol(path, instrument, "lob replay: --symbol ID keeps one"):
        result = replay_dbn_file(path, instrument=instrument, depth=args.depth, signals=args.signals,
                                 features=features, config=book_config(args))
    print(result.summary(f"{path.name}: Databento MBO, {result.events:,} events"))
    _features_line(features)
    return 0


def lobster_check(args: argparse.Namespace) -> int:
    """`lob lobster-check MESSAGE_CSV ORDERBOOK_CSV`: replay the pair and
    compare every orderbook row at every level; exit 1 if any row differs."""
    from lob.io import check_lobster

    start = time.perf_counter()
    result = check_lobster(args.message_csv, args.orderbook_csv, max_mismatches=args.show)
    elapsed = time.perf_counter() - start
    stream = result.stream
    assert stream is not None       # a non-empty pair always has one
    print(f"{args.message_csv}: {result.total:,} rows, {result.levels} levels a side, replayed in {elapsed:.3f} s "
          f"({len(stream.events):,} events: row 0 seeded, the messages, {result.resynced_levels:,} levels that "
          f"entered the window sized from the file"
          + (f", {len(stream.settled):,} rows where the file's total settled the size of an order that had "
             f"sat outside the window" if len(stream.settled) else "") + ")")
    for row, reason in result.rejected[: args.show]:
        print(f"  row {row}: the book refused the message ({reason})")
    for row, side, ours, theirs in result.mismatches:
        print(f"  row {row} {side}: book {ours}")
        print(f"  {'':>{len(str(row)) + 4}}   file {theirs}")
    print(f"matched {result.matched}/{result.total} rows, {result.resynced} resynced")
    return 0 if result.ok else 1


def _checkout_root() -> Optional[pathlib.Path]:
    """The lobcore source checkout this package runs from, or None (a wheel)."""
    root = pathlib.Path(lob.__file__).resolve().parent.parent
    try:
        project = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    if 'name = "lobcore"' not in project or not (root / "bench" / "compare.py").is_file():
        return None
    return root


def bench(args: argparse.Namespace) -> int:
    """Run bench/compare.py of the source checkout this package was installed from."""
    import subprocess

    root = _checkout_root()
    if root is None:
        raise FileNotFoundError(2, "lob bench needs a source checkout of lobcore (bench/ is not in the wheel): "
                                   "git clone it, pip install -e '.[test,bench]' there, then python -m lob bench",
                                "bench/compare.py")
    return subprocess.call([sys.executable, str(root / "bench" / "compare.py")] + args.bench_args)


def _int_between(low: int, high: Optional[int]) -> Callable[[str], int]:
    """An argparse type: a whole number from low to high (None: no bound)."""
    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low:,} to {high:,}" if high is not None else f"{low:,} or more"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse, with its refusals in one line (the usage is in --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The `lob` command line: one subparser per command, each with `func`."""
    parser = _Parser(prog="lob", description="lobcore: a C-level limit order book for Python. Bad input is "
                     "refused in one line (exit 1); --debug (anywhere) shows the traceback instead.")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of a refusal")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="replay a synthetic L3 stream and print the book and signal statistics")
    p_demo.add_argument("--events", type=_int_between(1, MAX_DEMO_EVENTS), default=1_000_000,
                        help="events to generate (default 1,000,000)")
    p_demo.add_argument("--seed", type=_int_between(-(1 << 63), (1 << 64) - 1), default=0,
                        help="generator seed (default 0)")
    p_demo.set_defaults(func=demo)
    p_replay = sub.add_parser(
        "replay", help="replay a LOBSTER, ITCH 5.0 or Databento MBO (DBN) file through the book and summarise it",
        description="Replay an exchange file through the book and summarise it: LOBSTER message CSV (seeded "
                    "from its orderbook file), NASDAQ TotalView-ITCH 5.0 (plain or gzip; one book per stock) or "
                    "Databento MBO (DBN, plain or zstd; needs the [dbn] extra). Prices print in the instrument's "
                    "units (dollars for ITCH and LOBSTER); feature files keep the source's integers.")
    p_replay.add_argument("file", help="the message file (.csv LOBSTER, .itch/.gz ITCH, .dbn/.dbn.zst DBN)")
    p_replay.add_argument("--format", choices=["lobster", "itch", "dbn"],
                          help="default: from the file's first bytes, else its name")
    p_replay.add_argument("--symbol", help="ITCH: replay this stock only; DBN: the instrument_id to keep")
    p_replay.add_argument("--depth", type=_int_between(0, MAX_DEPTH), default=0,
                          help=f"levels a side in the features, 0 to {MAX_DEPTH:,} (default 0)")
    p_replay.add_argument("--features", help="write every feature row to OUT.npy or OUT.parquet (ITCH without "
                                             "--symbol: every stock, with a leading 'symbol' column)")
    p_replay.add_argument("--orderbook", help="LOBSTER: the orderbook file to seed from (default: the sibling "
                                              "file; 'none': the message file alone)")
    add_signal_options(p_replay)
    p_replay.set_defaults(func=replay_file)
    p_check = sub.add_parser(
        "lobster-check", help="replay a LOBSTER message file and compare every orderbook row at every level")
    p_check.add_argument("message_csv")
    p_check.add_argument("orderbook_csv")
    p_check.add_argument("--show", type=_int_between(0, None), default=5,
                         help="mismatches to print (default 5)")
    p_check.set_defaults(func=lobster_check)
    p_bench = sub.add_parser(
        "bench", help="lobcore against the C++ reference and the peers, same events; writes bench/RESULTS.md",
        description="Runs bench/compare.py of the source checkout; arguments go to it (see --help there: "
                    "--events, --rounds, --peers, --quick, --out).", add_help=False)
    p_bench.set_defaults(func=bench)
    lob.feed_cli.register(sub)
    lob.parallel_cli.register(sub)
    lob.plot_cli.register(sub)
    lob.sim_cli.register(sub)
    p_version = sub.add_parser("version", help="print the version")
    p_version.set_defaults(func=lambda args: print(lob.__version__) or 0)
    return parser


def duration_ns(text: str) -> int:
    """A duration as ns: an integer of ns, or a number with a unit (ns, us,
    ms, s, m, h): "500us", "60s", "1.5m"."""
    units = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
             "h": 3_600_000_000_000}
    value = text.strip().lower()
    for suffix in sorted(units, key=len, reverse=True):
        if value.endswith(suffix):
            number, scale = value[: -len(suffix)], units[suffix]
            break
    else:
        number, scale = value, 1
    try:
        ns = round(float(number) * scale)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 500us, 60s, or ns)") from None
    if not 0 <= ns < 2**63:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration in [0, 2**63) ns")
    return ns


def add_signal_options(parser: argparse.ArgumentParser) -> None:
    """--signals and the signals' configuration (lob.OrderBook's keywords)."""
    parser.add_argument("--signals", action="store_true",
                        help="record every signal of the contract in the feature rows and summarise them "
                             "(docs/signals.md)")
    parser.add_argument("--ofi-levels", type=_int_between(1, 10), default=BookConfig().ofi_levels,
                        help="levels of multi-level OFI the books keep, 1 to 10 (default 5)")
    parser.add_argument("--vwap-window", type=duration_ns, default=BookConfig().vwap_window_ns,
                        help="the rolling VWAP's window, e.g. 60s (default 60s; 0: the session vwap)")
    parser.add_argument("--halflife", type=duration_ns, default=BookConfig().halflife_ns,
                        help="the half-life of the decayed volume delta, e.g. 10s (default 10s; 0: none)")


def book_config(args: argparse.Namespace) -> BookConfig:
    """The books' configuration the signal options of `args` give (a command
    without them: one OFI level, no rolling window, no decay)."""
    return BookConfig(getattr(args, "ofi_levels", 1), getattr(args, "vwap_window", 0), getattr(args, "halflife", 0))


def new_book(args: argparse.Namespace, allow_cross: bool = False) -> "lob.OrderBook":
    """A book configured by the signal options of `args`."""
    return book_config(args).new_book(allow_cross)


#: Arguments of any command that name a file to read; main() refuses a
#: missing, folder or empty one before the command runs.
INPUT_ARGUMENTS = ("file", "message_csv", "orderbook_csv", "orderbook")


def refusal(exc: BaseException, command: str, source: Optional[str] = None) -> str:
    """The one line a refused input gets: `lob COMMAND: FILE: [line N: | byte
    offset N:] problem`.  `source` names the command's input for errors that
    do not name their file."""
    if isinstance(exc, OSError) and exc.filename is not None:
        problem = exc.strerror or str(exc)
        text = f"{os.fsdecode(exc.filename)}: {problem[:1].lower()}{problem[1:]}"
    elif isinstance(exc, MemoryError):
        text = "out of memory" + (f": {exc}" if str(exc) else "")
    else:
        text = str(exc) or type(exc).__name__
        if isinstance(exc, KeyError) and not isinstance(exc, LobError):
            text = f"missing {text}"
    named = getattr(exc, "source", None) or (os.fsdecode(exc.filename) if isinstance(exc, OSError)
                                             and exc.filename is not None else None)
    source = named if named and named != "<bytes>" else source
    if source and source not in text and os.path.basename(source) not in text:
        text = f"{source}: {text}"
    return f"lob {command}: " + " ".join(text.split())


def _warning_line(message: Any, category: Any, filename: Any, lineno: Any, file: Any = None,
                  line: Any = None) -> None:
    print("lob: warning: " + " ".join(str(message).split()), file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one `lob` command; returns the exit status.  Refusals print one
    line on stderr (a traceback with --debug anywhere on the line)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:                  # every other argument is compare.py's
        args = argparse.Namespace(command="bench", bench_args=argv[1:], func=bench)
        debug = False
    else:
        debug = "--debug" in argv
        args = build_parser().parse_args([a for a in argv if a != "--debug"])
    source = next((str(getattr(args, name)) for name in INPUT_ARGUMENTS if getattr(args, name, None)), None)
    command = getattr(args, "prog", args.command)      # "feed serve": the subcommand too
    with warnings.catch_warnings():
        if not debug:
            warnings.showwarning = _warning_line
        try:
            for name in INPUT_ARGUMENTS:
                value = getattr(args, name, None)
                if value and not (name == "orderbook" and value.lower() == "none"):   # --orderbook none: messages alone
                    _check_input(pathlib.Path(value))
            return int(args.func(args) or 0)
        except BrokenPipeError:   # `lob demo | head`: the reader left, nothing to report
            sys.stderr.close()
            return 0
        except KeyboardInterrupt:
            if debug:
                raise
            print(f"lob {command}: interrupted", file=sys.stderr)
            return 130
        except INPUT_ERRORS as exc:
            if debug:
                raise
            print(refusal(exc, command, source), file=sys.stderr)
            return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
