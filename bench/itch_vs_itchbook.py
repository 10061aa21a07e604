"""ITCH parse + apply: lobcore against itch-book (C++23, PyPI) on the same file, same run.

    python bench/itch_vs_itchbook.py [--events-per-stock 700000] [--repeat 7]

itch-book needs Python 3.12 or newer: the script looks for one (python3.13,
python3.12 on PATH, then pyenv's versions), builds bench/.venv-itchbook with
it and installs itch-book there.  Without one it prints the row as skipped.
Runs alternate between the two (noisy machine); the table reports medians
with min and max.  itch-book's final best bid/ask of every stock must equal
lobcore's before any time is reported.
"""
import argparse
import glob
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import lob
import lob.io

HERE = pathlib.Path(__file__).resolve().parent
VENV = HERE / ".venv-itchbook"

ITCH_BOOK_RUN = r"""
import json, sys, time
from itch_book import Session
blob = open(sys.argv[1], "rb").read()
session = Session(tables=["bbo"], depth=0, symbols=[])
session.reserve(len(blob) // 21)
start = time.perf_counter()
session.feed(blob)
seconds = time.perf_counter() - start
bbo = session.take_bbo()
last = {}
for i in range(len(bbo["locate"])):
    last[int(bbo["locate"][i])] = (int(bbo["bid_px"][i]), int(bbo["bid_sz"][i]), int(bbo["ask_px"][i]), int(bbo["ask_sz"][i]))
print(json.dumps({"seconds": seconds, "messages": session.stats()["messages"], "last": last}))
"""


def find_python312():
    candidates = [shutil.which(name) for name in ("python3.13", "python3.12")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")), reverse=True)
    for path in filter(None, candidates):
        out = subprocess.run([path, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                             capture_output=True, text=True)
        if out.stdout.strip() == "True":
            return path
    return None


def itch_book_python():
    python = VENV / "bin" / "python"
    if python.exists():
        return str(python), None
    base = find_python312()
    if base is None:
        return None, "no Python 3.12 or newer on this machine (itch-book needs one)"
    subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "itch-book"], capture_output=True, text=True)
    if install.returncode:
        return None, f"pip install itch-book failed: {install.stderr.strip().splitlines()[-1:]}"
    return str(python), None


def lobcore_run(blob):
    start = time.perf_counter()
    # a book per stock, made at its directory message; events go straight into it
    parser = lob.io.ItchParser()
    books = [None] * 65536
    parser.feed_books(blob, books, lambda locate, symbol: lob.OrderBook())
    seconds = time.perf_counter() - start
    last = {locate: (book.best_bid or 0, book.best_bid_qty, book.best_ask or 0, book.best_ask_qty)
            for locate, book in enumerate(books) if book is not None}
    return seconds, sum(parser.counts.values()), last


def main(argv=None):
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--events-per-stock", type=int, default=700_000)
    args.add_argument("--repeat", type=int, default=7)
    opts = args.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "synthetic.itch"
        streams = {name: lob.synth.generate(opts.events_per_stock, seed=seed, first_id=seed * 10**8)
                   for seed, name in enumerate(("AAPL", "MSFT", "NVDA"), start=1)}
        lob.synth.write_itch(streams, path)
        blob = path.read_bytes()
        python, why = itch_book_python()
        ours, theirs = [], []
        messages = 0
        for _ in range(opts.repeat):
            seconds, messages, last = lobcore_run(blob)
            ours.append(seconds)
            if python:
                out = subprocess.run([python, "-c", ITCH_BOOK_RUN, str(path)], capture_output=True, text=True)
                if out.returncode:
                    python, why = None, f"itch-book failed: {out.stderr.strip().splitlines()[-1:]}"
                    continue
                result = json.loads(out.stdout)
                their_last = {int(k): tuple(v) for k, v in result["last"].items()}
                if their_last != last:
                    python, why = None, f"itch-book disagrees on the final top of book: {their_last} vs {last}"
                    continue
                theirs.append(result["seconds"])
    size = len(blob)
    print(f"ITCH parse + apply, {messages:,} messages, {size / 1e6:.1f} MB, {opts.repeat} alternating runs, "
          f"{time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}")
    print("| implementation | ns/message median (min-max) | messages/s | vs lobcore |")
    print("|---|---:|---:|---:|")

    def row(name, runs, base):
        med = statistics.median(runs)
        print(f"| {name} | {med / messages * 1e9:.1f} ({min(runs) / messages * 1e9:.1f}-"
              f"{max(runs) / messages * 1e9:.1f}) | {messages / med / 1e6:.1f}M | {base / med:.2f}x |")

    base = statistics.median(ours)
    row("lobcore (ItchParser.feed_books)", ours, base)
    if theirs:
        row("itch-book 0.2 (Session.feed, bbo table)", theirs, base)
    else:
        print(f"| itch-book | skipped: {why} | | |")


if __name__ == "__main__":
    main()
