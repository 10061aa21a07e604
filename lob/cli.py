"""The `lob` command (also `python -m lob`)."""
import argparse
import sys
import time

import numpy as np

import lob
from lob.kinds import ADD, CANCEL, CLEAR, EXECUTE, MODIFY, REDUCE, TRADE


def replay_calls(book, events, sample_signals=True):
    """Apply an EVENT_DTYPE array one call at a time; returns per-event
    microprice, top-level imbalance and volume delta (NumPy arrays), or None
    when sample_signals is false."""
    n = len(events)
    if sample_signals:
        micro = np.empty(n)
        imb = np.empty(n)
        vdelta = np.empty(n, dtype=np.int64)
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


def demo(args) -> int:
    from lob.replay import replay

    events = lob.synth.generate(args.events, seed=args.seed)
    result = replay(events, depth=5)
    result.book.check()
    print(result.summary(f"lobcore {lob.__version__}: replayed {len(events):,} synthetic L3 events "
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
        raise SystemExit("demo: the batch and per-call replays disagree (a bug; please report it)")
    print(f"  per-call API  {calls_s:.3f} s, {len(events) / calls_s:,.0f} events/s, "
          f"{calls_s / max(len(events), 1) * 1e9:.0f} ns/event (a Python call per event, then microprice(), "
          f"imbalance(), volume_delta); same final book")
    return 0


def _guess_format(path):
    name = str(path).lower()
    if name.endswith(".csv"):
        return "lobster"
    if name.endswith((".dbn", ".dbn.zst", ".zst")):
        return "dbn"
    return "itch"


def replay_file(args) -> int:
    import pathlib

    from lob.replay import replay

    path = pathlib.Path(args.file)
    if not path.exists():
        raise SystemExit(f"lob replay: no such file: {path}")
    fmt = args.format or _guess_format(path)
    features = args.features
    if fmt == "dbn":
        import lob.io

        try:
            events = lob.io.read_dbn(path)
        except ImportError as exc:
            raise SystemExit(f"lob replay: {exc}") from None
        # a venue's book may lock or cross between the records of one exchange event
        result = replay(events, lob.OrderBook(allow_cross=True), depth=args.depth, features_path=features)
        print(result.summary(f"{path.name}: Databento MBO, {len(events):,} events"))
        return 0
    if fmt == "lobster":
        # with the orderbook file beside the message file (or --orderbook), the
        # stream that reproduces the pair and a check of every row; without it
        # (or --orderbook none), the message file alone, repaired where it
        # proves the book stale, and what it cannot know
        import lob.io
        from lob.errors import LobError
        from lob.replay import replay

        alone = bool(args.orderbook) and args.orderbook.lower() == "none"
        orderbook = None
        if not alone:
            orderbook = pathlib.Path(args.orderbook) if args.orderbook else path.with_name(
                path.name.replace("_message_", "_orderbook_"))
            if orderbook == path or (not args.orderbook and not orderbook.exists()):
                orderbook = None
        start = time.perf_counter()
        # messages alone beside their orderbook file: measure against it
        sibling = path.with_name(path.name.replace("_message_", "_orderbook_")) if orderbook is None else None
        if sibling is not None and (sibling == path or not sibling.exists()):
            sibling = None
        try:
            stream = lob.io.read_lobster_stream(path, orderbook)
            touch = lob.io.lobster_touch_rate(stream, orderbook if orderbook is not None else sibling)
        except (OSError, LobError) as exc:
            if isinstance(exc, OSError) and exc.filename is not None:
                text = f"{exc.filename}: {(exc.strerror or str(exc)).lower()}"
            else:
                text = str(exc)
            print(f"lob replay: {text}", file=sys.stderr)     # one line, exit 2
            return 2
        read_s = time.perf_counter() - start
        messages = stream.messages
        rows = len(stream.message_event)
        halts = f", {len(messages.halts):,} halts" if len(messages.halts) else ""
        how = (f"the pair with {orderbook.name}" if orderbook is not None
               else "the message file alone" + (" (--orderbook none)" if alone else " (no orderbook file beside it)"))
        result = replay(stream.events, lob.OrderBook(), depth=args.depth, features_path=features)
        print(result.summary(f"{path.name}: LOBSTER, {rows:,} message rows{halts}, {len(stream.events):,} events "
                             f"({how}; read in {read_s:.3f} s)"))
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
    import lob.io

    parser = lob.io.ItchParser()
    start = time.perf_counter()
    books = lob.io.read_itch(path, symbols=[args.symbol] if args.symbol else None, parser=parser)
    parse_s = time.perf_counter() - start
    size = path.stat().st_size
    print(f"{path.name}: ITCH 5.0, {size / 1e6:,.1f} MB, {sum(parser.counts.values()):,} messages parsed in "
          f"{parse_s:.3f} s ({size / max(parse_s, 1e-12) / 1e9:.2f} GB/s), {len(parser.directory):,} stocks")
    if args.symbol and args.symbol not in books:
        raise SystemExit(f"lob replay: no order events for symbol {args.symbol!r}")
    if not books:
        print("  no order events (only directory and system messages)")
        return 0
    busiest = sorted(books, key=lambda s: -len(books[s]))
    for symbol in busiest[: 1 if args.symbol else 10]:
        result = replay(books[symbol], depth=args.depth, features_path=features if args.symbol else None)
        print(result.summary(f"{symbol}: {len(books[symbol]):,} events"))
    if not args.symbol and len(busiest) > 10:
        print(f"  ... and {len(busiest) - 10:,} more stocks (--symbol S for one)")
    return 0


def lobster_check(args) -> int:
    from lob.errors import LobError
    from lob.io import check_lobster

    start = time.perf_counter()
    try:
        result = check_lobster(args.message_csv, args.orderbook_csv, max_mismatches=args.show)
    except (OSError, LobError) as exc:
        if isinstance(exc, OSError) and exc.filename is not None:
            text = f"{exc.filename}: {(exc.strerror or str(exc)).lower()}"
        else:
            text = str(exc)
        print(f"lob lobster-check: {text}", file=sys.stderr)     # one line, exit 2
        return 2
    elapsed = time.perf_counter() - start
    stream = result.stream
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


def bench(args) -> int:
    """Run bench/compare.py of the source checkout this package was installed from."""
    import pathlib
    import subprocess
    script = pathlib.Path(lob.__file__).resolve().parent.parent / "bench" / "compare.py"
    if not script.exists():
        print("lob bench needs a source checkout of lobcore (bench/compare.py is not in the wheel): "
              "git clone, pip install -e '.[test]', then python -m lob bench", file=sys.stderr)
        return 2
    return subprocess.call([sys.executable, str(script)] + args.bench_args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lob", description="lobcore: a C-level limit order book for Python")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="replay a synthetic L3 stream and print the book and signal statistics")
    p_demo.add_argument("--events", type=int, default=1_000_000, help="events to generate (default 1,000,000)")
    p_demo.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p_demo.set_defaults(func=demo)
    p_replay = sub.add_parser("replay", help="replay a LOBSTER or ITCH file through the book and summarise it")
    p_replay.add_argument("file")
    p_replay.add_argument("--format", choices=["lobster", "itch", "dbn"], help="default: from the file name")
    p_replay.add_argument("--symbol", help="ITCH: replay this stock only")
    p_replay.add_argument("--depth", type=int, default=0, help="levels a side in the features (default 0)")
    p_replay.add_argument("--features", help="write every feature row to OUT.npy or OUT.parquet")
    p_replay.add_argument("--orderbook", help="LOBSTER: the orderbook file to seed from (default: the sibling file)")
    p_replay.set_defaults(func=replay_file)
    p_check = sub.add_parser(
        "lobster-check", help="replay a LOBSTER message file and compare every orderbook row at every level")
    p_check.add_argument("message_csv")
    p_check.add_argument("orderbook_csv")
    p_check.add_argument("--show", type=int, default=5, help="mismatches to print (default 5)")
    p_check.set_defaults(func=lobster_check)
    p_bench = sub.add_parser(
        "bench", help="lobcore against the C++ reference and the peers, same events; writes bench/RESULTS.md",
        description="Runs bench/compare.py of the source checkout; arguments go to it (see --help there: "
                    "--events, --rounds, --peers, --quick, --out).", add_help=False)
    p_bench.set_defaults(func=bench)
    p_version = sub.add_parser("version", help="print the version")
    p_version.set_defaults(func=lambda args: print(lob.__version__) or 0)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:                  # every other argument is compare.py's
        return bench(argparse.Namespace(bench_args=argv[1:]))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:   # `lob demo | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
