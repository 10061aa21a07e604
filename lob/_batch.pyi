"""Type stubs of lob._batch (the loop behind OrderBook.apply)."""
import numpy as np
import numpy.typing as npt

from lob._book import OrderBook

REASONS: dict[int, str]

def apply_events(
    book: OrderBook,
    events: npt.NDArray[np.void],
    depth: int = 0,
    record: bool = True,
    on_error: str = "raise",
    out: npt.NDArray[np.void] | None = None,
    signals: bool = False,
) -> npt.NDArray[np.void] | None: ...
def book_table(books: list[OrderBook | None]) -> tuple[npt.NDArray[np.uintp], list[OrderBook]]: ...
def apply_routed(
    books: list[OrderBook | None], events: npt.NDArray[np.void], keys: npt.ArrayLike
) -> tuple[dict[str, int], int]: ...
def apply_latency(
    book: OrderBook, events: npt.NDArray[np.void], depth: int = 0
) -> tuple[npt.NDArray[np.uint64], float]:
    """Apply events as OrderBook.apply does, timing each one: (ticks per event, ns per tick)."""
def timer_overhead(n: int = 100000) -> npt.NDArray[np.uint64]:
    """Ticks of n back-to-back timer reads: the floor of every apply_latency figure."""
