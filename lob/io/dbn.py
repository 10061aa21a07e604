"""Databento MBO files (DBN, plain or zstd): read into lob.EVENT_DTYPE events,
and write events as MBO records.

Install the extra: pip install 'lobcore[dbn]' (databento-dbn and zstandard).
Records are read as arrays, the way Databento's own client reads them
(np.frombuffer with databento_dbn.MBOMsg's NumPy dtype), then mapped to
events in one compiled pass (lob._dbn).  Prices stay in DBN's fixed-point
integers (1e-9 units); timestamps are ts_recv (ns since the epoch), the
order the records arrive in.

Every malformed file raises lob.errors.ParseError naming the file, the byte
offset (in the decompressed stream for a zstd file) and the problem; the
header is checked here (magic, version, metadata length, schema) before any
record is looked at, and every record length is checked.
"""
from __future__ import annotations

import contextlib
import mmap
import os
import warnings
from typing import IO, Any, Iterator, Literal, NamedTuple, Optional, Union, overload

import numpy as np
import numpy.typing as npt

from lob._dbn import ERRORS as _CONVERT_ERRORS
from lob._dbn import gather_records, mbo_to_events, record_offsets, uniform_records
from lob.dtypes import EVENT_DTYPE
from lob.errors import error
from lob.kinds import ADD, ASK, BID, CANCEL, CLEAR, EXECUTE, MODIFY, NO_AGGRESSOR, REDUCE, TRADE

__all__ = ["read_dbn", "read_dbn_messages", "dbn_instruments", "write_dbn", "DbnMessages", "mbo_dtype",
           "F_LAST", "F_SNAPSHOT"]

#: DBN record flags: the last record of one exchange event; part of a snapshot.
F_LAST = 128
F_SNAPSHOT = 32

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]
Buffer = Union[bytes, memoryview, mmap.mmap]

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_DBN_MAGIC = b"DBN"
_VERSIONS = (1, 2, 3)
_PREFIX = 8                    # "DBN", version, u32 metadata length
_METADATA_FIXED = 100          # the fixed part of the metadata in every version
_SCHEMA_MBO = 0
_SCHEMA_MIXED = 0xFFFF
_RTYPE_MBO = 0xA0
_MBO_SIZE = 56                 # bytes of one MBO record (+ 8 with ts_out)

# lob.errors codes
_BAD_FIELD, _OUT_OF_RANGE, _TRUNCATED, _BAD_LENGTH, _EMPTY = 20, 25, 26, 27, 28
_CONVERT_CODES = {1: _BAD_FIELD, 2: _BAD_FIELD, 3: _OUT_OF_RANGE, 6: _BAD_FIELD}


class DbnMessages(NamedTuple):
    """read_dbn_messages' result: the events and each event's DBN flags
    (uint8), with F_LAST moved onto the previous event when the record that
    carried it made no event, so rows where flags & F_LAST are the books a
    venue published."""

    events: npt.NDArray[np.void]
    flags: npt.NDArray[np.uint8]


def _databento_dbn() -> Any:
    try:
        import databento_dbn
    except ImportError:
        raise ImportError("DBN needs databento-dbn: pip install 'lobcore[dbn]'") from None
    return databento_dbn


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError:
        raise ImportError("zstd-compressed DBN needs zstandard: pip install 'lobcore[dbn]'") from None
    return zstandard


def mbo_dtype(ts_out: bool = False) -> np.dtype:
    """The NumPy dtype of one MBO record as Databento defines it
    (databento_dbn.MBOMsg._dtypes, the dtype its client's to_ndarray uses;
    the layout is the same in DBN versions 1 to 3), plus ts_out (uint64
    ns) when the file has it."""
    dbn = _databento_dbn()
    try:
        fields = list(dbn.MBOMsg._dtypes)
    except AttributeError:
        raise ImportError("this databento-dbn has no MBOMsg._dtypes (the record dtype lobcore reads with); "
                          "pip install -U databento-dbn") from None
    if ts_out:
        fields.append(("ts_out", "u8"))
    dtype = np.dtype(fields)
    if dtype.itemsize != _MBO_SIZE + 8 * ts_out:     # a databento-dbn that changed the record
        raise ImportError(f"databento_dbn.MBOMsg is {dtype.itemsize} bytes; lobcore reads the "
                          f"{_MBO_SIZE}-byte MBO record of DBN 1 to 3")
    return dtype


