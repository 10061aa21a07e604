"""LOBSTER message and orderbook files (lobsterdata.com).

Prices stay in LOBSTER's integer unit (dollars x 10000); times become integer
nanoseconds after midnight, parsed exactly from the decimal text.

A level-K LOBSTER message file holds only the messages that change the top K
levels of a side, and its first row comes after orders that rested before the
file began.  So:

- ``read_lobster_messages(path)``: the messages as they are (events, halts,
  rows).
- ``read_lobster(message_csv, orderbook_csv)`` / ``read_lobster_stream``: with
  the orderbook file, one event stream that reproduces the file's book: row 0
  seeded as ANON events, then every message, then the size of each level that
  entered the window from outside (ANON / CANCEL events).  Replayed into an
  empty ``OrderBook`` it equals the orderbook file at every level after every
  message row.
- ``read_lobster_stream(message_csv)``: a message file alone, repaired where
  the file proves the book stale (levels dropped as events, orders the file
  never added seeded from their own messages).  Levels outside the window
  cannot be known from the messages.
"""
from __future__ import annotations

import os
import re
import warnings
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, Union

import numpy as np
import numpy.typing as npt

from lob._lobster import (DUMMY_ASK, DUMMY_BID, HALT_DTYPE, faithful_stream, format_int_rows, messages_stream,
                          parse_book, parse_messages)
from lob.depth import Depth
from lob.dtypes import EVENT_DTYPE
from lob.errors import error
from lob.kinds import ADD, CANCEL, CLEAR, EXECUTE, MODIFY, REDUCE, TRADE

if TYPE_CHECKING:
    from lob._book import OrderBook

__all__ = ["read_lobster", "read_lobster_messages", "read_lobster_stream", "read_lobster_book", "write_lobster",
           "check_lobster", "lobster_touch_rate", "LobsterMessages", "LobsterStream", "LobsterCheck",
           "LobsterTouch", "LobsterHalt", "LobsterMismatch", "HALT_DTYPE", "DUMMY_ASK", "DUMMY_BID"]

#: A path, or the file's bytes.
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]
Events = npt.NDArray[np.void]

# far ends of a window that covers a whole side (see lob._lobster.window_bounds)
_FAR = 1 << 62
_CHUNK = 1 << 16


class LobsterHalt(UserWarning):
    """A LOBSTER message file holds trading halts (type 7), which are not book
    events: read_lobster leaves them out of the events and warns with this."""


class LobsterMismatch(UserWarning):
    """read_lobster(message_csv, orderbook_csv): the messages did not
    reproduce some rows of the orderbook file (they were set from the file,
    or a message could not apply); read_lobster_stream lists them."""


class LobsterMessages(NamedTuple):
    """The messages of a LOBSTER file as they are.

    events: lob.EVENT_DTYPE, one per message row except halts (type 7).
    halts: HALT_DTYPE (row, ts, state): -1 halt, 0 quoting resumes, 1
        trading resumes.
    rows: int64, each event's 0-based message row (orderbook row i is the
        book after message row i).
    """

    events: Events
    halts: npt.NDArray[np.void]
    rows: npt.NDArray[np.int64]


