"""NASDAQ TotalView-ITCH 5.0 files, plain or gzip, streamed in chunks.

Prices stay in ITCH's integer unit (1e-4 dollars); timestamps are ITCH's
nanoseconds after midnight.  See lob._itch for the message mapping.
"""
from __future__ import annotations

import gzip
import io
import os
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Optional, Union

import numpy as np
import numpy.typing as npt

from lob._itch import MESSAGE_LENGTHS, ItchParser

if TYPE_CHECKING:
    from lob._book import OrderBook

__all__ = ["read_itch", "iter_itch", "replay_itch", "write_itch", "ItchParser", "MESSAGE_LENGTHS"]

CHUNK = 1 << 24

#: A file path: str, bytes or os.PathLike.
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def _open(path: PathLike) -> io.BufferedIOBase:
    path = os.fspath(path)
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def iter_itch(path: PathLike, chunk_size: int = CHUNK, parser: Optional[ItchParser] = None,
              ) -> Iterator[tuple[npt.NDArray[np.void], npt.NDArray[np.uint16]]]:
    """Stream an ITCH 5.0 file (plain or gzip) in chunks of `chunk_size`
    bytes: yields (events, locates) per chunk, in file order, so files larger
    than memory replay chunk by chunk.  Pass your own ItchParser to read its
    directory and records as the stream goes.  A truncated or corrupt file
    raises ValueError naming the byte offset and the message type."""
    parser = ItchParser(source=os.fsdecode(path)) if parser is None else parser
    with _open(path) as f:
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                break
            yield parser.feed(chunk)
    parser.finish()


