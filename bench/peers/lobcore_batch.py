"""lobcore's batch path: OrderBook.apply over the whole event array, one C
loop without the GIL.

With signals, a lob.feature_dtype(0) row per event (best bid/ask, their
level totals, microprice, top-level imbalance, volume delta) written into a
buffer made in prepare (so page faults of a fresh array are not timed).
"""
import numpy as np

import lob

NAME = "lobcore batch (OrderBook.apply)"
REQUIRES = []


def version():
    return lob.__version__


def prepare(events):
    events = np.ascontiguousarray(events)
    out = np.empty(len(events), dtype=lob.feature_dtype(0))
    out[:] = 0                                  # touch every page now, not in the timed run
    return events, out


def run(prepared, signals):
    events, out = prepared
    book = lob.OrderBook()
    if signals:
        book.apply(events, out=out)
    else:
        book.apply(events, record=False)
    return book


def top_of_book(prepared, n):
    events, _ = prepared
    rows = lob.OrderBook().apply(events[:n])
    return list(zip(rows["best_bid"].tolist(), rows["best_bid_qty"].tolist(), rows["best_ask"].tolist(),
                    rows["best_ask_qty"].tolist()))