def _parse_error(code: int, source: str, offset: Optional[int], detail: str) -> BaseException:
    return error(code, source=source, offset=offset, detail=detail)


def _map(fileno: int) -> mmap.mmap:
    """The file, mapped read-only; on Linux its pages are mapped up front
    (one call instead of a fault per 4 KiB page)."""
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if populate:
        return mmap.mmap(fileno, 0, flags=mmap.MAP_SHARED | populate, prot=mmap.PROT_READ)
    return mmap.mmap(fileno, 0, access=mmap.ACCESS_READ)


def _is_zstd(head: bytes) -> bool:
    """A zstd frame or a skippable frame starts here."""
    return head == _ZSTD_MAGIC or (len(head) == 4 and 0x184D2A50 <= int.from_bytes(head, "little") <= 0x184D2A5F)


@contextlib.contextmanager
def _opened(source: Source) -> Iterator[tuple[Buffer, str, bool]]:
    """The DBN bytes (decompressed; a plain file is memory-mapped, not
    copied), the name for messages, and whether it was zstd."""
    mapped: Optional[mmap.mmap] = None
    if isinstance(source, bytes):
        data: Buffer = source
        name = "<bytes>"
    elif isinstance(source, (bytearray, memoryview)):
        data, name = bytes(source), "<bytes>"
    else:
        name = os.fspath(source)
        try:
            f = open(name, "rb")
        except IsADirectoryError:
            raise _parse_error(_BAD_FIELD, name, None, "is a directory, not a DBN file") from None
        with f:
            head = f.read(4)
            if head and os.path.isfile(name):
                try:
                    mapped = _map(f.fileno())
                except (OSError, ValueError):     # not mappable here: read it
                    mapped = None
            data = mapped if mapped is not None else head + f.read()
    try:
        if not len(data):
            raise _parse_error(_EMPTY, name, 0, "the file is empty")
        zstd = _is_zstd(bytes(data[:4]))
        if zstd:
            data = _decompress(data, name)
            if not data:
                raise _parse_error(_EMPTY, name, 0, "the zstd stream holds no data")
        yield data, name, zstd
    finally:
        if mapped is not None:
            try:
                mapped.close()
            except BufferError:                   # an array of it is still referenced (a traceback)
                pass


_ZSTD_FRAME = 0xFD2FB528
_ZSTD_BLOCK_MAX = 128 * 1024     # no block decompresses to more (RFC 8878, Block_Maximum_Size)