def read_itch(path: PathLike, symbols: Optional[Iterable[str]] = None, *,
              parser: Optional[ItchParser] = None) -> dict[str, npt.NDArray[np.void]]:
    """Every book event of an ITCH 5.0 file, per stock: {symbol: events}
    (lob.EVENT_DTYPE arrays, in file order).  `symbols` (an iterable of
    names) keeps only those stocks.  A stock whose directory message (R) is
    missing is named '#<locate>'.  Pass an ItchParser to keep its directory,
    system events, trading actions, crosses and counts."""
    parser = ItchParser(source=os.fsdecode(path)) if parser is None else parser
    wanted = None if symbols is None else set(symbols)
    parts: dict[str, list[npt.NDArray[np.void]]] = {}
    for events, locates in iter_itch(path, parser=parser):
        if len(events) == 0:
            continue
        order = np.argsort(locates, kind="stable")
        sorted_locates = locates[order]
        starts = np.flatnonzero(np.r_[True, sorted_locates[1:] != sorted_locates[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for lo, hi in zip(starts.tolist(), ends.tolist()):
            locate = int(sorted_locates[lo])
            name = parser.directory.get(locate, f"#{locate}")
            if wanted is not None and name not in wanted:
                continue
            parts.setdefault(name, []).append(events[order[lo:hi]])
    return {name: np.concatenate(chunks) if len(chunks) > 1 else chunks[0] for name, chunks in parts.items()}


def replay_itch(path: PathLike, symbols: Optional[Iterable[str]] = None, *, parser: Optional[ItchParser] = None,
                chunk_size: int = CHUNK, allow_cross: bool = False, ofi_levels: int = 1, vwap_window_ns: int = 0,
                halflife_ns: int = 0) -> tuple[dict[str, OrderBook], dict[str, int]]:
    """Stream an ITCH 5.0 file into one OrderBook per stock, chunk by chunk
    (files larger than memory are fine): returns ({symbol: OrderBook},
    {reason: refused events}).  `symbols` keeps only those stocks.  Each event
    goes from the parser straight to its stock's book in file order
    (ItchParser.feed_books): no event array, no per-stock split.  A stock's
    book is made at its directory message (R), which ITCH sends before the
    stock's first order, with OrderBook's keywords (allow_cross and the
    signals' configuration: every book keeps its signals as it goes)."""
    from lob import OrderBook

    parser = ItchParser(source=os.fsdecode(path)) if parser is None else parser
    wanted = None if symbols is None else set(symbols)
    by_locate: list[Optional[OrderBook]] = [None] * 65536      # stock locates are 16-bit

    def new_book(locate: int, symbol: str) -> Optional[OrderBook]:      # at each stock directory message
        if wanted is not None and symbol not in wanted:
            return None
        return OrderBook(allow_cross, ofi_levels=ofi_levels, vwap_window_ns=vwap_window_ns, halflife_ns=halflife_ns)

    rejected: dict[str, int] = {}
    with _open(path) as f:
        while True:
            chunk = f.read(chunk_size)
            if not chunk:
                break
            counts, _ = parser.feed_books(chunk, by_locate, new_book)
            for reason, count in counts.items():
                rejected[reason] = rejected.get(reason, 0) + count
    parser.finish()
    books = {parser.directory.get(locate, f"#{locate}"): book
             for locate, book in enumerate(by_locate) if book is not None}
    return books, rejected


def write_itch(streams: "Mapping[str, npt.NDArray[np.void]]", path: PathLike, *, compress: bool = False) -> int:
    """Write {symbol: EVENT_DTYPE events} as a NASDAQ TotalView-ITCH 5.0 file
    (2-byte length framing), for tests and benchmarks without NASDAQ's data.

    The file holds a system event 'O' (start of messages), a stock directory
    message (R) per symbol (locates 1, 2, ... in the dict's order), the events
    merged in timestamp order (stable), then system event 'C' (end of
    messages).  ADD -> A, EXECUTE -> E, REDUCE -> X, CANCEL -> D, TRADE -> P
    (the order side is the other side of the aggressor), MODIFY -> U, which in
    ITCH gives the order a new reference: the writer numbers those above every
    id in the stream and uses the new reference for the order's later events.
    CLEAR has no ITCH form (ValueError).  Prices and quantities must fit in 32
    bits.  compress=True writes gzip.  Returns the number of messages.
    """
    import struct

    from lob.kinds import ADD, CANCEL, CLEAR, EXECUTE, MODIFY, REDUCE, TRADE

    def header(kind, locate, ts):
        return struct.pack(">cHH", kind, locate, 0) + int(ts).to_bytes(6, "big")

    def u32(value, field):
        if not 0 <= value < 2**32:
            raise ValueError(f"{field}={value} does not fit ITCH's 32 bits")
        return value

    symbols = list(streams)
    names = {s: s.encode("ascii")[:8].ljust(8) for s in symbols}
    merged: list[tuple[int, int, tuple[int, int, int, int, int, int]]] = []
    next_ref = 1 + max((int(e["order_id"].max()) for e in streams.values() if len(e)), default=0)
    for locate, symbol in enumerate(symbols, start=1):
        for row in streams[symbol].tolist():
            merged.append((row[0], locate, row))
    merged.sort(key=lambda item: item[0])
    first_ts = merged[0][0] if merged else 0
    messages = [header(b"S", 0, first_ts) + b"O"]
    for locate, symbol in enumerate(symbols, start=1):
        messages.append(header(b"R", locate, first_ts) + names[symbol]
                        + b"Q" + b" " + struct.pack(">I", 100) + b"N" + b"C" + b"  " + b"P" + b"N" + b" "
                        + b" " + b"N" + struct.pack(">I", 0) + b"N")
    renamed: dict[tuple[int, int], int] = {}
    match = 0
    for ts, locate, (_, kind, side, oid, price, qty) in merged:
        ref = renamed.get((locate, oid), oid)
        if kind == ADD:
            messages.append(header(b"A", locate, ts) + struct.pack(">QcI", ref, b"B" if side == 0 else b"S",
                                                                    u32(qty, "qty"))
                            + names[symbols[locate - 1]] + struct.pack(">I", u32(price, "price")))
        elif kind == EXECUTE:
            match += 1
            messages.append(header(b"E", locate, ts) + struct.pack(">QIQ", ref, u32(qty, "qty"), match))
        elif kind == REDUCE:
            messages.append(header(b"X", locate, ts) + struct.pack(">QI", ref, u32(qty, "qty")))
        elif kind == CANCEL:
            messages.append(header(b"D", locate, ts) + struct.pack(">Q", ref))
        elif kind == TRADE and side == 2:   # no aggressor: a cross (Q), opening type 'O'
            match += 1
            messages.append(header(b"Q", locate, ts) + struct.pack(">Q", qty) + names[symbols[locate - 1]]
                            + struct.pack(">IQ", u32(price, "price"), match) + b"O")
        elif kind == TRADE:
            match += 1
            messages.append(header(b"P", locate, ts) + struct.pack(">QcI", 0, b"S" if side == 0 else b"B",
                                                                    u32(qty, "qty"))
                            + names[symbols[locate - 1]] + struct.pack(">IQ", u32(price, "price"), match))
        elif kind == MODIFY:
            new_ref = next_ref
            next_ref += 1
            renamed[(locate, oid)] = new_ref
            messages.append(header(b"U", locate, ts) + struct.pack(">QQII", ref, new_ref, u32(qty, "qty"),
                                                                    u32(price, "price")))
        elif kind == CLEAR:
            raise ValueError("ITCH has no book clear; a CLEAR event cannot be written")
        else:
            raise ValueError(f"unknown event kind {kind}")
    last_ts = merged[-1][0] if merged else 0
    messages.append(header(b"S", 0, last_ts) + b"C")
    blob = b"".join(struct.pack(">H", len(m)) + m for m in messages)
    with (gzip.open(path, "wb") if compress else open(path, "wb")) as f:
        f.write(blob)
    return len(messages)
