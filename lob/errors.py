"""The exceptions of lobcore, and the one table that turns a failure code with
its context into an exception.

Every C-level operation (book, batch, engine, ITCH and LOBSTER parsers)
reports a failure as a status code plus the context it had where it failed
(order id, side, price, qty asked and resting, the line or byte offset).
``FAILURES`` maps each code to its reason name (the keys of
``last_rejected``), its exception class and its message; ``error()`` builds
the exception from a code and its context, so no module looks state up again
to write a message.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional

__all__ = ["LobError", "UnknownOrderError", "DuplicateOrderError", "CrossedBookError", "EventError",
           "ParseError", "Failure", "FAILURES", "REASONS", "error", "reason"]


class LobError(Exception):
    """Base class of every lobcore error."""


class UnknownOrderError(LobError, KeyError):
    """The order id is not resting."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument; show the message as written.
        return str(self.args[0]) if self.args else ""


class DuplicateOrderError(LobError, ValueError):
    """The order id is already resting."""


class CrossedBookError(LobError, ValueError):
    """An add or modify would lock or cross a book made with allow_cross=False."""


class ParseError(LobError, ValueError):
    """A malformed input file (LOBSTER, ITCH, DBN).

    ``source`` names the file (or "<bytes>"), ``line`` the 1-based line of a
    text file, ``offset`` the byte offset of a binary one (None when it does
    not apply), ``reason`` the failure's name in ``FAILURES``.
    """

    source: str
    line: Optional[int]
    offset: Optional[int]
    reason: str

    def __init__(self, message: str, *, source: str = "<bytes>", line: Optional[int] = None,
                 offset: Optional[int] = None, reason: str = "parse") -> None:
        super().__init__(message)
        self.source = source
        self.line = line
        self.offset = offset
        self.reason = reason


class EventError(LobError):
    """A batch stopped at a bad event (or request).

    ``index`` is its position in the array; every event before it was
    applied, none from it on.  ``__cause__`` is the error the same event
    raises one call at a time.  The payload names what failed: ``reason``
    (the name in ``FAILURES``), ``kind``, ``order_id``, ``side``, ``price``
    and ``qty`` of the event.  ``features`` (OrderBook.apply) holds the rows
    before it; MatchingEngine.submit_many sets ``fills``, ``reports`` and
    ``self_trades`` instead.
    """

    index: int
    reason: Optional[str]
    kind: Optional[int]
    order_id: Optional[int]
    side: Optional[int]
    price: Optional[int]
    qty: Optional[int]
    features: Any
    fills: Any
    reports: Any
    self_trades: Any

    def __init__(self, message: str, index: int, *, reason: Optional[str] = None, kind: Optional[int] = None,
                 order_id: Optional[int] = None, side: Optional[int] = None, price: Optional[int] = None,
                 qty: Optional[int] = None) -> None:
        super().__init__(message)
        self.index = index
        self.reason = reason
        self.kind = kind
        self.order_id = order_id
        self.side = side
        self.price = price
        self.qty = qty
        self.features = None
        self.fills = None
        self.reports = None
        self.self_trades = None


class Failure(NamedTuple):
    """One row of FAILURES: the reason name, the exception class and the
    message template (str.format over the failure's context)."""

    reason: str
    exception: type
    message: str