def _zstd_bound(data: Buffer, name: str) -> int:
    """Walk the zstd frames of data (headers and block headers only): every
    frame must be whole, else a ParseError at the offset (in the compressed
    file) where it breaks off.  Returns an upper bound of the decompressed
    size (a compressed block counts as 128 KiB)."""
    n = len(data)
    pos = bound = 0

    def cut(at: int) -> BaseException:
        return _parse_error(_TRUNCATED, name, at, "the zstd stream ends inside a frame (truncated file; "
                                                  "offset in the compressed file)")

    while pos < n:
        if n - pos < 8:
            raise cut(pos)
        magic = int.from_bytes(data[pos:pos + 4], "little")
        if 0x184D2A50 <= magic <= 0x184D2A5F:             # a skippable frame
            pos += 8 + int.from_bytes(data[pos + 4:pos + 8], "little")
            if pos > n:
                raise cut(n)
            continue
        if magic != _ZSTD_FRAME:
            raise _parse_error(_BAD_FIELD, name, pos, f"corrupt zstd data: no frame starts here (bytes "
                                                      f"{bytes(data[pos:pos + 4])!r}; offset in the compressed file)")
        descriptor = data[pos + 4]
        if descriptor & 0x08:
            raise _parse_error(_BAD_FIELD, name, pos + 4, "corrupt zstd data: a reserved bit of the frame "
                                                          "header is set (offset in the compressed file)")
        single = descriptor >> 5 & 1
        pos += 5 + (1 - single) + (0, 1, 2, 4)[descriptor & 3] + (single, 2, 4, 8)[descriptor >> 6]
        while True:
            if pos + 3 > n:
                raise cut(min(pos, n))
            header = int.from_bytes(data[pos:pos + 3], "little")
            kind, size = header >> 1 & 3, header >> 3
            if kind == 3 or size > _ZSTD_BLOCK_MAX:
                raise _parse_error(_BAD_FIELD, name, pos, "corrupt zstd data: a bad block header (offset in "
                                                          "the compressed file)")
            pos += 3 + (1 if kind == 1 else size)
            bound += _ZSTD_BLOCK_MAX if kind == 2 else size
            if header & 1:
                break
        pos += 4 * (descriptor >> 2 & 1)                  # the content checksum
        if pos > n:
            raise cut(n)
    return bound


def _decompress(data: Buffer, name: str) -> memoryview:
    """Every zstd frame of data, decompressed into one buffer.  The frames
    are walked first (a frame cut short is an error, as zstandard's reader
    would stop there silently); the buffer starts at min(that bound, 8x the
    compressed size) and grows only as data really decompresses, never with
    a size a header claims."""
    zstandard = _zstandard()
    bound = _zstd_bound(data, name)
    out = np.empty(min(bound, 8 * len(data) + (1 << 20)), dtype=np.uint8)
    reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True, read_size=1 << 20)
    n = 0
    try:
        while True:
            if n == len(out):
                if n >= bound:
                    if reader.read(1):
                        raise zstandard.ZstdError(f"more than the {bound} bytes its blocks allow")
                    break
                grown = np.empty(min(bound, 2 * n), dtype=np.uint8)
                grown[:n] = out
                out = grown
            got = reader.readinto(out.data[n:])
            if not got:
                break
            n += got
    except zstandard.ZstdError as exc:
        raise _parse_error(_BAD_FIELD, name, None, f"corrupt zstd data ({exc})") from None
    return out.data[:n]


def _header(data: Buffer, name: str, zstd: bool) -> tuple[int, int, bool, int]:
    """(version, schema, ts_out, offset of the first record), checked."""
    where = " (decompressed)" if zstd else ""
    if data[:3] != _DBN_MAGIC:
        raise _parse_error(_BAD_FIELD, name, 0, f"not a DBN file{where}: it starts with {bytes(data[:8])!r}, "
                                                f"not b'DBN'")
    if len(data) < _PREFIX:
        raise _parse_error(_TRUNCATED, name, len(data), f"the DBN header{where} is cut short: {len(data)} "
                                                        f"of {_PREFIX} bytes")
    version = data[3]
    if version not in _VERSIONS:
        raise _parse_error(_BAD_FIELD, name, 3, f"DBN version {version} is not supported (1 to 3)")
    length = int.from_bytes(data[4:8], "little")
    if length < _METADATA_FIXED:
        raise _parse_error(_BAD_LENGTH, name, 4, f"metadata length {length} is below the {_METADATA_FIXED} "
                                                 f"bytes every DBN metadata has")
    if _PREFIX + length > len(data):
        raise _parse_error(_BAD_LENGTH, name, 4, f"metadata length {length} runs past the end of the "
                                                 f"file{where} ({len(data)} bytes)")
    schema = int.from_bytes(data[24:26], "little")
    if schema not in (_SCHEMA_MBO, _SCHEMA_MIXED):
        raise _parse_error(_BAD_FIELD, name, 24, f"schema {schema} is not MBO ({_SCHEMA_MBO}); lobcore reads "
                                                 f"Databento MBO files")
    ts_out_at = _PREFIX + (52 if version == 1 else 44)
    ts_out = data[ts_out_at]
    if ts_out > 1:
        raise _parse_error(_BAD_FIELD, name, ts_out_at, f"ts_out is {ts_out}, not 0 or 1")
    return version, schema, bool(ts_out), _PREFIX + length


