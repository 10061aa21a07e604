"""The `lob` command (also `python -m lob`)."""
import argparse
import sys
import time

import numpy as np

import lob
import lob.feed_cli
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
        import lob.io

        orderbook = pathlib.Path(args.orderbook) if args.orderbook else path.with_name(
            path.name.replace("_message_", "_orderbook_"))
        events, halts, rows = lob.io.read_lobster(path, with_halts=True, with_rows=True)
        if orderbook != path and orderbook.exists():
            snap = lob.io.read_lobster_book(orderbook)
            book = lob.OrderBook.from_depth(snap.bid_price[0], snap.bid_qty[0], snap.ask_price[0], snap.ask_qty[0])
            events = events[rows >= 1]          # the book after message 0 is orderbook row 0
            seeded = f", seeded from {orderbook.name} row 0"
        else:
            book, seeded = lob.OrderBook(), ", not seeded (no orderbook file): unknown ids are rejected"
        result = replay(events, book, depth=args.depth, features_path=features)
        print(result.summary(f"{path.name}: LOBSTER, {len(events):,} events{seeded}"
                             + (f", {len(halts)} halts" if len(halts) else "")))
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
    from lob.io import check_lobster

    start = time.perf_counter()
    result = check_lobster(args.message_csv, args.orderbook_csv, max_mismatches=args.show)
    elapsed = time.perf_counter() - start
    print(f"{args.message_csv}: {result.total:,} rows, {result.levels} levels a side, replayed in {elapsed:.3f} s")
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
    lob.feed_cli.register(sub)
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
