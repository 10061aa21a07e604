"""Type stubs of lob._engine (MatchingEngine and Report)."""
from typing_extensions import disjoint_base  # compiled classes have their own layout
from typing import Any, Literal, Optional, Union

import numpy as np
import numpy.typing as npt

from lob._book import BookView
from lob.kinds import StpMode, Tif
from lob.orders import EngineOrder

OUTCOMES: tuple[str, ...]
STP_MODES: tuple[str, ...]

_TifName = Literal["GTC", "IOC", "FOK"]
_StpName = Literal["cancel_taker", "cancel_maker", "cancel_both", "decrement"]

@disjoint_base
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

@disjoint_base
class MatchingEngine:
    """A book of its own that matches incoming orders by price-time priority,
    with icebergs (display_qty) and self-trade prevention (owner, stp).
    `book` is a read-only view."""

    @property
    def last_rejected(self) -> dict[str, int]: ...
    @property
    def last_self_trades(self) -> npt.NDArray[np.void]: ...
    def __init__(self) -> None: ...
    @property
    def book(self) -> BookView: ...
    def submit(self, order_id: int, side: int, price: int, qty: int, tif: Union[_TifName, Tif] = "GTC",
               post_only: bool = False, *, display_qty: Optional[int] = None, owner: Optional[int] = None,
               stp: Union[_StpName, StpMode] = "cancel_taker", ts: Optional[int] = None) -> Report:
        """A limit order.  display_qty: iceberg slice (GTC only); owner and
        stp: self-trade prevention against resting orders of the same owner."""
    def market(self, order_id: int, side: int, qty: int, *, owner: Optional[int] = None,
               stp: Union[_StpName, StpMode] = "cancel_taker", ts: Optional[int] = None) -> Report: ...
    def cancel(self, order_id: int, *, ts: Optional[int] = None) -> int:
        """Returns the qty it had, visible + hidden."""
    def modify(self, order_id: int, price: int, qty: int, *, ts: Optional[int] = None) -> Report:
        """qty: the new total (visible + hidden for an iceberg)."""
    def order(self, order_id: int) -> EngineOrder: ...
    def check(self) -> None: ...
    def submit_many(self, orders: npt.NDArray[np.void], self_trades: Optional[bool] = None, *,
                    on_error: str = "raise") -> Any:
        """(fills, reports); the prevented self-trades are in last_self_trades."""
    def __len__(self) -> int: ...
    def __contains__(self, order_id: object, /) -> bool: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    def __copy__(self) -> "MatchingEngine": ...
    def __deepcopy__(self, memo: dict[int, Any]) -> "MatchingEngine": ...