def _records(data: Buffer, start: int, ts_out: bool, name: str, zstd: bool, mixed: bool = True
             ) -> tuple[np.ndarray, Optional[npt.NDArray[np.int64]]]:
    """The MBO records as an array of mbo_dtype(ts_out), and their byte
    offsets (None: record i is at start + i * itemsize).  mixed: other
    record types may stand between them (a mixed-schema file); in an MBO
    file they are refused."""
    dtype = mbo_dtype(ts_out)
    size = dtype.itemsize
    body = len(data) - start
    n, rest = divmod(body, size)
    buf = np.frombuffer(data, dtype=np.uint8)
    if n and not rest and uniform_records(buf, start, n, _RTYPE_MBO, size):
        # the usual file: MBO records only, read in place (copied when the
        # metadata leaves them off 8-byte alignment: the converter loads
        # their 4- and 8-byte fields as such)
        records = np.frombuffer(data, dtype=dtype, count=n, offset=start)
        return (records if records.ctypes.data % 8 == 0 else records.copy()), None
    # other record types in between (a live or mixed stream), or a bad length
    status, at, offsets = record_offsets(buf, start, _RTYPE_MBO, size)
    if status:
        where = " of the decompressed stream" if zstd else ""
        length = int(buf[at]) * 4
        if status == 1:
            raise _parse_error(_BAD_LENGTH, name, at, f"record length {length}{where} is below the 16-byte "
                                                      f"record header")
        if status == 2:
            raise _parse_error(_TRUNCATED, name, at, f"the record here{where} needs {length} bytes, "
                                                     f"{len(data) - at} are left (truncated file)")
        raise _parse_error(_BAD_LENGTH, name, at, f"an MBO record here{where} is {length} bytes, not {size}")
    assert offsets is not None
    if not mixed and len(offsets) * size != body:
        expected = start + np.arange(len(offsets), dtype=np.int64) * size
        at = int(expected[np.argmax(offsets != expected)]) if (offsets != expected).any() else \
            start + len(offsets) * size
        raise _parse_error(_BAD_FIELD, name, at, f"a record of type 0x{int(buf[at + 1]):02x} in an MBO file"
                                                 f"{' (decompressed stream)' if zstd else ''}: only MBO records "
                                                 f"(0x{_RTYPE_MBO:02x}) belong here")
    records = gather_records(buf, offsets, size).view(dtype).reshape(-1)
    return records, offsets


def _several_instruments(records: np.ndarray, name: str) -> ValueError:
    held = np.unique(records["instrument_id"])
    shown = ", ".join(str(int(x)) for x in held[:10]) + (", ..." if len(held) > 10 else "")
    return ValueError(f"{name} holds {len(held)} instruments ({shown}); pass instrument_id= to pick one")


def _instrument(records: np.ndarray, instrument_id: Optional[int], name: str) -> int:
    """The instrument to keep, -1 for all (the conversion then checks
    that there is one)."""
    if instrument_id is None:
        return -1
    ids = records["instrument_id"]
    if isinstance(instrument_id, bool) or not isinstance(instrument_id, (int, np.integer)) \
            or not 0 <= int(instrument_id) < 2**32:
        raise ValueError(f"instrument_id must be an int from 0 to 2**32 - 1, got {instrument_id!r}")
    if not (ids == instrument_id).any():
        held = np.unique(ids)
        shown = ", ".join(str(int(x)) for x in held[:10]) + (", ..." if len(held) > 10 else "")
        raise ValueError(f"instrument_id={int(instrument_id)} is not in {name} (it holds {shown})")
    return int(instrument_id)


