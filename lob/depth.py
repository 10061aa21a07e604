"""lob.Depth: the levels of both sides of a book, best first."""
from typing import NamedTuple

import numpy as np

__all__ = ["Depth"]


class Depth(NamedTuple):
    """Four int64 arrays, best level first; bid arrays have one row per bid
    level returned, ask arrays one per ask level (at most the levels asked)."""

    bid_price: np.ndarray
    bid_qty: np.ndarray
    ask_price: np.ndarray
    ask_qty: np.ndarray
