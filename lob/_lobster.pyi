"""Type stubs of lob._lobster (the LOBSTER CSV parser behind lob.io)."""
import numpy as np
import numpy.typing as npt

HALT_DTYPE: np.dtype[np.void]
ERRORS: tuple[str, ...]

def parse_messages(
    data: bytes, source: str = "<bytes>"
) -> tuple[npt.NDArray[np.void], npt.NDArray[np.void], npt.NDArray[np.int64]]: ...
def parse_book(data: bytes, source: str = "<bytes>") -> npt.NDArray[np.int64]: ...