def _read(source: Source, instrument_id: Optional[int], executions: bool) -> DbnMessages:
    with _opened(source) as (data, name, zstd):
        return _read_data(data, name, zstd, instrument_id, executions)


def _read_data(data: Buffer, name: str, zstd: bool, instrument_id: Optional[int],
               executions: bool) -> DbnMessages:
    _, schema, ts_out, start = _header(data, name, zstd)
    records, offsets = _records(data, start, ts_out, name, zstd, mixed=schema == _SCHEMA_MIXED)
    keep = _instrument(records, instrument_id, name)
    status, index, events, flags, _ = mbo_to_events(records, keep, bool(executions))
    if status:
        if status == 5:
            raise _several_instruments(records, name)
        if status not in _CONVERT_CODES:
            raise MemoryError(f"{name}: out of memory converting {len(records)} records")
        offset = int(offsets[index]) if offsets is not None else start + index * records.dtype.itemsize
        r = records[index]
        detail = (f"record {index}{' of the decompressed stream' if zstd else ''}: {_CONVERT_ERRORS[status]} "
                  f"(action {bytes(r['action'])!r}, side {bytes(r['side'])!r}, ts_recv {int(r['ts_recv'])})")
        raise _parse_error(_CONVERT_CODES[status], name, offset, detail)
    assert events is not None and flags is not None
    return DbnMessages(events, flags)


@overload
def read_dbn(source: Source, *, instrument_id: Optional[int] = ..., executions: bool = ...,
             with_flags: Literal[False] | None = ...) -> npt.NDArray[np.void]: ...
@overload
def read_dbn(source: Source, *, instrument_id: Optional[int] = ..., executions: bool = ...,
             with_flags: Literal[True]) -> tuple[npt.NDArray[np.void], npt.NDArray[np.uint8]]: ...


def read_dbn(source: Source, *, instrument_id: Optional[int] = None, executions: bool = True,
             with_flags: Optional[bool] = None
             ) -> Union[npt.NDArray[np.void], tuple[npt.NDArray[np.void], npt.NDArray[np.uint8]]]:
    """The MBO records of a DBN file (plain or zstd; a path or the file's
    bytes) as lob.EVENT_DTYPE events for OrderBook(allow_cross=True).apply
    (a venue's book can lock or cross between the records of one exchange
    event; read the books after F_LAST records: read_dbn_messages).

    Actions map to kinds: R clear -> CLEAR; A add -> ADD (snapshot adds
    included); C cancel -> REDUCE by the size cancelled (the whole size
    removes the order); M modify -> MODIFY (new price and size); T trade ->
    TRADE with the aggressor's side (NO_AGGRESSOR when the record has
    none); N (none) records make no event.  F (fill) reports a resting
    order's execution, whose book change arrives as a C or M of that order.

    executions=True (the default): a fill and the C or M of its order that
    follows it within the same exchange event are one EXECUTE at the fill's
    place (ts, side = the resting order's, order_id, price = its price,
    qty = the fill's); the T it belongs to (same event, same price, the
    other side) keeps only the qty no fill took, and goes when none is
    left.  A C above the fill's qty leaves a REDUCE of the rest; an M to
    another price or a smaller size stays a MODIFY after the EXECUTE.  The
    book after every F_LAST record and the trade flow (buy and sell
    volume, volume delta, VWAP, last price) are those of the raw records;
    trade_count counts resting-order fills instead of prints.  A fill that
    does not pair (no such T, no C/M in its event, an order not resting at
    that price and side) makes no event, as with executions=False, where
    F records make no event and every T is a TRADE.

    instrument_id: the instrument to keep; required when the file holds
    several (ValueError otherwise, and when it holds no such instrument).
    Malformed input raises lob.errors.ParseError naming the file, the byte
    offset and the problem.  with_flags=True is deprecated: use
    read_dbn_messages.
    """
    if with_flags is not None:
        warnings.warn("read_dbn(..., with_flags=) is deprecated: read_dbn_messages(path) returns "
                      "(events, flags)", DeprecationWarning, stacklevel=2)
    messages = _read(source, instrument_id, executions)
    return (messages.events, messages.flags) if with_flags else messages.events


