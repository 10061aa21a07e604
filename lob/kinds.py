"""Sides and event kinds of the contract, as IntEnums and plain ints."""
from enum import IntEnum

__all__ = ["Side", "EventKind", "BID", "ASK", "NO_AGGRESSOR", "ADD", "REDUCE", "CANCEL", "EXECUTE", "TRADE", "MODIFY", "CLEAR", "ANON"]


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
