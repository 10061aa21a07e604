"""Sides and event kinds of the contract, as IntEnums and plain ints."""
from enum import IntEnum

__all__ = ["Side", "EventKind", "Tif", "StpMode", "RequestKind", "Outcome", "BID", "ASK", "NO_AGGRESSOR", "ADD", "REDUCE", "CANCEL", "EXECUTE", "TRADE", "MODIFY", "CLEAR", "ANON"]


class Side(IntEnum):
    """Book side: BID (0, buy orders) or ASK (1, sell orders)."""

    BID = 0
    ASK = 1


class EventKind(IntEnum):
    """Event kinds; 1 to 5 are numbered as LOBSTER numbers its message types."""

    ADD = 1       # a new order rests
    REDUCE = 2    # partial cancel
    CANCEL = 3    # full delete
    EXECUTE = 4   # a resting visible order trades
    TRADE = 5     # a trade print that touches no visible order
    MODIFY = 6    # cancel-replace
    CLEAR = 7     # the venue cleared the book
    ANON = 8      # the anonymous qty at (side, price) becomes qty (a snapshot's level size)


class Tif(IntEnum):
    """Time in force of a MatchingEngine limit order (ORDER_DTYPE.tif)."""

    GTC = 0       # the rest rests
    IOC = 1       # the rest is dropped
    FOK = 2       # all of it at once, or nothing


class StpMode(IntEnum):
    """Self-trade prevention: what a taker does when it meets a resting
    order of its own owner (ORDER_DTYPE.stp; names as in lob.STP_MODES)."""

    CANCEL_TAKER = 0
    CANCEL_MAKER = 1
    CANCEL_BOTH = 2
    DECREMENT = 3


class RequestKind(IntEnum):
    """Kinds of MatchingEngine.submit_many requests (ORDER_DTYPE.kind)."""

    LIMIT = 1
    MARKET = 2
    CANCEL = 3
    MODIFY = 4


class Outcome(IntEnum):
    """What a request did (REPORT_DTYPE.status; names as in lob.OUTCOMES)."""

    FILLED = 0
    PARTIAL = 1
    RESTING = 2
    CANCELLED = 3
    REJECTED = 4
    REFUSED = 5   # submit_many(on_error="skip"): malformed, skipped


BID = 0
ASK = 1
#: A TRADE's side when the trade has no aggressor (an auction cross).
NO_AGGRESSOR = 2
ADD = 1
REDUCE = 2
CANCEL = 3
EXECUTE = 4
TRADE = 5
MODIFY = 6
CLEAR = 7
#: Event kind 8: the anonymous (id-less) qty at (side, price) becomes the
#: event's qty (>= 0), as a level snapshot says; seeding and resyncs.
ANON = 8
