"""Type stubs of lob._engine (MatchingEngine and Report)."""
from typing import Literal, Optional, overload

import numpy as np
import numpy.typing as npt

from lob._book import OrderBook
from lob.engine_order import EngineOrder

OUTCOMES: tuple[str, ...]
STP_MODES: tuple[str, ...]

Tif = Literal["GTC", "IOC", "FOK"]
StpMode = Literal["cancel_taker", "cancel_maker", "cancel_both", "decrement"]

class Report:
    """What one request did: status ("filled", "partial", "resting",
    "cancelled", "rejected"), filled and remaining qty (remaining: visible +
    hidden resting), the fills (lob.FILL_DTYPE) in execution order and the
    prevented self-trades (lob.SELF_TRADE_DTYPE)."""

    @property
    def status(self) -> str: ...
    @property
    def filled(self) -> int: ...
    @property
    def remaining(self) -> int: ...
    @property
    def fills(self) -> npt.NDArray[np.void]: ...
    @property
    def self_trades(self) -> npt.NDArray[np.void]: ...

class MatchingEngine:
    """An OrderBook that matches incoming orders by price-time priority, with
    icebergs (display_qty) and self-trade prevention (owner, stp)."""

    @property
    def book(self) -> OrderBook: ...
    def __init__(self) -> None: ...
    def submit(self, order_id: int, side: int, price: int, qty: int, tif: Tif = "GTC",
               post_only: bool = False, *, display_qty: Optional[int] = None, owner: Optional[int] = None,
               stp: StpMode = "cancel_taker") -> Report:
        """A limit order.  display_qty: iceberg slice (GTC only); owner and
        stp: self-trade prevention against resting orders of the same owner."""
    def market(self, order_id: int, side: int, qty: int, *, owner: Optional[int] = None,
               stp: StpMode = "cancel_taker") -> Report: ...
    def cancel(self, order_id: int) -> int:
        """Returns the qty it had, visible + hidden."""
    def modify(self, order_id: int, price: int, qty: int) -> Report:
        """qty: the new total (visible + hidden for an iceberg)."""
    def order(self, order_id: int) -> EngineOrder: ...
    def check(self) -> None: ...
    @overload
    def submit_many(self, orders: npt.NDArray[np.void],
                    self_trades: Literal[False] = False) -> tuple[npt.NDArray[np.void], npt.NDArray[np.void]]: ...
    @overload
    def submit_many(self, orders: npt.NDArray[np.void], self_trades: Literal[True]
                    ) -> tuple[npt.NDArray[np.void], npt.NDArray[np.void], npt.NDArray[np.void]]: ...
