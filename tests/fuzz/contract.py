"""What every fuzz target asserts: the errors the contract documents, and
that a refused call changes nothing (API.md, "Errors")."""
from __future__ import annotations

import struct

import numpy as np

import lob
from lob.errors import LobError, ParseError


class Violation(AssertionError):
    """A contract violation found by a fuzz target.  `kind` is a short
    stable name (crash signatures are deduplicated by it)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def violation(kind: str, detail: str) -> Violation:
    return Violation(kind, detail)


#: What a call may raise on bad input (API.md "Errors"; parsers: ParseError,
#: a ValueError).  LobError covers UnknownOrderError (a KeyError) and the rest.
DOCUMENTED = (LobError, ValueError, TypeError, OverflowError)


def documented(exc: BaseException, what: str, allowed=DOCUMENTED) -> None:
    """Raise a Violation unless `exc` is one of the documented errors."""
    if not isinstance(exc, allowed):
        raise violation(f"undocumented-{type(exc).__name__}", f"{what} raised {type(exc).__name__}: {exc}") from exc
    # a documented class with a message that names nothing is not a clear error
    if not str(exc):
        raise violation("empty-message", f"{what} raised {type(exc).__name__} with no message") from exc


def parse_error(exc: BaseException, what: str) -> None:
    """A parser's refusal: a ValueError (ParseError once every parser uses
    lob.errors) with a message."""
    documented(exc, what, (ParseError, ValueError))


def book_state(book: lob.OrderBook):
    """Everything a refused call must leave as it was: the orders in queue
    order, the anonymous qty, the trade flow, the draw mode."""
    snap = book.snapshot()
    anon = book.anonymous_levels()
    return (snap.tobytes(), anon.tobytes(), flow_state(book), bool(getattr(book, "draw_unknown", False)),
            len(book))


def flow_state(book):
    """The trade-flow counters through the public API (vwap as its bits,
    so nan equals nan)."""
    return (book.buy_volume, book.sell_volume, book.cross_volume, book.trade_count, book.last_trade_price,
            struct.pack("<d", book.vwap))


def same_book(a, b, what: str) -> None:
    if a != b:
        names = ("orders", "anonymous qty", "trade flow", "draw_unknown", "len")
        diff = [n for n, x, y in zip(names, a, b) if x != y]
        raise violation("state-changed", f"{what}: {', '.join(diff)} differ")


def check_book(book: lob.OrderBook, what: str) -> None:
    try:
        book.check()
    except AssertionError as exc:
        raise violation("check-failed", f"{what}: book.check(): {exc}") from exc
    flow = flow_state(book)
    if min(flow[:4]) < 0:
        raise violation("negative-flow", f"{what}: trade flow {flow[:5]}")


def engine_state(eng: lob.MatchingEngine):
    """The book's state plus each resting order's engine extras (reserve,
    display, owner)."""
    book = eng.book
    snap = book.snapshot()
    extras = tuple(tuple(eng.order(int(oid))) for oid in snap["order_id"].tolist())
    return book_state(book) + (extras,)


def check_engine(eng: lob.MatchingEngine, what: str) -> None:
    try:
        eng.check()
    except AssertionError as exc:
        raise violation("check-failed", f"{what}: eng.check(): {exc}") from exc
    flow = flow_state(eng.book)
    if min(flow[:4]) < 0:
        raise violation("negative-flow", f"{what}: trade flow {flow[:5]}")


def rows_equal(a, b) -> bool:
    """Structured arrays equal byte for byte (nan rows included)."""
    if a is None or b is None:
        return a is b
    return a.dtype == b.dtype and len(a) == len(b) and np.asarray(a).tobytes() == np.asarray(b).tobytes()
