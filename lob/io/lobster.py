"""LOBSTER message and orderbook files (lobsterdata.com).

Prices stay in LOBSTER's integer unit (dollars x 10000); times become integer
nanoseconds after midnight, parsed exactly from the decimal text.
"""
import os
import warnings

import numpy as np

from lob._lobster import HALT_DTYPE, parse_book, parse_messages
from lob.depth import Depth

__all__ = ["read_lobster", "read_lobster_book", "LobsterHalt", "HALT_DTYPE", "DUMMY_ASK", "DUMMY_BID"]

#: LOBSTER's prices for an empty level in an orderbook file.
DUMMY_ASK = 9999999999
DUMMY_BID = -9999999999


class LobsterHalt(UserWarning):
    """A LOBSTER message file holds trading halts (type 7), which are not book
    events: read_lobster leaves them out of the events and warns with this."""


def _read_bytes(source):
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    path = os.fspath(source)
    with open(path, "rb") as f:
        return f.read(), path


def read_lobster(message_csv, *, with_halts=False, with_rows=False):
    """Events of a LOBSTER message file as an array of lob.EVENT_DTYPE.

    Types map to event kinds: 1 ADD, 2 REDUCE (qty cancelled), 3 CANCEL (qty
    = the size removed), 4 EXECUTE (side = the resting order's), 5 hidden
    execution -> TRADE (side = the aggressor's, the other side of the
    direction column; order id 0), 6 cross trade -> TRADE with side
    lob.NO_AGGRESSOR (2).  Type 7 (halt) rows are
    not events: they are reported with a LobsterHalt warning, or returned
    when with_halts is true, as an array of (row, ts, state), state -1 halt,
    0 quoting resumes, 1 trading resumes.

    message_csv: a path or the file's bytes; a header line and CRLF line ends
    are accepted.  Malformed input raises ValueError naming the line.
    Returns events, or (events, halts) / (events, halts, rows) where rows[i]
    is event i's 0-based data row (row i of the orderbook file is the book
    after message row i).
    """
    data, source = _read_bytes(message_csv)
    events, halts, rows = parse_messages(data, source)
    if len(halts) and not with_halts:
        warnings.warn(f"{source}: {len(halts)} trading-halt rows (type 7) are not book events; first at row "
                      f"{int(halts['row'][0])}; read_lobster(..., with_halts=True) returns them",
                      LobsterHalt, stacklevel=2)
    if with_rows:
        return events, halts, rows
    return (events, halts) if with_halts else events


def read_lobster_book(orderbook_csv):
    """A LOBSTER orderbook file as lob.Depth(bid_price, bid_qty, ask_price,
    ask_qty) of int64 arrays shaped (rows, levels), best level first.  Row i
    is the book after message i.  Empty levels (LOBSTER's dummy prices
    +-9999999999 with size 0) become price 0 and qty 0, as in
    OrderBook.apply's depth features."""
    data, source = _read_bytes(orderbook_csv)
    m = parse_book(data, source)
    ask_price, ask_qty, bid_price, bid_qty = (np.ascontiguousarray(m[:, k::4]) for k in range(4))
    ask_price[ask_price == DUMMY_ASK] = 0
    bid_price[bid_price == DUMMY_BID] = 0
    return Depth(bid_price, bid_qty, ask_price, ask_qty)


class LobsterCheck:
    """The result of check_lobster: rows matched, rows compared, resyncs and
    the first mismatches (row, side, what the book had, what the file has)."""

    def __init__(self, total, levels):
        self.total = total
        self.levels = levels
        self.matched = 0
        self.resynced = 0
        self.resynced_levels = 0
        self.mismatches = []
        self.rejected = []      # (row, reason) of messages the book refused

    @property
    def ok(self):
        return self.matched == self.total

    def __repr__(self):
        return f"<LobsterCheck matched {self.matched}/{self.total} rows, {self.resynced} resynced>"


def _padded(prices, qtys, levels):
    p = np.zeros(levels, dtype=np.int64)
    q = np.zeros(levels, dtype=np.int64)
    p[: len(prices)] = prices[:levels]
    q[: len(qtys)] = qtys[:levels]
    return p, q


