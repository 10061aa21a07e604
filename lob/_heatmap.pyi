"""Type stubs of lob._heatmap: the session chart's binning during a replay (lob.plot)."""
from typing import Any, Optional

import numpy as np
import numpy.typing as npt

from lob._book import OrderBook

SAMPLE_DTYPE: np.dtype[Any]
COLUMN_DTYPE: np.dtype[Any]
TRADE_DTYPE: np.dtype[Any]

def replay_bins(
    book: OrderBook,
    events: npt.NDArray[np.void],
    edges: npt.ArrayLike,
    price_lo: int = 0,
    price_bin: int = 1,
    rows: int = 0,
    band: Optional[int] = None,
) -> tuple[
    Optional[npt.NDArray[np.float64]],
    npt.NDArray[np.void],
    npt.NDArray[np.void],
    npt.NDArray[np.void],
    dict[str, int],
    int,
]:
    """Replay events into book, binning the window `edges` (ns): (cells, columns, samples, trades,
    rejected, applied)."""
def band_mask(
    columns: npt.NDArray[np.void], price_lo: int, price_bin: int, rows: int, band: float
) -> npt.NDArray[np.bool_]:
    """(columns, rows) bool: the cells within `band` of the column's mid range."""
