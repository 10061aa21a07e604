"""Type stubs of lob._lobster (the LOBSTER parsers and stream builder behind lob.io)."""
from typing import Any, Iterable, Optional, final

import numpy as np
import numpy.typing as npt

HALT_DTYPE: np.dtype[np.void]
EVENT_DTYPE: np.dtype[np.void]
DUMMY_ASK: int
DUMMY_BID: int
MESSAGE_COLUMNS: tuple[str, ...]
BOOK_COLUMNS: tuple[str, ...]

def parse_messages(
    data: bytes, source: str = "<bytes>"
) -> tuple[npt.NDArray[np.void], npt.NDArray[np.void], npt.NDArray[np.int64]]: ...
def parse_book(data: bytes, source: str = "<bytes>") -> npt.NDArray[np.int64]: ...
def window_bounds(
    book_matrix: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def faithful_stream(
    events: npt.NDArray[np.void],
    rows: npt.NDArray[np.int64],
    book_matrix: npt.NDArray[np.int64],
    forced: Iterable[int] = (),
    max_details: int = 5,
) -> dict[str, Any]: ...
def messages_plan(
    events: npt.NDArray[np.void], levels: Optional[int], lookahead: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], int]: ...
def messages_stream(
    events: npt.NDArray[np.void], rows: npt.NDArray[np.int64], levels: Optional[int] = None, lookahead: bool = True
) -> dict[str, Any]: ...

@final
class StreamBuilder:
    book: Any
    ts: int
    row: int
    stale: int
    relabelled: int
    unknown_left: int
    message_event: int
    refused: list[tuple[int, str]]
    far_bid: int
    far_ask: int
    uncertain: set[int]
    def __init__(self, capacity: int, alone: bool) -> None: ...
    def result(self) -> tuple[npt.NDArray[np.void], npt.NDArray[np.int64]]: ...
    @property
    def written(self) -> int: ...
    def resync(self, ranges: list[Optional[tuple[int, int]]], listed: tuple[dict[int, int], dict[int, int]]) -> int: ...
    def seed(self, side: int, price: int, qty: int) -> None: ...
    def drop_stale(self, bid_cap: int, ask_cap: int) -> None: ...
    def trade_print(self, side: int, price: int, qty: int) -> None: ...
    def settle(self, oid: int, side: int, price: int, file_qty: int) -> bool: ...
    def message(self, kind: int, side: int, oid: int, price: int, qty: int) -> None: ...
def format_int_rows(m: npt.NDArray[np.int64], crlf: bool = False) -> bytes: ...
