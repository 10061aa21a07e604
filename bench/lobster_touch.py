"""Execution at the touch, messages alone (issue 10's measure).

    python bench/lobster_touch.py [MESSAGE_CSV [ORDERBOOK_CSV]]

For every visible execution (type 4) of a LOBSTER message file after row 0:
is our best price on its side, in the book after the previous message row,
the execution's price?  A visible execution happens at the touch, so this is
how well a replay of the message file alone knows the book where the file
proves it.  Printed for:

- raw: the messages applied as they are (refused events skipped; the replay
  before the repair),
- causal: lob.io.read_lobster_stream(msg, lookahead=False), every repair just
  before the message that proves it,
- lookahead: lob.io.read_lobster_stream(msg) (the default), a repair of a
  side's touch just after that side's previous message.  This uses the
  execution's own evidence for the interval before it, so its touch rate is
  near 100% by construction;

and, with the orderbook file (a check that uses nothing the repair used),
the rows whose best bid and best ask equal the file's.  Without arguments:
the shared GOOG and AAPL samples.
"""
import pathlib
import sys
import time

import numpy as np

import lob
import lob.io

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"
SAMPLES = [(SHARED / "GOOG_2012-06-21_34200000_57600000_message_1.csv",
            SHARED / "GOOG_2012-06-21_34200000_57600000_orderbook_1.csv"),
           (SHARED / "AAPL_2012-06-21_34200000_57600000_message_10.csv",
            SHARED / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv")]


def raw_touch(message_csv, orderbook_csv):
    """The same measure for the messages applied as they are."""
    messages = lob.io.read_lobster_messages(message_csv)
    # rows of refused events still count: the book simply did not change there
    feats = lob.OrderBook().apply(messages.events, on_error="skip")
    n_rows = int(messages.rows[-1]) + 1
    ends = np.searchsorted(messages.rows, np.arange(n_rows), side="right")
    has = ends > 0
    best = np.zeros((2, n_rows), dtype=np.int64)
    best[0][has] = feats["best_bid"][ends[has] - 1]
    best[1][has] = feats["best_ask"][ends[has] - 1]
    ev, rows = messages.events, messages.rows
    pick = (ev["kind"] == lob.EXECUTE) & (rows > 0)
    before = best[ev["side"][pick].astype(np.int64), rows[pick] - 1]
    at = int(np.count_nonzero(before == ev["price"][pick]))
    top = None
    if orderbook_csv is not None:
        depth = lob.io.read_lobster_book(orderbook_csv)
        top = np.count_nonzero((best[0] == depth.bid_price[:n_rows, 0]) & (best[1] == depth.ask_price[:n_rows, 0]))
    return at, int(np.count_nonzero(pick)), top, n_rows


def report(message_csv, orderbook_csv):
    print(f"{pathlib.Path(message_csv).name}")
    at, total, top, n_rows = raw_touch(message_csv, orderbook_csv)
    line = f"  raw         executions at our touch {at:,}/{total:,} ({100 * at / max(total, 1):5.1f}%)"
    if top is not None:
        line += f"   top of book = file {top:,}/{n_rows:,} rows ({100 * top / n_rows:5.1f}%)"
    print(line)
    for name, lookahead in (("causal", False), ("lookahead", True)):
        start = time.perf_counter()
        stream = lob.io.read_lobster_stream(message_csv, lookahead=lookahead)
        seconds = time.perf_counter() - start
        touch = lob.io.lobster_touch_rate(stream, orderbook_csv)
        line = (f"  {name:<11} executions at our touch {touch.at_touch:,}/{touch.executions:,} "
                f"({100 * touch.rate:5.1f}%)")
        if orderbook_csv is not None:
            line += f"   top of book = file {touch.top_equal:,}/{touch.rows:,} rows ({100 * touch.top_rate:5.1f}%)"
        print(line + f"   [{stream.stale_levels:,} stale levels dropped, {stream.unknown:,} messages of unknown "
                     f"ids, built in {seconds:.3f} s]")


def main(argv):
    if argv:
        report(argv[0], argv[1] if len(argv) > 1 else None)
        return 0
    found = [pair for pair in SAMPLES if pair[0].exists()]
    if not found:
        print("no shared LOBSTER samples at", SHARED, file=sys.stderr)
        return 2
    for pair in found:
        report(*pair)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