class LobsterStream(NamedTuple):
    """An event stream built from a LOBSTER file, ready for
    ``lob.OrderBook().apply(stream.events)`` and every other consumer.

    events: lob.EVENT_DTYPE: the messages, and the events that repair the
        book where the file proves it (ANON for anonymous qty, CANCEL of
        known orders).  Repair events carry their row's time.
    rows: int64 per event, the message row it belongs to (non-decreasing):
        the book after applying every event of rows <= r is the book after
        message row r.
    message_event: int64 per message row, the index in events of the
        message's own event (-1: a halt, row 0 of a pair, or a message that
        could not apply).
    messages: the messages as read (LobsterMessages).
    levels: K of the orderbook file, or for a message file alone the level
        its name says (``_message_K.csv``) or that was given; None unknown.
    faithful: built with the orderbook file.
    resynced: rows where a level that entered the file's window from outside
        took its size from the orderbook file (or one of ours the file no
        longer had went).
    resynced_levels: levels set that way.
    forced: rows the messages and that rule did not reproduce, set from the
        orderbook file (none on LOBSTER's files; a wrong pair shows here).
    unreproduced: rows that still differ from the file (e.g. a crossed
        orderbook row, which a book cannot hold).
    refused: (row, reason) of messages the book could not take (left out).
    unknown: messages naming an order id the file never added before.
    unknown_left: of those, messages alone: the ones the book had no qty for
        (an execution is kept as a TRADE print, a cancel is left out).
    stale_levels: levels dropped because the file proved them gone.
    relabelled: known orders whose size or place a message proved stale
        (turned into anonymous qty at their level, or resized).
    settled: rows where, after a message of an order that had sat outside
        the window (its size may have changed unseen), the file's total at
        its level settled the order's size.
    """

    events: Events
    rows: npt.NDArray[np.int64]
    message_event: npt.NDArray[np.int64]
    messages: LobsterMessages
    levels: Optional[int]
    faithful: bool
    resynced: npt.NDArray[np.int64]
    resynced_levels: int
    forced: npt.NDArray[np.int64]
    unreproduced: npt.NDArray[np.int64]
    refused: tuple[tuple[int, str], ...]
    unknown: int
    unknown_left: int
    stale_levels: int
    relabelled: int
    settled: npt.NDArray[np.int64]

    def row_ends(self) -> npt.NDArray[np.int64]:
        """Per message row r, how many events come up to and including it:
        the book after row r is the book after events[:row_ends()[r]]."""
        return np.searchsorted(self.rows, np.arange(len(self.message_event)), side="right").astype(np.int64)


def _features(book: "OrderBook", events: Events, depth: int = 0, out: Optional[Events] = None) -> Events:
    """book.apply(events, depth, out=out): the feature rows (never None here)."""
    rows = book.apply(events, depth=depth, out=out)
    assert rows is not None
    return rows


def _read_bytes(source: Source) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    path = os.fspath(source)
    with open(path, "rb") as f:
        return f.read(), str(path)


def read_lobster_messages(message_csv: Source) -> LobsterMessages:
    """The messages of a LOBSTER message file, as they are: events (one
    lob.EVENT_DTYPE row per message row except halts), halts and each
    event's row (see LobsterMessages).

    Types map to event kinds: 1 ADD, 2 REDUCE (qty cancelled), 3 CANCEL (qty
    = the size removed), 4 EXECUTE (side = the resting order's), 5 hidden
    execution -> TRADE (side = the aggressor's, the other side of the
    direction column; order id 0), 6 cross trade -> TRADE with side
    lob.NO_AGGRESSOR (2).  message_csv: a path or the file's bytes; a header
    line, a byte order mark and CRLF line ends are accepted.  A malformed
    row raises lob.errors.ParseError naming the file, the line, the column
    and the value; so does a file with no data row.
    """
    data, source = _read_bytes(message_csv)
    return LobsterMessages(*parse_messages(data, source))


