"""Databento MBO files (DBN, plain or zstd) through the databento-dbn package.

Install the extra: pip install 'lobcore[dbn]' (databento-dbn and zstandard).
Prices stay in DBN's fixed-point integers (1e-9 units); timestamps are
ts_recv (ns since the epoch), the order the records arrive in.
"""
import os

import numpy as np

from lob.dtypes import EVENT_DTYPE
from lob.kinds import ADD, ASK, BID, CLEAR, MODIFY, NO_AGGRESSOR, REDUCE, TRADE

__all__ = ["read_dbn", "F_LAST", "F_SNAPSHOT"]

#: DBN record flags: the last record of one exchange event; part of a snapshot.
F_LAST = 128
F_SNAPSHOT = 32

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_SIDE = {"B": BID, "A": ASK}


def _raw_bytes(path):
    with open(os.fspath(path), "rb") as f:
        data = f.read()
    if data[:4] == _ZSTD_MAGIC:
        try:
            import zstandard
        except ImportError:
            raise ImportError("reading zstd-compressed DBN needs zstandard: pip install 'lobcore[dbn]'") from None
        data = zstandard.ZstdDecompressor().stream_reader(data).read()
    return data


def _decode(data):
    try:
        import databento_dbn
    except ImportError:
        raise ImportError("reading DBN needs databento-dbn: pip install 'lobcore[dbn]'") from None
    decoder = databento_dbn.DBNDecoder()
    decoder.write(data)
    return decoder.decode()


def read_dbn(path, *, instrument_id=None, with_flags=False):
    """MBO records of a DBN file as lob.EVENT_DTYPE events for
    OrderBook(allow_cross=True).apply (a venue's book can lock or cross
    between the records of one exchange event).

    Actions map to kinds: R clear -> CLEAR; A add -> ADD (snapshot adds
    included); C cancel -> REDUCE by the size cancelled (the whole size
    removes the order); M modify -> MODIFY (new price and size); T trade ->
    TRADE with the aggressor's side (NO_AGGRESSOR when the record has none).
    F (fill) reports a resting order's execution whose book change arrives
    as its own C or M, so it is left out and the trade counts once, from T;
    N (none) records are left out too.

    instrument_id: the instrument to keep; required when the file holds
    several.  with_flags: also return each event's DBN flags (uint8), with
    F_LAST moved onto the previous event when the record that carried it
    made no event, so rows where flags & F_LAST are the consistent books.
    """
    records = [r for r in _decode(_raw_bytes(path)) if hasattr(r, "action")]
    instruments = sorted({r.instrument_id for r in records})
    if instrument_id is None and len(instruments) > 1:
        raise ValueError(f"{os.fspath(path)} holds instruments {instruments}; pass instrument_id=")
    rows, flags = [], []
    for r in records:
        if instrument_id is not None and r.instrument_id != instrument_id:
            continue
        action, side = str(r.action.value if hasattr(r.action, "value") else r.action), \
            str(r.side.value if hasattr(r.side, "value") else r.side)
        if action == "R":
            rows.append((r.ts_recv, CLEAR, 0, 0, 0, 0))
        elif action == "A":
            rows.append((r.ts_recv, ADD, _SIDE[side], r.order_id, r.price, r.size))
        elif action == "C":
            rows.append((r.ts_recv, REDUCE, _SIDE.get(side, 0), r.order_id, r.price, r.size))
        elif action == "M":
            rows.append((r.ts_recv, MODIFY, _SIDE.get(side, 0), r.order_id, r.price, r.size))
        elif action == "T":
            rows.append((r.ts_recv, TRADE, _SIDE.get(side, NO_AGGRESSOR), 0, r.price, r.size))
        else:
            if r.flags & F_LAST and flags:
                flags[-1] |= F_LAST
            continue
        flags.append(int(r.flags) & 0xFF)
    events = np.array(rows, dtype=EVENT_DTYPE) if rows else np.zeros(0, dtype=EVENT_DTYPE)
    return (events, np.array(flags, dtype=np.uint8)) if with_flags else events
