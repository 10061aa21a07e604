"""`lob replay-many FILES... --out DIR`: lob.parallel.replay_many from the
command line, with Dask's progress bar and a summary table (one line per
(file, symbol)); exit status 1 when any task failed."""
from __future__ import annotations

import argparse
import os
import time
from typing import Any


def register(subparsers: Any) -> None:
    """Add `replay-many` to the `lob` command's subparsers."""
    from lob.cli import MAX_DEPTH, _int_between, add_signal_options

    p = subparsers.add_parser(
        "replay-many", help="replay many LOBSTER / ITCH / DBN files on Dask, one Parquet of feature rows per "
                            "(file, symbol)",
        description="Replay many exchange files on a Dask cluster: one Parquet file of feature rows per (file, "
                    "symbol) in --out, each equal to `lob replay FILE [--symbol S] --features OUT.parquet` with the "
                    "same options. Without --scheduler, a local cluster of --workers processes (default one per "
                    "core). Needs the [parallel] extra (dask[distributed], pyarrow).")
    p.add_argument("files", nargs="+", help="the input files (LOBSTER message .csv, ITCH .itch/.gz, DBN .dbn/.zst)")
    p.add_argument("--out", required=True, help="the folder for the Parquet files (made if missing)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a running Dask scheduler (tcp://host:8786); default: a local cluster")
    p.add_argument("--workers", type=_int_between(1, 4096),
                   help="worker processes of the local cluster (default: one per core)")
    p.add_argument("--format", choices=["lobster", "itch", "dbn"], help="default: each file's first bytes")
    p.add_argument("--symbol", action="append", dest="symbols", metavar="S",
                   help="keep only this stock (ITCH name, DBN instrument_id, LOBSTER ticker); repeat for more")
    p.add_argument("--depth", type=_int_between(0, MAX_DEPTH), default=0,
                   help=f"levels a side in the features, 0 to {MAX_DEPTH:,} (default 0)")
    add_signal_options(p)
    for action in p._actions:
        if action.dest == "signals":
            action.help = "record every signal of the contract in the feature rows (docs/signals.md)"
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run replay_many; print the table; 1 if any task failed."""
    from lob.cli import EXIT_USAGE, book_config

    if args.scheduler and args.workers:
        print("lob replay-many: --workers sizes the local cluster; a --scheduler's cluster has its own workers",
              file=__import__("sys").stderr)
        return EXIT_USAGE
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise NotADirectoryError(20, "--out is a file, not a folder", args.out)
    try:
        from lob.parallel import replay_many
        import distributed  # noqa: F401  (refused here in one line, before any work)
        import pyarrow  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"replay-many needs the [parallel] extra (dask[distributed], pyarrow): "
                          f"pip install 'lobcore[parallel]' ({exc})") from None
    start = time.perf_counter()
    where = f"the scheduler at {args.scheduler}" if args.scheduler else \
        f"a local cluster of {args.workers or os.cpu_count() or 1} worker processes"
    print(f"lob replay-many: {len(args.files):,} file{'s' if len(args.files) != 1 else ''} on {where}")
    table = replay_many(args.files, args.out, format=args.format, depth=args.depth, signals=args.signals,
                        symbols=args.symbols, address=args.scheduler, workers=args.workers, config=book_config(args),
                        progress=True)
    print(table.summary())
    print(f"done in {time.perf_counter() - start:.1f} s; outputs in {os.path.abspath(args.out)}")
    return 0 if table.ok else 1