def read_lobster(message_csv: Source, orderbook_csv: Optional[Source] = None, *,
                 with_halts: Optional[bool] = None, with_rows: Optional[bool] = None) -> Any:
    """The events of a LOBSTER file as an array of lob.EVENT_DTYPE.

    Without orderbook_csv: the messages as they are (see
    read_lobster_messages; a level-K file alone lacks what rested before it
    began and what changed outside its window).  With orderbook_csv, the
    stream that reproduces the pair (see read_lobster_stream): replayed into
    an empty OrderBook it equals the orderbook file after every message row
    at every level; LobsterMismatch warns where it does not.

    Type 7 rows (halts) are not events: a LobsterHalt warning reports them
    (read_lobster_messages returns them).  The flags with_halts / with_rows
    are deprecated: they returned (events, halts) / (events, halts, rows),
    which read_lobster_messages returns now.
    """
    if with_halts is not None or with_rows is not None:
        warnings.warn("read_lobster(..., with_halts=, with_rows=) is deprecated: "
                      "read_lobster_messages(path) returns (events, halts, rows)", DeprecationWarning, stacklevel=2)
        if orderbook_csv is not None:
            raise TypeError("with_halts / with_rows do not apply with an orderbook file: "
                            "read_lobster_stream(message_csv, orderbook_csv) returns the rows and halts")
        messages = read_lobster_messages(message_csv)
        if with_rows:
            return messages
        if with_halts:
            return messages.events, messages.halts
        events, halts = messages.events, messages.halts
    elif orderbook_csv is None:
        events, halts = read_lobster_messages(message_csv)[:2]
    else:
        stream = read_lobster_stream(message_csv, orderbook_csv)
        events, halts = stream.events, stream.messages.halts
        if len(stream.forced) or len(stream.unreproduced) or stream.refused:
            warnings.warn(f"{_name(message_csv)}: the messages did not reproduce {len(stream.forced)} rows of "
                          f"{_name(orderbook_csv)} (set from it), {len(stream.unreproduced)} rows still differ, "
                          f"{len(stream.refused)} messages could not apply; read_lobster_stream lists them",
                          LobsterMismatch, stacklevel=2)
    if len(halts):
        warnings.warn(f"{_name(message_csv)}: {len(halts)} trading-halt rows (type 7) are not book events; first "
                      f"at row {int(halts['row'][0])}; read_lobster_messages returns them", LobsterHalt,
                      stacklevel=2)
    return events


def _name(source: Source) -> str:
    return "<bytes>" if isinstance(source, (bytes, bytearray, memoryview)) else str(os.fspath(source))


def read_lobster_book(orderbook_csv: Source) -> Depth:
    """A LOBSTER orderbook file as lob.Depth(bid_price, bid_qty, ask_price,
    ask_qty) of int64 arrays shaped (rows, levels), best level first.  Row i
    is the book after message i.  Empty levels (LOBSTER's dummy prices
    +-9999999999 with size 0) become price 0 and qty 0, as in
    OrderBook.apply's depth features.  ParseError on a malformed file."""
    data, source = _read_bytes(orderbook_csv)
    return _depth_of(parse_book(data, source))


def _depth_of(matrix: npt.NDArray[np.int64]) -> Depth:
    ask_price, ask_qty, bid_price, bid_qty = (np.ascontiguousarray(matrix[:, k::4]) for k in range(4))
    ask_price[(ask_price == DUMMY_ASK) | (ask_qty == 0)] = 0
    bid_price[(bid_price == DUMMY_BID) | (bid_qty == 0)] = 0
    return Depth(bid_price, bid_qty, ask_price, ask_qty)


def _levels_from_name(source: Source) -> Optional[int]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return None
    match = re.search(r"_message_(\d+)\.csv$", os.path.basename(os.fspath(source)))
    return int(match.group(1)) if match else None


def _unknown_messages(events: Events) -> int:
    """Messages (CANCEL / REDUCE / EXECUTE) naming an id not added before them in the file."""
    kind, oid = events["kind"], events["order_id"]
    added = np.nonzero(kind == ADD)[0]
    refs = np.nonzero((kind == CANCEL) | (kind == REDUCE) | (kind == EXECUTE))[0]
    if len(refs) == 0:
        return 0
    ids, first = np.unique(oid[added], return_index=True)
    first_add = added[first]
    pos = np.searchsorted(ids, oid[refs])
    pos_ok = np.minimum(pos, max(len(ids) - 1, 0))
    known = (len(ids) > 0) & (ids[pos_ok] == oid[refs]) & (first_add[pos_ok] < refs) if len(ids) else \
        np.zeros(len(refs), dtype=bool)
    return int(len(refs) - np.count_nonzero(known))