# Codes: 1-10 the book (and every batch), 11-13 the engine's requests, 20-29
# the parsers.  The numbers are the C status codes of src/lob_status.h.
FAILURES: dict[int, Failure] = {
    1: Failure("bad_side", ValueError, "side must be 0 (BID) or 1 (ASK), got {side}"),
    2: Failure("bad_qty", ValueError, "qty must be > 0, got {qty}"),
    3: Failure("qty_above_resting", ValueError, "qty={qty} is above the {resting} resting for {what}"),
    4: Failure("duplicate_id", DuplicateOrderError, "order_id={order_id} is already resting"),
    5: Failure("unknown_id", UnknownOrderError, "{what} is not resting"),
    6: Failure("crossed", CrossedBookError,
               "{side_name} {what} at price={price} would cross the book (best {other_name} {other}); "
               "use allow_cross=True to replay crossed feeds"),
    7: Failure("no_memory", MemoryError, "out of memory"),
    8: Failure("full", MemoryError, "the book is full: at most 2**31 resting orders and levels"),
    9: Failure("bad_kind", ValueError, "kind must be {kinds}, got {kind}"),
    10: Failure("overflow", OverflowError, "qty={qty} would take a level total or a volume counter past int64"),
    11: Failure("bad_tif", ValueError, "{detail}"),
    12: Failure("bad_display", ValueError, "display_qty must be >= 0 (0: a plain order), got {qty}"),
    13: Failure("bad_stp", ValueError, "stp must be 0 (cancel_taker), 1 (cancel_maker), 2 (cancel_both) or "
                                       "3 (decrement), got {detail}"),
    14: Failure("bad_anonymous", ValueError, "anonymous qty must be >= 0, got {qty}"),
    20: Failure("bad_field", ParseError, "{detail}"),
    21: Failure("bad_columns", ParseError, "{detail}"),
    22: Failure("bad_type", ParseError, "{detail}"),
    23: Failure("bad_direction", ParseError, "{detail}"),
    24: Failure("bad_decimals", ParseError, "{detail}"),
    25: Failure("out_of_range", ParseError, "{detail}"),
    26: Failure("truncated", ParseError, "{detail}"),
    27: Failure("bad_length", ParseError, "{detail}"),
    28: Failure("empty", ParseError, "{detail}"),
}

#: code -> reason name, for counting refused events (OrderBook.last_rejected).
REASONS: dict[int, str] = {code: f.reason for code, f in FAILURES.items()}

_SIDE_NAMES = ("bid", "ask")


def reason(code: int) -> str:
    """The reason name of a failure code ("unknown_id", "crossed", ...)."""
    failure = FAILURES.get(code)
    return failure.reason if failure is not None else f"code_{code}"


def _side_name(side: Any) -> str:
    return _SIDE_NAMES[side] if side in (0, 1) else f"side {side}"


def error(code: int, *, order_id: Optional[int] = None, side: Optional[int] = None,
          price: Optional[int] = None, qty: Optional[int] = None, resting: Optional[int] = None,
          other: Optional[int] = None, kind: Optional[int] = None, kinds: str = "1 to 8 (lob.EventKind)",
          anonymous: bool = False, source: Optional[str] = None, line: Optional[int] = None,
          offset: Optional[int] = None, detail: str = "") -> BaseException:
    """The exception of failure `code` with its context (see FAILURES).

    anonymous: the failure concerns the anonymous qty at (side, price), not
    an order id.  source with line or offset: where a parser failed; the
    message starts with them."""
    failure = FAILURES.get(code)
    if failure is None:
        return RuntimeError(f"lobcore: unexpected failure code {code}")
    what = (f"anonymous qty at {_side_name(side)} price={price}" if anonymous
            else f"order_id={order_id}")
    message = failure.message.format(
        order_id=order_id, side=side, price=price, qty=qty, resting=resting, other=other, kind=kind,
        kinds=kinds, detail=detail, what=what, side_name=_side_name(side),
        other_name=_side_name(1 - side) if side in (0, 1) else "opposite")
    if anonymous and code == 5:
        message = f"no anonymous qty rests at {_side_name(side)} price={price}"
    elif code == 1 and kind == 5:
        message = f"side must be 0 (BID), 1 (ASK) or 2 (NO_AGGRESSOR), got {side}"
    if failure.exception is ParseError:
        where = f"line {line}" if line is not None else (f"byte offset {offset}" if offset is not None else "")
        prefix = f"{source}: {where}: " if where else f"{source}: "
        return ParseError(prefix + message, source=source or "<bytes>", line=line, offset=offset,
                          reason=failure.reason)
    return failure.exception(message)
