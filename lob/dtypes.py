"""NumPy structured dtypes of lobcore's arrays."""
import numpy as np

__all__ = ["EVENT_DTYPE"]

#: One book event (see lob.EventKind). For MODIFY, price/qty are the new
#: values; for TRADE, side is the aggressor's and order_id is ignored; for
#: CLEAR only ts counts.  Aligned: 40 bytes a row, fields at natural offsets,
#: so C code reads it as a plain struct.
EVENT_DTYPE = np.dtype(
    [
        ("ts", "<i8"),        # nanoseconds (since midnight or the epoch: the source's clock)
        ("kind", "u1"),
        ("side", "i1"),
        ("order_id", "<u8"),
        ("price", "<i8"),     # the caller's integer price unit
        ("qty", "<i8"),       # shares / contracts
    ],
    align=True,
)
