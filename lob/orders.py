"""Named tuples of a resting order: what OrderBook.order and
MatchingEngine.order return."""
from typing import NamedTuple, Optional

__all__ = ["RestingOrder", "EngineOrder"]


class RestingOrder(NamedTuple):
    """OrderBook.order(order_id): side (0 BID, 1 ASK), price (price units),
    qty (shares resting).  Equal to the plain tuple (side, price, qty)."""

    side: int
    price: int
    qty: int


class EngineOrder(NamedTuple):
    """MatchingEngine.order(order_id): side (0 BID, 1 ASK), price (ticks),
    qty (the visible shares, what the book shows), hidden_qty (an iceberg's
    reserve, not in the book), display_qty (the iceberg's slice, None for a
    plain order), owner (None when it has none)."""

    side: int
    price: int
    qty: int
    hidden_qty: int
    display_qty: Optional[int]
    owner: Optional[int]
