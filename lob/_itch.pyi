"""Type stubs of lob._itch (the NASDAQ TotalView-ITCH 5.0 parser)."""
from typing_extensions import disjoint_base  # compiled classes have their own layout
from typing import Callable

import numpy as np
import numpy.typing as npt

from lob._book import OrderBook

MESSAGE_LENGTHS: dict[str, int]
REASONS: dict[int, str]

@disjoint_base
class ItchParser:
    """Feed ITCH 5.0 bytes in chunks of any size (see lob.io.itch)."""

    directory: dict[int, str]
    system_events: list[tuple[int, str]]
    trading_actions: list[tuple[int, int, str, str]]
    crosses: list[tuple[int, int, int, int, str]]
    source: str
    def __init__(self, source: str = "<bytes>") -> None: ...
    @property
    def failed(self) -> bool: ...
    @property
    def offset(self) -> int: ...
    @property
    def unknown_refs(self) -> int: ...
    @property
    def counts(self) -> dict[str, int]: ...
    @property
    def live_orders(self) -> int: ...
    def feed(self, data: bytes | bytearray | memoryview) -> tuple[npt.NDArray[np.void], npt.NDArray[np.uint16]]: ...
    def feed_books(
        self,
        data: bytes | bytearray | memoryview,
        books: list[OrderBook | None],
        new_book: Callable[[int, str], OrderBook | None] | None = None,
    ) -> tuple[dict[str, int], int]: ...
    def finish(self) -> None: ...