def _file_rows(matrix: npt.NDArray[np.int64], lo: int, hi: int) -> npt.NDArray[np.int64]:
    """Rows lo:hi of an orderbook matrix as OrderBook.apply's depth columns:
    bid prices, bid qtys, ask prices, ask qtys (K each), empty levels 0."""
    part = matrix[lo:hi]
    ask_price, ask_qty, bid_price, bid_qty = (part[:, k::4] for k in range(4))
    ask_price = np.where((ask_price == DUMMY_ASK) | (ask_qty == 0), 0, ask_price)
    bid_price = np.where((bid_price == DUMMY_BID) | (bid_qty == 0), 0, bid_price)
    return np.concatenate([bid_price, bid_qty, ask_price, ask_qty], axis=1)


def _differing_rows(events: Events, event_rows: npt.NDArray[np.int64],
                    matrix: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The rows where an empty OrderBook fed `events` differs from the
    orderbook file at any level (chunked, so memory stays bounded)."""
    from lob import OrderBook
    from lob.dtypes import feature_dtype

    n_rows, k = matrix.shape[0], matrix.shape[1] // 4
    ends = np.searchsorted(event_rows, np.arange(n_rows), side="right") - 1    # last event of each row
    dtype = feature_dtype(k)
    book = OrderBook()
    buffer = np.empty(min(_CHUNK, max(len(events), 1)), dtype=dtype)
    bad = []
    # rows before the first event: an empty book
    empty_rows = np.nonzero(ends < 0)[0]
    if len(empty_rows):
        wrong = _file_rows(matrix, 0, len(empty_rows)).any(axis=1)
        bad.append(empty_rows[wrong])
    for lo in range(0, len(events), _CHUNK):
        hi = min(lo + _CHUNK, len(events))
        feats = _features(book, events[lo:hi], k, buffer)
        first, last = np.searchsorted(ends, [lo, hi])
        if first == last:
            continue
        ours = feats[ends[first:last] - lo]
        if k:
            ours_levels = np.concatenate([ours["bid_price"], ours["bid_qty"], ours["ask_price"], ours["ask_qty"]],
                                         axis=1)
        else:
            ours_levels = np.zeros((last - first, 0), dtype=np.int64)
        wrong = (ours_levels != _file_rows(matrix, first, last)).any(axis=1)
        bad.append(np.arange(first, last)[wrong])
    return np.concatenate(bad).astype(np.int64) if bad else np.zeros(0, dtype=np.int64)


def read_lobster_stream(message_csv: Source, orderbook_csv: Optional[Source] = None, *,
                        levels: Optional[int] = None, lookahead: bool = True) -> LobsterStream:
    """The event stream of a LOBSTER file, with its row mapping and counts
    (LobsterStream).  Replay it into an empty OrderBook:
    ``lob.OrderBook().apply(stream.events)``.

    With orderbook_csv (the faithful stream): orderbook row 0 (the book
    after message 0) is seeded as ANON events (message 0 itself, when a
    trade, as a TRADE print first); messages 1 on follow, each made to fit
    what the file proves: a delete removes exactly its size; an order the
    book does not hold draws on the anonymous qty at its price; an order
    that moved or was added again while outside the window leaves its old
    place; after a partial cancel or execution of an order that sat outside
    the window, the file's total at its level settles the order's size
    (``settled``; a full execution of an order reduced unseen leaves no
    remainder).  After
    each message, a level that entered the file's top-K window from outside
    takes its size from the file: our levels the file's window no longer
    has go first (both sides, so a level that left one side and came back
    on the other never crosses), then known orders the file no longer has
    go as CANCEL events, oldest first, and the rest is an ANON event.  The
    stream is then replayed and compared with every row; a row that still
    differs (never on LOBSTER's own files) is set from the file and listed
    in ``forced``.  Message and orderbook files must have the same number
    of rows (ParseError otherwise).

    Without it (messages alone): the book starts empty; a message proves
    the other side holds nothing at or through its price, a visible
    execution (and in a level-1 file any message) proves its price is its
    side's touch, and a message of an order the file never added proves
    that order rested there with the sizes of its messages.  Levels proven
    stale are dropped as events (stale_levels); such orders are seeded as
    anonymous qty.  With lookahead (default), what a message proves about
    its side's touch is applied just after the previous message of that
    side (the touch of a side changes only with its own messages), so the
    book between them is the one the message proves; without, just before
    the message itself.  levels: K of the file (default: from a name like
    ``..._message_10.csv``); K = 1 enables the level-1 rule.  A message
    file alone cannot reproduce the levels outside its window.
    """
    messages = read_lobster_messages(message_csv)
    events, halts, rows = messages
    if orderbook_csv is None:
        if levels is None:
            levels = _levels_from_name(message_csv)
        built = messages_stream(events, rows, levels, lookahead)
        return LobsterStream(built["events"], built["rows"], built["message_event"], messages, levels, False,
                             np.zeros(0, np.int64), 0, np.zeros(0, np.int64), np.zeros(0, np.int64),
                             tuple(built["refused"]), built["unknown"], built["unknown_left"], built["stale"],
                             built["relabelled"], np.zeros(0, np.int64))
    return _pair_stream(messages, message_csv, orderbook_csv)[0]


def _pair_stream(messages: LobsterMessages, message_csv: Source, orderbook_csv: Source,
                 max_details: int = 0) -> tuple[LobsterStream, list[Any], npt.NDArray[np.int64]]:
    """The faithful stream of a pair, the builder's notes on its first
    forced rows (row, our depth before, the file's levels), and the
    orderbook matrix."""
    events, halts, rows = messages
    data, book_source = _read_bytes(orderbook_csv)
    matrix = parse_book(data, book_source)
    n_rows = len(events) + len(halts)
    if matrix.shape[0] != n_rows:
        raise error(26, source=book_source,
                    detail=f"{matrix.shape[0]:,} rows, but {_name(message_csv)} has {n_rows:,}: not a LOBSTER pair, "
                           f"or one of them is cut short")
    built, still = _faithful(events, rows, matrix, max_details)
    stream = LobsterStream(built["events"], built["rows"], built["message_event"], messages, matrix.shape[1] // 4,
                           True, built["resynced"], built["resynced_levels"], built["forced"], still,
                           tuple(built["refused"]), _unknown_messages(events), 0, built["stale"],
                           built["relabelled"], built["settled"])
    return stream, built["details"], matrix


def _faithful(events: Events, rows: npt.NDArray[np.int64], matrix: npt.NDArray[np.int64],
              max_details: int = 5) -> tuple[dict[str, Any], npt.NDArray[np.int64]]:
    """Build the faithful stream; replay and compare it with every row; set
    the rows that differ from the file and build again (each pass settles
    at least the first row that differed).  Returns the build and the rows
    that still differ."""
    forced: set[int] = set()
    for _ in range(16):
        built = faithful_stream(events, rows, matrix, sorted(forced), max_details)
        differ = _differing_rows(built["events"], built["rows"], matrix)
        fresh = set(differ.tolist()) - forced
        if not fresh:
            return built, differ
        forced |= fresh
    return built, differ


def check_lobster(message_csv: Source, orderbook_csv: Source, *, max_mismatches: int = 5) -> "LobsterCheck":
    """Replay a LOBSTER pair and compare the book with every orderbook row at
    every level: the faithful stream of read_lobster_stream, replayed.

    A row matches when the messages, plus the size of each level that
    entered the window from outside (taken from the file: "resynced"),
    reproduce it.  Rows that needed more from the file, or still differ,
    are mismatches (the first max_mismatches are kept with our levels and
    the file's); messages the book could not take are listed in rejected.
    Returns a LobsterCheck.
    """
    stream, notes, matrix = _pair_stream(read_lobster_messages(message_csv), message_csv, orderbook_csv,
                                         max(int(max_mismatches), 0))
    n_rows = len(stream.message_event)
    result = LobsterCheck(n_rows, int(stream.levels or 0), stream)
    bad = sorted(set(stream.forced.tolist()) | set(stream.unreproduced.tolist()))
    result.matched = n_rows - len(bad)
    result.resynced = len(stream.resynced)
    result.resynced_levels = stream.resynced_levels
    result.rejected = list(stream.refused)
    for row, ours, listed in notes:
        result.mismatches += _differences(row, ours, listed)
    still = stream.unreproduced.tolist()[:max(int(max_mismatches) - len(result.mismatches), 0)]
    if still:
        from lob import OrderBook

        ends = stream.row_ends()
        book, done = OrderBook(), 0
        for row in still:
            book.apply(stream.events[done:ends[row]], record=False)
            done = int(ends[row])
            k = matrix.shape[1] // 4
            theirs = _depth_of(matrix[row:row + 1])
            listed = ({p: q for p, q in zip(theirs.bid_price[0].tolist(), theirs.bid_qty[0].tolist()) if q},
                      {p: q for p, q in zip(theirs.ask_price[0].tolist(), theirs.ask_qty[0].tolist()) if q})
            result.mismatches += _differences(row, book.depth(k), listed)
    result.mismatches = result.mismatches[:max(int(max_mismatches), 0)]
    return result


def _differences(row: int, ours: Depth, listed: tuple[dict[int, int], dict[int, int]]
                 ) -> list[tuple[int, str, list[tuple[int, int]], list[tuple[int, int]]]]:
    """(row, side, our levels, the file's) for each side where they differ."""
    out = []
    for name, prices, qtys, theirs in (("bid", ours.bid_price, ours.bid_qty, listed[0]),
                                       ("ask", ours.ask_price, ours.ask_qty, listed[1])):
        mine = list(zip(prices.tolist(), qtys.tolist()))
        file_levels = sorted(theirs.items(), reverse=name == "bid")
        if mine != file_levels:
            out.append((row, name, mine, file_levels))
    return out


class LobsterCheck:
    """The result of check_lobster: rows matched, rows compared, resynced
    rows, the first mismatches (row, side, what the book had, what the file
    has), messages the book refused (row, reason), and the stream."""

    def __init__(self, total: int, levels: int, stream: Optional[LobsterStream] = None) -> None:
        self.total = total
        self.levels = levels
        self.stream = stream
        self.matched = 0
        self.resynced = 0
        self.resynced_levels = 0
        self.mismatches: list[tuple[int, str, list[tuple[int, int]], list[tuple[int, int]]]] = []
        self.rejected: list[tuple[int, str]] = []

    @property
    def ok(self) -> bool:
        """Every row matched and no message was refused."""
        return self.matched == self.total and not self.rejected

    def __repr__(self) -> str:
        return f"<LobsterCheck matched {self.matched}/{self.total} rows, {self.resynced} resynced>"


class LobsterTouch(NamedTuple):
    """How well a stream knows the touch (lobster_touch_rate).

    executions: visible executions (type 4) after row 0.
    at_touch: of those, how many found our best price on their side, in
        the book after the previous message row, at the execution's price.
    rows, top_equal: with an orderbook file, rows compared and rows whose
        best bid and best ask prices equal the file's (0, 0 without).
    """

    executions: int
    at_touch: int
    rows: int
    top_equal: int

    @property
    def rate(self) -> float:
        """at_touch / executions (nan without executions)."""
        return self.at_touch / self.executions if self.executions else float("nan")

    @property
    def top_rate(self) -> float:
        """top_equal / rows (nan without an orderbook file)."""
        return self.top_equal / self.rows if self.rows else float("nan")


def lobster_touch_rate(stream: LobsterStream, orderbook_csv: Optional[Source] = None) -> LobsterTouch:
    """Execution at the touch: for every visible execution (type 4) of the
    file after row 0, is our best price on its side, after the previous
    message row, the execution's price?  A visible execution happens at the
    touch, so this measures how well the stream knows the book where the
    file proves it.  With orderbook_csv, also count the rows whose best bid
    and best ask prices equal the file's (a check that uses nothing the
    repair used)."""
    from lob import OrderBook

    messages = stream.messages
    n_rows = len(stream.message_event)
    ends = stream.row_ends()
    best_bid = np.zeros(n_rows, dtype=np.int64)
    best_ask = np.zeros(n_rows, dtype=np.int64)
    if len(stream.events):
        feats = _features(OrderBook(), stream.events)
        has = ends > 0
        best_bid[has] = feats["best_bid"][ends[has] - 1]
        best_ask[has] = feats["best_ask"][ends[has] - 1]
    ev, rows = messages.events, messages.rows
    pick = (ev["kind"] == EXECUTE) & (rows > 0)
    r = rows[pick]
    before = np.where(ev["side"][pick] == 0, best_bid[r - 1], best_ask[r - 1])
    at_touch = int(np.count_nonzero(before == ev["price"][pick]))
    compared = top_equal = 0
    if orderbook_csv is not None:
        data, source = _read_bytes(orderbook_csv)
        depth = _depth_of(parse_book(data, source))
        file_bid = depth.bid_price[:, 0] if depth.bid_price.shape[1] else np.zeros(len(depth.bid_price), np.int64)
        file_ask = depth.ask_price[:, 0] if depth.ask_price.shape[1] else np.zeros(len(depth.ask_price), np.int64)
        compared = min(n_rows, len(file_bid))
        top_equal = int(np.count_nonzero((best_bid[:compared] == file_bid[:compared])
                                         & (best_ask[:compared] == file_ask[:compared])))
    return LobsterTouch(int(np.count_nonzero(pick)), at_touch, compared, top_equal)


def _lobster_time(ns: int) -> str:
    sign = "-" if ns < 0 else ""
    seconds, frac = divmod(abs(int(ns)), 1_000_000_000)
    text = f"{frac:09d}".rstrip("0")
    return f"{sign}{seconds}.{text}" if text else f"{sign}{seconds}"


def write_lobster(events: Events, message_path: Union[str, "os.PathLike[str]"],
                  orderbook_path: Union[str, "os.PathLike[str]"], *, levels: int = 10, header: bool = False,
                  crlf: bool = False, window: bool = False) -> int:
    """Write an EVENT_DTYPE stream as a LOBSTER message file and its orderbook
    file (`levels` levels a side), for tests and demos without LOBSTER's data.

    ADD, REDUCE, CANCEL, EXECUTE map to types 1 to 4 and TRADE to type 5
    (direction: the resting side, the other side of the aggressor), or 6
    when it has no aggressor.  LOBSTER has no modify, so a MODIFY is
    written as a delete (type 3) and an add (type 1) of the same id, two
    rows.  CLEAR has no LOBSTER form: ValueError.  The stream must replay
    cleanly into an empty OrderBook.  Timestamps are written as seconds
    with up to 9 decimals; header and crlf choose an optional header line
    and CRLF line ends.

    window: write only the rows LOBSTER's level-`levels` files hold: the
    messages that change the top `levels` levels of a side, and every
    trade print.  Orders added deeper, and what changes there, leave no
    row, so levels leave and re-enter the window as in LOBSTER's data.
    Returns the rows written.
    """
    from lob import OrderBook
    from lob.dtypes import feature_dtype

    levels = int(levels)
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    resting: dict[int, list[int]] = {}     # order id -> [side, price, qty]
    expanded = []
    events = np.asarray(events, dtype=EVENT_DTYPE)
    names = ("ts", "kind", "side", "order_id", "price", "qty")
    columns = (events[name].tolist() for name in names)   # columns: far faster than rows
    for i, (ts, kind, side, oid, price, qty) in enumerate(zip(*columns)):
        if kind == ADD:
            resting[oid] = [side, price, qty]
            expanded.append((ts, ADD, side, oid, price, qty))
        elif kind == TRADE:
            expanded.append((ts, TRADE, side, 0, price, qty))
        elif kind in (CANCEL, REDUCE, EXECUTE, MODIFY):
            order = resting.get(oid)
            if order is None:
                raise ValueError(f"event {i}: order_id={oid} is not resting; the stream must replay into an "
                                 f"empty OrderBook")
            s, p, q = order
            if kind == MODIFY:
                expanded.append((ts, CANCEL, s, oid, p, q))
                expanded.append((ts, ADD, s, oid, price, qty))
                order[1], order[2] = price, qty
            elif kind == CANCEL:
                expanded.append((ts, CANCEL, s, oid, p, q))
                del resting[oid]
            else:
                expanded.append((ts, kind, s, oid, p, qty))
                order[2] = q - qty
                if order[2] <= 0:
                    del resting[oid]
        elif kind == CLEAR:
            raise ValueError("LOBSTER has no book clear; a CLEAR event cannot be written")
        else:
            raise ValueError(f"event {i}: kind {kind} has no LOBSTER form")
    flat = np.array(expanded, dtype=EVENT_DTYPE)
    # the book after every row, in chunks (depth rows are 32 bytes a level)
    book = OrderBook()
    buffer = np.empty(min(_CHUNK, max(len(flat), 1)), dtype=feature_dtype(levels))
    cells = np.empty((len(flat), 4 * levels), dtype=np.int64)
    for lo in range(0, len(flat), _CHUNK):
        feats = _features(book, flat[lo:lo + _CHUNK], levels, buffer)
        hi = lo + len(feats)
        cells[lo:hi, 0::4] = np.where(feats["ask_qty"] > 0, feats["ask_price"], DUMMY_ASK)
        cells[lo:hi, 1::4] = feats["ask_qty"]
        cells[lo:hi, 2::4] = np.where(feats["bid_qty"] > 0, feats["bid_price"], DUMMY_BID)
        cells[lo:hi, 3::4] = feats["bid_qty"]
    keep = np.ones(len(flat), dtype=bool)
    if window and len(flat):
        changed = np.empty(len(flat), dtype=bool)
        changed[0] = True
        changed[1:] = (cells[1:] != cells[:-1]).any(axis=1)
        keep = changed | (flat["kind"] == TRADE) | (flat["kind"] == EXECUTE)
        flat, cells = flat[keep], cells[keep]
    newline = "\r\n" if crlf else "\n"
    kinds, sides = flat["kind"], flat["side"]
    resting_side = np.where(kinds == TRADE, 1 - sides, sides)
    mtype = np.where((kinds == TRADE) & (sides == 2), 6, kinds)    # a trade with no aggressor: a cross
    oids = np.where(kinds == TRADE, 0, flat["order_id"])
    direction = np.where(resting_side == 0, 1, -1)
    lines = [f"{_lobster_time(ts)},{t},{o},{q},{p},{d}" for ts, t, o, q, p, d in
             zip(flat["ts"].tolist(), mtype.tolist(), oids.tolist(), flat["qty"].tolist(), flat["price"].tolist(),
                 direction.tolist())]
    with open(message_path, "w", newline="") as f:
        if header:
            f.write("Time,Type,OrderID,Size,Price,Direction" + newline)
        f.write(newline.join(lines) + (newline if lines else ""))
    with open(orderbook_path, "wb") as f:
        if header:
            titles = [f"{a}{k}" for k in range(1, levels + 1) for a in ("AskPrice", "AskSize", "BidPrice", "BidSize")]
            f.write((",".join(titles) + newline).encode())
        for lo in range(0, len(cells), 1 << 15):
            f.write(format_int_rows(np.ascontiguousarray(cells[lo:lo + (1 << 15)]), crlf))
    return len(lines)