def read_dbn_messages(source: Source, *, instrument_id: Optional[int] = None,
                      executions: bool = True) -> DbnMessages:
    """read_dbn's events with each event's DBN flags: DbnMessages(events,
    flags).  F_LAST moves onto the previous event when the record that
    carried it made no event, so the rows where flags & F_LAST are the
    consistent books (Databento's rule: look at the book only after an
    F_LAST record)."""
    return _read(source, instrument_id, executions)


def dbn_instruments(source: Source) -> list[int]:
    """The instrument_ids of a DBN file's MBO records, ascending (to replay a
    file of several one instrument at a time).  Malformed input raises
    lob.errors.ParseError as read_dbn does."""
    with _opened(source) as (data, name, zstd):
        _, _, ts_out, start = _header(data, name, zstd)
        records, _ = _records(data, start, ts_out, name, zstd)
        return [int(i) for i in np.unique(records["instrument_id"])]


# ---- writing ----

_SIDE_CHAR = np.frombuffer(b"BAN", dtype="S1")          # BID, ASK, NO_AGGRESSOR
_KIND_ACTION = {ADD: b"A", REDUCE: b"C", CANCEL: b"C", MODIFY: b"M", TRADE: b"T", CLEAR: b"R"}


def _expand(events: np.ndarray, flags: npt.NDArray[np.uint8]) -> np.ndarray:
    """The MBO records of events: one per event, three per EXECUTE (T by
    the aggressor, F of the resting order, then C when it fills the order,
    else M to what is left), the way Databento reports a CME fill.  EXECUTE
    and CANCEL need the order's state, kept here as the book would."""
    kinds = events["kind"]
    n = len(events)
    known = np.isin(kinds, (ADD, REDUCE, CANCEL, EXECUTE, TRADE, MODIFY, CLEAR))
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise ValueError(f"event {i}: kind {int(kinds[i])} has no MBO record (ADD, REDUCE, CANCEL, EXECUTE, "
                         f"TRADE, MODIFY, CLEAR)")
    ts = events["ts"]
    if n and int(ts.min()) < 0:
        i = int(np.flatnonzero(ts < 0)[0])
        raise ValueError(f"event {i}: ts must be >= 0 ns since the epoch, got {int(ts[i])}")
    qty = events["qty"]
    bad_qty = (qty < 0) | (qty >= 2**32)
    if bad_qty.any():
        i = int(np.flatnonzero(bad_qty)[0])
        raise ValueError(f"event {i}: qty must be from 0 to 2**32 - 1 (DBN sizes are uint32), got {int(qty[i])}")
    side = events["side"].astype(np.int64)
    sided = np.isin(kinds, (ADD, EXECUTE))
    bad_side = sided & ((side < 0) | (side > 1))
    bad_side |= (kinds == TRADE) & ((side < 0) | (side > 2))
    if bad_side.any():
        i = int(np.flatnonzero(bad_side)[0])
        raise ValueError(f"event {i}: side {int(side[i])} is not valid for kind {int(kinds[i])}")
    price = events["price"].copy()
    size = qty.copy()
    order_id = events["order_id"].copy()
    # EXECUTE: the order's price and side, and the qty it keeps; CANCEL: its whole qty
    stateful = np.flatnonzero((kinds == EXECUTE) | (kinds == CANCEL))
    left = np.zeros(n, dtype=np.int64)
    if len(stateful):
        book: dict[int, list[int]] = {}      # order id -> [side, price, qty]
        for i in range(n):
            k = int(kinds[i])
            oid = int(order_id[i])
            if k == ADD:
                book.setdefault(oid, [int(side[i]), int(price[i]), int(qty[i])])
            elif k == REDUCE:
                o = book.get(oid)
                if o is not None and int(qty[i]) <= o[2]:
                    o[2] -= int(qty[i])
                    if o[2] == 0:
                        del book[oid]
            elif k == MODIFY:
                o = book.get(oid)
                if o is not None and qty[i] > 0:
                    o[1], o[2] = int(price[i]), int(qty[i])
            elif k == CLEAR:
                book.clear()
            elif k == CANCEL or k == EXECUTE:
                o = book.get(oid)
                if o is None:
                    raise ValueError(f"event {i}: {'CANCEL' if k == CANCEL else 'EXECUTE'} of order_id={oid}, "
                                     f"which does not rest; an MBO record needs its size")
                if k == CANCEL:
                    size[i] = o[2]
                    del book[oid]
                else:
                    q = int(qty[i])
                    if not 0 < q <= o[2]:
                        raise ValueError(f"event {i}: EXECUTE qty={q} of order_id={oid}, which has {o[2]} resting")
                    side[i], price[i] = o[0], o[1]
                    o[2] -= q
                    left[i] = o[2]
                    if o[2] == 0:
                        del book[oid]
    per_event = np.where(kinds == EXECUTE, 3, 1)
    last = np.cumsum(per_event) - 1                # each event's last record
    total = int(last[-1]) + 1 if n else 0
    records = np.zeros(total, dtype=mbo_dtype())
    records["length"] = _MBO_SIZE // 4
    records["rtype"] = _RTYPE_MBO
    first = last - per_event + 1
    action = np.full(n, b"N", dtype="S1")
    for k, a in _KIND_ACTION.items():
        action[kinds == k] = a
    side_char = np.where(np.isin(kinds, (ADD, TRADE)), _SIDE_CHAR[np.clip(side, 0, 2)], b"N")
    # C and M carry the order's side when the event names one
    cm = np.isin(kinds, (REDUCE, CANCEL, MODIFY)) & ((side == BID) | (side == ASK))
    side_char[cm] = _SIDE_CHAR[side[cm]]
    plain = kinds != EXECUTE
    at = last[plain]
    records["action"][at] = action[plain]
    records["side"][at] = side_char[plain]
    records["order_id"][at] = np.where(np.isin(kinds[plain], (TRADE, CLEAR)), 0, order_id[plain])
    records["price"][at] = np.where(kinds[plain] == CLEAR, 0, price[plain])
    records["size"][at] = np.where(kinds[plain] == CLEAR, 0, size[plain])
    ex = np.flatnonzero(~plain)
    if len(ex):
        t, f, c = first[ex], first[ex] + 1, first[ex] + 2
        rest = side[ex]
        records["action"][t] = b"T"
        records["side"][t] = _SIDE_CHAR[1 - rest]
        records["action"][f] = b"F"
        records["side"][f] = records["side"][c] = _SIDE_CHAR[rest]
        records["order_id"][f] = records["order_id"][c] = order_id[ex]
        for r in (t, f, c):
            records["price"][r] = price[ex]
        records["size"][t] = records["size"][f] = qty[ex]
        whole = left[ex] == 0
        records["action"][c] = np.where(whole, b"C", b"M")
        records["size"][c] = np.where(whole, qty[ex], left[ex])
    event_of = np.repeat(np.arange(n), per_event)
    records["ts_recv"] = records["ts_event"] = ts[event_of]
    records["flags"] = flags[event_of]
    not_last = np.ones(total, dtype=bool)
    not_last[last] = False
    records["flags"][not_last] &= np.uint8(0xFF ^ F_LAST)
    records["sequence"] = np.arange(total, dtype=np.uint64).astype(np.uint32)
    return records