def _set_level(book, side, price, target):
    """Make the level at (side, price) total `target`: its anonymous qty takes
    the difference; known orders the file no longer has (they were cancelled
    silently while outside the window) go, oldest first.  True if it changed."""
    total = book.level_qty(side, price)
    if total == target:
        return False
    known = [(oid, book.order(oid)[2]) for oid in book.orders_at(side, price)]
    known_qty = sum(qty for _, qty in known)
    anonymous = total - known_qty
    for oid, qty in known:
        if known_qty <= target:
            break
        book.cancel(oid)
        known_qty -= qty
    wanted = target - known_qty
    if wanted > anonymous:
        book.seed(side, price, wanted - anonymous)
    elif wanted < anonymous:
        book.cancel_anonymous(side, price, anonymous - wanted)
    return True


def _resync_side(book, side, file_prices, file_qtys, previous_window):
    """Levels that entered the file's window from outside take their size from
    the file, and a level of ours inside the file's window that the file does
    not have (it went silently while outside) goes.  Returns levels changed."""
    changed = 0
    for price, qty in zip(file_prices.tolist(), file_qtys.tolist()):
        if price != 0 and price not in previous_window:
            changed += _set_level(book, side, price, qty)
    listed = file_prices[file_prices != 0]
    if len(listed) == 0:
        return changed
    worst = int(listed.min() if side == 0 else listed.max())
    present = set(listed.tolist())
    d = book.depth(len(file_prices))
    for price in (d.bid_price if side == 0 else d.ask_price).tolist():
        inside = price > worst if side == 0 else price < worst
        if inside and price not in present and price not in previous_window:
            changed += _set_level(book, side, price, 0)
    return changed


def check_lobster(message_csv, orderbook_csv, *, max_mismatches=5):
    """Replay a LOBSTER message file from its first orderbook row and compare
    the book with every orderbook row at every level.

    The book starts as orderbook row 0 (the book after message 0, seeded as
    anonymous qty that unknown-id cancels and executions draw down) and
    replays messages 1 onward.  A LOBSTER file only carries events inside its
    top-K window, so a level that enters the window from outside takes its
    size from the file ("resynced"); every other row must come from the
    messages alone.  Returns a LobsterCheck.
    """
    events, halts, rows = read_lobster(message_csv, with_halts=True, with_rows=True)
    snap = read_lobster_book(orderbook_csv)
    n_rows, levels = snap.bid_price.shape
    if n_rows != len(events) + len(halts):
        raise ValueError(f"the message file has {len(events) + len(halts)} rows but the orderbook file {n_rows}")
    result = LobsterCheck(n_rows, levels)
    if n_rows == 0:
        return result
    from lob import OrderBook

    book = OrderBook.from_depth(snap.bid_price[0], snap.bid_qty[0], snap.ask_price[0], snap.ask_qty[0])
    event_at_row = np.full(n_rows, -1, dtype=np.int64)
    event_at_row[rows] = np.arange(len(events))
    window = (set(snap.bid_price[0].tolist()), set(snap.ask_price[0].tolist()))
    result.matched = 1
    for r in range(1, n_rows):
        j = event_at_row[r]
        if j >= 0:
            book.apply(events[j : j + 1], record=False, on_error="skip")
            if book.last_rejected:
                result.rejected.append((r, next(iter(book.last_rejected))))
        file_rows = ((snap.bid_price[r], snap.bid_qty[r]), (snap.ask_price[r], snap.ask_qty[r]))
        changed = sum(_resync_side(book, side, p, q, window[side]) for side, (p, q) in enumerate(file_rows))
        if changed:
            result.resynced += 1
            result.resynced_levels += changed
        d = book.depth(levels)
        ours = (_padded(d.bid_price, d.bid_qty, levels), _padded(d.ask_price, d.ask_qty, levels))
        good = True
        for side in (0, 1):
            if not (np.array_equal(ours[side][0], file_rows[side][0])
                    and np.array_equal(ours[side][1], file_rows[side][1])):
                good = False
                if len(result.mismatches) < max_mismatches:
                    result.mismatches.append((r, ("bid", "ask")[side], list(zip(*(a.tolist() for a in ours[side]))),
                                              list(zip(*(a.tolist() for a in file_rows[side])))))
        result.matched += good
        window = (set(snap.bid_price[r].tolist()), set(snap.ask_price[r].tolist()))
    return result
