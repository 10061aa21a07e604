"""Type stubs of lob._dbn (Databento MBO records to events, behind lob.io.read_dbn)."""
from typing import Optional

import numpy as np
import numpy.typing as npt

ERRORS: tuple[str, ...]

def mbo_to_events(
    records: npt.NDArray[np.void], instrument_id: int = -1, executions: bool = True
) -> tuple[int, int, Optional[npt.NDArray[np.void]], Optional[npt.NDArray[np.uint8]], int]: ...
def uniform_records(buf: npt.NDArray[np.uint8], start: int, n: int, rtype: int, size: int) -> bool: ...
def record_offsets(
    buf: npt.NDArray[np.uint8], start: int, rtype: int, size: int
) -> tuple[int, int, Optional[npt.NDArray[np.int64]]]: ...
def gather_records(buf: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], size: int) -> npt.NDArray[np.uint8]: ...