def write_dbn(events: npt.ArrayLike, path: Union[str, "os.PathLike[str]", IO[bytes]], *,
              flags: Optional[npt.ArrayLike] = None, instrument_id: int = 1, publisher_id: int = 1,
              dataset: str = "LOBCORE", compression: Literal["zstd", "none"] = "zstd",
              version: Optional[int] = None) -> int:
    """Write lob.EVENT_DTYPE events as a Databento MBO file (DBN, zstd or
    plain) for instrument_id; returns the number of records written.

    ADD -> A, REDUCE -> C of its qty, CANCEL -> C of the order's whole size,
    MODIFY -> M, TRADE -> T (aggressor side; N for NO_AGGRESSOR), CLEAR ->
    R, and EXECUTE -> T by the other side + F of the resting order + C (the
    order is filled) or M (to what is left), as a CME fill comes, so
    read_dbn gives the same events back.  ts is both ts_recv and ts_event
    (ns since the epoch, >= 0).  flags: each event's DBN flags (default
    F_LAST on every event: each is its own exchange event); an EXECUTE's T
    and F records never carry F_LAST.  The header and the zstd frame come
    from databento-dbn's encoder (Metadata and Transcoder); ANON events and
    EXECUTE / CANCEL of an order that does not rest raise ValueError.
    """
    dbn = _databento_dbn()
    events = np.asarray(events)
    if events.dtype != EVENT_DTYPE:
        raise ValueError(f"events must be an array of lob.EVENT_DTYPE, got dtype {events.dtype}")
    events = events.reshape(-1)
    if flags is None:
        flag_arr = np.full(len(events), F_LAST, dtype=np.uint8)
    else:
        flag_arr = np.asarray(flags).reshape(-1)
        if len(flag_arr) != len(events) or not (np.issubdtype(flag_arr.dtype, np.integer) or len(flag_arr) == 0):
            raise ValueError(f"flags must be {len(events)} integers (one per event), got {flag_arr.dtype} "
                             f"of length {len(flag_arr)}")
        if len(flag_arr) and (int(flag_arr.min()) < 0 or int(flag_arr.max()) > 255):
            raise ValueError("flags must be uint8 values (0 to 255)")
        flag_arr = flag_arr.astype(np.uint8)
    if not 0 <= int(instrument_id) < 2**32:
        raise ValueError(f"instrument_id must be from 0 to 2**32 - 1, got {instrument_id}")
    if not 0 <= int(publisher_id) < 2**16:
        raise ValueError(f"publisher_id must be from 0 to 2**16 - 1, got {publisher_id}")
    if not isinstance(dataset, str) or len(dataset) > 15 or not dataset.isascii():
        raise ValueError(f"dataset must be ASCII text of at most 15 characters, got {dataset!r}")
    if version is not None and version not in _VERSIONS:
        raise ValueError(f"version must be a DBN version from 1 to 3 (None: databento-dbn's), got {version!r}")
    if compression not in ("zstd", "none"):
        raise ValueError(f"compression must be 'zstd' or 'none', got {compression!r}")
    records = _expand(events, flag_arr)
    records["instrument_id"] = instrument_id
    records["publisher_id"] = publisher_id
    start = int(events["ts"][0]) if len(events) else 0
    end = int(events["ts"].max()) + 1 if len(events) else 0
    metadata = dbn.Metadata(dataset=dataset, start=start, end=end, stype_in=None,
                            stype_out=dbn.SType.INSTRUMENT_ID, schema=dbn.Schema.MBO,
                            version=version if version is not None else dbn.DBN_VERSION)
    codec = dbn.Compression.ZSTD if compression == "zstd" else dbn.Compression.NONE

    def encode(out: IO[bytes]) -> None:
        transcoder = dbn.Transcoder(out, dbn.Encoding.DBN, codec, has_metadata=True)
        transcoder.write(bytes(metadata))
        step = 1 << 18
        for i in range(0, len(records), step):
            transcoder.write(records[i:i + step].tobytes())
        transcoder.flush()

    if isinstance(path, (str, os.PathLike)):
        with open(os.fspath(path), "wb") as out:
            encode(out)
    else:
        encode(path)
    return len(records)
