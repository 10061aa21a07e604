"""ITCH parse + apply: lobcore against itch-book (C++23, PyPI) on the same file, same run.

    python bench/itch_vs_itchbook.py [--events-per-stock 700000] [--repeat 7]

itch-book needs Python 3.12 or newer: the script uses the peer venv
(bench/.venv-peers, built by bench/peers/venv.py with a Python 3.12+ it finds)
and installs itch-book there.  Without one it prints the row as skipped.
Runs alternate between the two (noisy machine); the table reports medians
with min and max.  itch-book's final best bid/ask of every stock must equal
lobcore's before any time is reported.
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import lob
import lob.io

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from peers import venv as peer_venv  # noqa: E402
from peers.venv import module_requires  # noqa: E402


def itch_book_python():
    """The peer venv's python with itch-book installed (bench/.venv-peers, Python >= 3.12)."""
    python, why = peer_venv.peer_python({"itchbook": module_requires("itchbook")})
    if python is None or (why and "itchbook" in why):
        return None, why
    return python, None


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


def run_rounds(events_per_stock, rounds, python, why=None, log=lambda message: None):
    """Write three synth stocks as one ITCH file, then `rounds` alternating
    runs of lobcore and (when `python` has itch-book and `why` is None)
    itch-book; itch-book's final top of book must equal lobcore's.  Returns
    {messages, bytes, lobcore: [s], itch-book: [s], itch-book version,
    skipped: the reason itch-book has no runs, or None}."""
    with tempfile.TemporaryDirectory(prefix="lob-itch-") as tmp:
        path = pathlib.Path(tmp) / "synthetic.itch"
        streams = {name: lob.synth.generate(events_per_stock, seed=seed, first_id=seed * 10**8)
                   for seed, name in enumerate(("AAPL", "MSFT", "NVDA"), start=1)}
        lob.synth.write_itch(streams, path)
        blob = path.read_bytes()
        ours, theirs, version, messages = [], [], None, 0
        if python is None and why is None:
            why = "no Python with itch-book"
        for rnd in range(rounds):
            log(f"ITCH round {rnd + 1}/{rounds}")
            seconds, messages, last = lobcore_run(blob)
            ours.append(seconds)
            if why is not None:
                continue
            out = subprocess.run([python, str(HERE / "peers" / "itchbook.py"), str(path)],
                                 capture_output=True, text=True)
            if out.returncode:
                why = f"itch-book failed: {out.stderr.strip().splitlines()[-1:]}"
                continue
            result = json.loads(out.stdout)
            their_last = {int(k): tuple(v) for k, v in result["last"].items()}
            if their_last != last:
                why = f"itch-book disagrees on the final top of book: {their_last} vs {last}"
                continue
            theirs.append(result["seconds"])
            version = result["version"]
    return {"messages": messages, "bytes": len(blob), "lobcore": ours, "itch-book": theirs,
            "itch-book version": version, "skipped": why if not theirs else None}


def main(argv=None):
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--events-per-stock", type=int, default=700_000)
    args.add_argument("--repeat", type=int, default=7)
    opts = args.parse_args(argv)
    python, why = itch_book_python()
    result = run_rounds(opts.events_per_stock, opts.repeat, python, why)
    messages, ours, theirs = result["messages"], result["lobcore"], result["itch-book"]
    print(f"ITCH parse + apply, {messages:,} messages, {result['bytes'] / 1e6:.1f} MB, {opts.repeat} alternating "
          f"runs, {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}")
    print("| implementation | ns/message median (min-max) | messages/s | vs lobcore |")
    print("|---|---:|---:|---:|")

    def row(name, runs, base):
        med = statistics.median(runs)
        print(f"| {name} | {med / messages * 1e9:.1f} ({min(runs) / messages * 1e9:.1f}-"
              f"{max(runs) / messages * 1e9:.1f}) | {messages / med / 1e6:.1f}M | {base / med:.2f}x |")

    base = statistics.median(ours)
    row("lobcore (ItchParser.feed_books)", ours, base)
    if theirs:
        row(f"itch-book {result['itch-book version']} (Session.feed, bbo table)", theirs, base)
    else:
        print(f"| itch-book | skipped: {result['skipped']} | | |")


if __name__ == "__main__":
    main()
