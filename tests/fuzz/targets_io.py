"""Fuzz targets of the readers: the ITCH parser (whole, chunked,
feed_books), both LOBSTER readers, the DBN reader.

Each input is either raw file bytes (the first byte even) or a file built
from fields the bytes choose (odd): valid framing with extreme values,
wrong lengths, bad sides, cut-off ends.  A reader either returns what a
plain-Python reading of the same bytes gives or raises a documented
error; it never crashes.
"""
from __future__ import annotations

import os
import re
import struct
import tempfile
from decimal import Decimal, InvalidOperation

import numpy as np

import lob
import lob.io
from lob import EVENT_DTYPE

from tests.fuzz.contract import check_book, documented, parse_error, violation
from tests.fuzz.data import INT64_MAX, INT64_MIN, Data
from tests.fuzz.known import Known

# ---------------------------------------------------------------------------
# ITCH 5.0

ITCH_LENGTHS = {"S": 12, "R": 39, "H": 25, "Y": 20, "L": 26, "V": 35, "W": 12, "K": 28, "J": 35, "h": 21,
                "A": 36, "F": 40, "E": 31, "C": 36, "X": 23, "D": 19, "U": 35, "P": 44, "Q": 40, "B": 19,
                "I": 50, "N": 20, "O": 48}
ITCH_TYPES = "AAAFEECXDDUPQRRSHIB" + "Zz"        # book messages weighted, others, unknown types
U32_VALUES = (0, 1, 2, 5, 100, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def _itch_message(d: Data) -> bytes:
    t = d.choice(ITCH_TYPES)
    n = ITCH_LENGTHS.get(t, d.small(1, 60))
    body = bytearray(n)
    body[0] = ord(t)
    locate = d.choice((0, 1, 2, 3, 1, 2, 65535))
    if n >= 3:
        struct.pack_into(">H", body, 1, locate)
    if n >= 11:
        body[5:11] = d.small(0, 5).to_bytes(6, "big") if d.flag() else d.bytes(6).ljust(6, b"\0")
    ref = d.choice((1, 2, 3, 4, 1, 2, 0, (1 << 64) - 1))
    shares = d.choice(U32_VALUES) if d.byte() % 4 == 0 else d.small(1, 9)
    price = d.choice(U32_VALUES) if d.byte() % 4 == 0 else d.small(1, 12)
    side = d.choice(b"BSBSx")
    if t in "AF" and n >= 36:
        struct.pack_into(">QcI8sI", body, 11, ref, bytes([side]), shares, b"AAA     ", price)
    elif t in "ECX" and n >= 23:
        struct.pack_into(">QI", body, 11, ref, shares)
        if t == "C" and n >= 36:
            struct.pack_into(">QcI", body, 23, 7, bytes([d.choice(b"YN")]), price)
    elif t == "D" and n >= 19:
        struct.pack_into(">Q", body, 11, ref)
    elif t == "U" and n >= 35:
        struct.pack_into(">QQII", body, 11, ref, d.choice((1, 2, 3, 4, 5)), shares, price)
    elif t == "P" and n >= 44:
        struct.pack_into(">QcI8sIQ", body, 11, ref, bytes([side]), shares, b"AAA     ", price, 9)
    elif t == "Q" and n >= 40:
        cross = d.choice((0, 5, INT64_MAX, INT64_MAX + 1, (1 << 64) - 1))
        struct.pack_into(">Q8sIQc", body, 11, cross, b"AAA     ", price, 9, bytes([d.choice(b"OCH")]))
    elif t == "R" and n >= 19:
        body[11:19] = d.choice((b"AAA     ", b"BB      ", b"\xff\xfe    ", b"AAA     "))
    elif t in "SH" and n >= 12:
        body[11] = d.choice(b"OSQMEC")
    else:
        body[11:] = d.bytes(n - 11).ljust(n - 11, b"\0")
    length = n
    if d.byte() % 16 == 0:        # a wrong length field
        length = d.choice((0, 1, n - 1, n + 1, 65535))
    return struct.pack(">H", length) + bytes(body[:length] if length < n else body + bytes(length - n))


def itch_stream(d: Data) -> bytes:
    if d.byte() % 2 == 0:
        return d.rest()
    stream = b"".join(_itch_message(d) for _ in range(d.small(0, 14)))
    if d.byte() % 8 == 0:         # cut off mid-message
        stream = stream[:d.below(len(stream) + 1)]
    return stream


def _itch_run(pieces):
    """(events, locates, error, parser) of one parser fed `pieces`."""
    parser = lob.io.ItchParser()
    evs, locs = [], []
    try:
        for piece in pieces:
            e, loc = parser.feed(piece)
            evs.append(e)
            locs.append(loc)
        parser.finish()
        error = None
    except BaseException as exc:
        parse_error(exc, "ItchParser.feed/finish")
        error = (type(exc), str(exc))
    events = np.concatenate(evs) if evs else np.zeros(0, EVENT_DTYPE)
    locates = np.concatenate(locs) if locs else np.zeros(0, np.uint16)
    return events, locates, error, parser


def itch_target(data: bytes, skip_known: bool = False) -> None:
    """The ITCH parser on a whole stream and on the same stream in random
    chunks: the same events, locates, records and error."""
    d = Data(data)
    cuts = sorted({d.below(1 << 16) for _ in range(d.below(6))})
    stream = itch_stream(d)
    cuts = [c % (len(stream) + 1) for c in cuts]
    pieces, start = [], 0
    for c in sorted(set(cuts)) + [len(stream)]:
        pieces.append(stream[start:c])
        start = c
    whole = _itch_run([stream])
    chunked = _itch_run([memoryview(p) if i % 2 else bytearray(p) for i, p in enumerate(pieces)])
    ev, loc, err, parser = whole
    if err != chunked[2]:
        raise violation("itch-chunked-differs", f"whole: {err}, chunked at {cuts}: {chunked[2]}")
    if err is None:
        if ev.tobytes() != chunked[0].tobytes() or loc.tobytes() != chunked[1].tobytes():
            raise violation("itch-chunked-differs", f"events differ when the stream is cut at {cuts}")
        for name in ("directory", "system_events", "trading_actions", "crosses", "counts"):
            if getattr(parser, name) != getattr(chunked[3], name):
                raise violation("itch-chunked-differs", f"{name} differs when the stream is cut at {cuts}")
        if len(ev):
            if not np.all((ev["kind"] >= 1) & (ev["kind"] <= 5)) or not np.all((ev["side"] >= -1) & (ev["side"] <= 2)):
                raise violation("itch-bad-event", f"kinds {set(ev['kind'].tolist())} sides {set(ev['side'].tolist())}")
            # side -1: a reference the stream never added (REDUCE, CANCEL or EXECUTE, price 0)
            unsided = ev[ev["side"] == -1]
            if len(unsided) and (not np.all(np.isin(unsided["kind"], (2, 3, 4))) or np.any(unsided["price"] != 0)
                                 or parser.unknown_refs == 0):
                raise violation("itch-bad-event", f"side -1 on kinds {set(unsided['kind'].tolist())}")
            if np.any(ev["qty"] < 0) or np.any(ev["price"] < 0):
                raise violation("itch-bad-event", "negative qty or price")
        # the events replay: refused ones are skipped, the books stay sound
        for locate in set(loc.tolist()):
            book = lob.OrderBook(allow_cross=True)
            book.apply(ev[loc == locate], on_error="skip", record=False)
            check_book(book, f"ITCH events of locate {locate}")


# feed_books: what the new_book callback does at each directory message
BOOK_ACTIONS = ("new", "new", "none", "append", "pop", "clear", "replace", "truncate", "not-a-book", "same")
SHRINKING = {"pop", "clear", "truncate"}


def itch_books_target(data: bytes, skip_known: bool = False) -> None:
    """ItchParser.feed_books with a new_book callback that also changes
    the books list: no crash, documented errors, sound books after."""
    d = Data(data)
    books = [d.choice((None, None, "book")) for _ in range(d.below(5))]
    books = [lob.OrderBook(allow_cross=d.flag()) if b else None for b in books]
    actions = [d.choice(BOOK_ACTIONS) for _ in range(d.small(1, 6))]
    if skip_known and SHRINKING.intersection(actions):
        raise Known("feed-books-callback-shrinks-list")
    stream = itch_stream(d)
    made = []
    calls = [0]

    def new_book(locate, symbol):
        action = actions[calls[0] % len(actions)]
        calls[0] += 1
        if action == "none":
            return None
        if action == "not-a-book":
            return "not a book"
        if action == "same" and made:
            return made[-1]                  # a book that is already in the list: busy
        book = lob.OrderBook(allow_cross=True)
        made.append(book)
        if action == "append":
            books.append(None)
        elif action == "pop" and books:
            books.pop()
        elif action == "clear":
            books.clear()
        elif action == "truncate":
            del books[locate // 2:]
        elif action == "replace" and books:
            books[0] = lob.OrderBook()
        return book

    parser = lob.io.ItchParser()
    chunks = [stream] if d.flag() else [stream[:len(stream) // 2], stream[len(stream) // 2:]]
    try:
        for chunk in chunks:
            counts, passed = parser.feed_books(chunk, books, new_book)
            if not isinstance(counts, dict) or passed < 0:
                raise violation("feed-books-result", f"({counts!r}, {passed!r})")
        parser.finish()
    except RuntimeError as exc:
        # documented: a book already busy, or a new_book that changed the list's length
        if "busy" not in str(exc) and "changed the length" not in str(exc):
            raise violation("undocumented-exception", f"feed_books raised RuntimeError: {exc}") from exc
    except BaseException as exc:
        if isinstance(exc, AssertionError):
            raise
        documented(exc, "ItchParser.feed_books", (ValueError, TypeError))
    for i, book in enumerate(list(books) + made):
        if isinstance(book, lob.OrderBook):
            try:
                book.snapshot()              # raises RuntimeError if it was left busy
            except RuntimeError as exc:
                raise violation("left-busy", f"book {i} is still busy after feed_books: {exc}") from exc
            check_book(book, f"book {i} after feed_books")


# ---------------------------------------------------------------------------
# LOBSTER

TIME_TEXTS = ("34200.004241176", "34200", "0.5", "-0.5", "-0", "0", "34200.", "1.0000000001", ".5",
              "9223372036.854775807", "9223372036.854775808", "9223372037", "-9223372036.854775808",
              "-9223372037", "99999999999999999999", "+1.5", "1e3", "", " 1", "00000000000000000000034200.1")
INT_TEXTS = ("0", "1", "5", "-1", "18", "5853300", "9999999999", "-9999999999", "9223372036854775807",
             "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "+7", "", "x", "1.5",
             "00000000000000000000000000001")
TYPE_TEXTS = ("1", "1", "2", "3", "4", "5", "6", "7", "0", "8", "-1", "x")
DIR_TEXTS = ("1", "-1", "1", "-1", "0", "2", "+1", "")
LINE_ENDS = ("\n", "\n", "\r\n", "", "\r", "\n\n")


def _lobster_bytes(d: Data, line) -> bytes:
    if d.byte() % 2 == 0:
        return d.rest()
    lines = []
    if d.byte() % 8 == 0:
        lines.append(d.choice(("Time,Type,OrderID,Size,Price,Direction", "ask,size", "   ", "")))
    for _ in range(d.small(0, 8)):
        lines.append(line(d))
    ends = [d.choice(LINE_ENDS) for _ in lines]
    return "".join(text + end for text, end in zip(lines, ends)).encode()


def _message_line(d: Data) -> str:
    fields = [d.choice(TIME_TEXTS), d.choice(TYPE_TEXTS), d.choice(INT_TEXTS), d.choice(INT_TEXTS),
              d.choice(INT_TEXTS), d.choice(DIR_TEXTS)]
    if d.byte() % 16 == 0:
        fields = fields[:d.below(6)] if d.flag() else fields + ["1"]
    return ",".join(fields)


def _book_line(d: Data) -> str:
    return ",".join(d.choice(INT_TEXTS) for _ in range(d.choice((4, 4, 8, 3, 5))))


_INT = re.compile(rb"[+-]?[0-9]+\Z")
_TIME = re.compile(rb"([+-]?(?=[0-9]|\.[0-9])[0-9]*)(\.[0-9]*)?\Z")     # lob.io reads ".5" as 0.5 s


def _lines(data: bytes):
    """(line number, text without its line end) as LOBSTER's reader splits."""
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    for i, part in enumerate(parts, 1):
        if part.endswith(b"\r"):
            part = part[:-1]
        yield i, part


def _blank(text: bytes) -> bool:
    return text.strip(b" \t\r") == b""


def _header(text: bytes) -> bool:
    """lob.io's rule: a header is the first non-blank line, before any data
    row, and starts with a letter."""
    return text[:1].isalpha()


def _int(field: bytes):
    if not _INT.match(field):
        return None
    v = int(field)
    return v if INT64_MIN <= v <= INT64_MAX else None


def _time_ns(field: bytes):
    """Exact ns of a decimal time; None if malformed or beyond int64."""
    m = _TIME.match(field)
    if not m or (m.group(2) and len(m.group(2)) > 10):
        return None
    try:
        ns = Decimal(field.decode()) * 10 ** 9
    except InvalidOperation:
        return None
    ns = int(ns)
    return ns if INT64_MIN <= ns <= INT64_MAX else None


def reference_messages(data: bytes):
    """The events of a LOBSTER message file by plain Python, or None when
    it must be refused; negative times are flagged (either reading is taken
    as long as it is exact or refused)."""
    rows, row, header = [], 0, False
    for number, text in _lines(data):
        if _blank(text):
            continue
        if row == 0 and not header and _header(text):
            header = True
            continue
        fields = text.split(b",")
        if len(fields) != 6:
            return None
        ts = _time_ns(fields[0])
        values = [_int(f) for f in fields[1:]]
        if ts is None or None in values:
            return None
        mtype, oid, size, price, direction = values
        if not 1 <= mtype <= 7 or direction not in (1, -1) or (mtype != 7 and oid < 0):
            return None
        if size < 0 or (mtype == 7 and price not in (-1, 0, 1)):
            return None          # lob.io: negative ids and sizes are refused; a halt's price is its state
        side = 0 if direction == 1 else 1
        if mtype != 7:
            kind = (0, 1, 2, 3, 4, 5, 5)[mtype]
            ev_side = side if mtype < 5 else (1 - side if mtype == 5 else 2)
            rows.append((ts, kind, ev_side, oid if mtype < 5 else 0, price, size))
        row += 1
    if row == 0:
        return None              # lob.io: a file with no data rows is refused (ParseError "empty")
    return np.array(rows, dtype=EVENT_DTYPE) if rows else np.zeros(0, EVENT_DTYPE)


def lobster_messages_target(data: bytes, skip_known: bool = False) -> None:
    d = Data(data)
    text = _lobster_bytes(d, _message_line)
    expected = reference_messages(text)
    if skip_known:
        for _, line in _lines(text):
            # the parser scales the whole seconds before it looks past them
            m = re.match(rb"([+-]?)([0-9]+)", line)
            if m and (m.group(1) == b"-" or int(m.group(2)) >= 9223372036):
                raise Known("lobster-time-sign-or-overflow")
            if re.search(rb"-0*9223372036854775808(?![0-9])", line):
                raise Known("lobster-negate-int64-min")
    try:
        with np.errstate(all="ignore"):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", lob.io.LobsterHalt)
                events = lob.io.read_lobster(text)
    except BaseException as exc:
        if isinstance(exc, AssertionError):
            raise
        parse_error(exc, "read_lobster")
        if expected is not None:
            raise violation("lobster-refused-valid", f"read_lobster refused a valid file: {exc}") from exc
        return
    if expected is None:
        raise violation("lobster-accepted-invalid", f"read_lobster accepted {text[:200]!r}")
    if events.tobytes() != expected.tobytes():
        bad = [i for i in range(min(len(events), len(expected))) if events[i].tobytes() != expected[i].tobytes()]
        i = bad[0] if bad else min(len(events), len(expected))
        raise violation("lobster-wrong-value", f"event {i}: read {events[i] if i < len(events) else None}, "
                        f"the text says {expected[i] if i < len(expected) else None}")


def reference_book(data: bytes):
    """The (rows, 4K) matrix of a LOBSTER orderbook file by plain Python
    (LOBSTER's dummy prices kept), or None when it must be refused."""
    lines = list(_lines(data))
    ncols, header = 0, False
    for _, text in lines:
        if _blank(text):
            continue
        if not header and _header(text):
            header = True
            continue
        ncols = text.count(b",") + 1
        break
    if ncols % 4:
        return None
    rows, header = [], False
    for number, text in lines:
        if _blank(text):
            continue
        if not rows and not header and _header(text):
            header = True
            continue
        fields = text.split(b",") if ncols else [text]
        values = [_int(f) for f in fields]
        if len(fields) != ncols or None in values:
            return None
        if any(v < 0 for v in values[1::2]):
            return None          # lob.io: a negative size is refused
        rows.append(values)
    if not rows:
        return None              # lob.io: a file with no data rows is refused (ParseError "empty")
    return np.array(rows, dtype=np.int64).reshape(len(rows), ncols)


def lobster_book_target(data: bytes, skip_known: bool = False) -> None:
    d = Data(data)
    text = _lobster_bytes(d, _book_line)
    expected = reference_book(text)
    if skip_known and re.search(rb"-0*9223372036854775808(?![0-9])", text, re.M):
        raise Known("lobster-negate-int64-min")
    try:
        depth = lob.io.read_lobster_book(text)
    except BaseException as exc:
        if isinstance(exc, AssertionError):
            raise
        parse_error(exc, "read_lobster_book")
        if expected is not None:
            raise violation("lobster-refused-valid", f"read_lobster_book refused a valid file: {exc}") from exc
        return
    if expected is None:
        raise violation("lobster-accepted-invalid", f"read_lobster_book accepted {text[:200]!r}")
    ask_p, ask_q, bid_p, bid_q = (expected[:, k::4].copy() for k in range(4))
    ask_p[(ask_p == 9999999999) | (ask_q == 0)] = 0    # an empty level: price 0, as in apply's padding
    bid_p[(bid_p == -9999999999) | (bid_q == 0)] = 0
    for name, want in (("bid_price", bid_p), ("bid_qty", bid_q), ("ask_price", ask_p), ("ask_qty", ask_q)):
        got = getattr(depth, name)
        if got.shape != want.shape or not np.array_equal(got, want):
            raise violation("lobster-wrong-value", f"{name}: read {got.tolist()}, the text says {want.tolist()}")


# ---------------------------------------------------------------------------
# DBN (Databento MBO)

_METADATA = {}


def _metadata(schema: str) -> bytes:
    """Encoded DBN metadata for `schema` (made once per process)."""
    if schema not in _METADATA:
        import databento_dbn as dbn
        meta = dbn.Metadata("GLBX.MDP3", 0, dbn.SType.INSTRUMENT_ID, dbn.SType.INSTRUMENT_ID,
                            dbn.Schema.MBO if schema == "mbo" else dbn.Schema.TRADES)
        _METADATA[schema] = bytes(meta.encode())
    return _METADATA[schema]


ACTIONS = b"AAACCMTTFNR" + b"Xz"
DBN_SIDES = b"ABNABN" + b"Q"
MBO_RECORD = struct.Struct("<BBHIQQqIBBccQiI")     # 56 bytes, rtype 0xA0


def _mbo(d: Data):
    """(record bytes, expected event or None, F_LAST flag)."""
    action, side = d.choice(ACTIONS), d.choice(DBN_SIDES)
    ts_recv = d.choice((1, 2, 3, 1 << 62, INT64_MAX, INT64_MAX + 1, (1 << 64) - 1)) if d.byte() % 8 == 0 \
        else d.small(1, 9)
    oid = d.uint64(6)
    price = d.int64(1, 12)
    size = d.choice((0, 1, 5, 0xFFFFFFFF)) if d.byte() % 8 == 0 else d.small(1, 9)
    flags = d.choice((0, 128, 32, 160))
    instrument = d.choice((42, 42, 42, 7))
    rec = MBO_RECORD.pack(14, 0xA0, 1, instrument, ts_recv, oid, price, size, flags, 0, bytes([action]),
                          bytes([side]), ts_recv, 0, 0)
    return rec, (chr(action), chr(side), ts_recv, oid, price, size, instrument)


def dbn_bytes(d: Data):
    """(file bytes, the records as fields or None for raw bytes, (an MBO
    schema, corrupted on purpose))."""
    if d.byte() % 4 == 0:
        return d.rest(), None, (False, False)
    schema = "mbo" if d.byte() % 8 else "trades"
    meta = bytearray(_metadata(schema))
    records = [_mbo(d) for _ in range(d.small(0, 8))]
    body = b"".join(r for r, _ in records)
    corrupt = False
    mode = d.byte() % 16
    if mode == 0:                   # a corrupt metadata length
        struct.pack_into("<I", meta, 4, d.choice((0, 1, 200, 0x7FFFFFFF, 0xFFFFFFFF, len(meta) + 8)))
        corrupt = True
    elif mode == 1 and body:        # a truncated last record
        body = body[:-d.small(1, 55)]
        corrupt = True
    elif mode == 2 and body:        # a record with a wrong length byte
        first = d.byte()
        body = bytes([first]) + body[1:]
        corrupt = first != 14
    data = bytes(meta) + body
    if d.byte() % 4 == 0:
        import zstandard
        data = zstandard.ZstdCompressor(level=1).compress(data)
    return data, [fields for _, fields in records], (schema == "mbo", corrupt)


def reference_dbn(records):
    """(events, None) that read_dbn must give for well-formed MBO records,
    or (None, why) when it must refuse them: an action DBN does not define
    (corrupt data, silently dropped otherwise); in any record, a side DBN
    does not define or a ts_recv beyond int64 (a fill can become an event);
    an add without a side; several instruments.  The events are those of
    read_dbn(..., executions=False) (fills left out)."""
    from lob.kinds import ADD, CLEAR, MODIFY, NO_AGGRESSOR, REDUCE, TRADE
    if len({r[6] for r in records}) > 1:
        return None, "several-instruments"
    rows = []
    for action, side, ts, oid, price, size, _ in records:
        if action not in "ARCMTFN":
            return None, "unknown-action"
        if side not in "ABN":
            return None, "unknown-side"
        if ts > INT64_MAX:
            return None, "ts-beyond-int64"
        if action in "FN":          # no event (F: the trade counts once, from T)
            continue
        s = {"B": 0, "A": 1}.get(side)
        if action == "R":
            rows.append((ts, CLEAR, 0, 0, 0, 0))
        elif action == "A":
            if s is None:
                return None, "add-without-side"
            rows.append((ts, ADD, s, oid, price, size))
        elif action in "CM":
            rows.append((ts, REDUCE if action == "C" else MODIFY, 0 if s is None else s, oid, price, size))
        elif action == "T":
            rows.append((ts, TRADE, NO_AGGRESSOR if s is None else s, 0, price, size))
    return (np.array(rows, dtype=EVENT_DTYPE) if rows else np.zeros(0, EVENT_DTYPE)), None


_DBN_PATH = None


def _dbn_path():
    global _DBN_PATH
    if _DBN_PATH is None or not os.path.exists(os.path.dirname(_DBN_PATH)):
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        _DBN_PATH = os.path.join(tempfile.mkdtemp(prefix="lob-fuzz-dbn-", dir=base), "input.dbn")
    return _DBN_PATH


def dbn_target(data: bytes, skip_known: bool = False) -> None:
    """read_dbn on a file: the records' events, or a documented error."""
    d = Data(data)
    content, records, (mbo, corrupt) = dbn_bytes(d)
    well_formed = records is not None and mbo and not corrupt
    if skip_known:
        raw = content
        if raw[:4] == b"\x28\xb5\x2f\xfd":
            import zstandard
            try:
                raw = zstandard.ZstdDecompressor().stream_reader(raw).read()
            except Exception:
                raw = b""
        if len(raw) >= 8 and raw[:3] == b"DBN" and struct.unpack_from("<I", raw, 4)[0] > len(raw):
            raise Known("dbn-corrupt-metadata-length")
    path = _dbn_path()
    with open(path, "wb") as f:
        f.write(content)
    expected, why = reference_dbn(records) if well_formed else (None, None)
    try:
        events = lob.io.read_dbn(path, executions=False)
    except BaseException as exc:
        if isinstance(exc, (AssertionError, KeyboardInterrupt, SystemExit)):
            raise
        parse_error(exc, "read_dbn")
        if well_formed and expected is not None:
            raise violation("dbn-refused-valid", f"read_dbn refused a well-formed file: "
                            f"{type(exc).__name__}: {exc}") from exc
        return
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
        raise violation("dbn-result", f"read_dbn returned {type(events).__name__}")
    if records is not None and corrupt:
        # a file cut short or with a corrupt length must not read as if whole
        raise violation("dbn-accepted-corrupt", f"read_dbn read {len(events)} events from a corrupt file")
    if well_formed:
        if expected is None:
            raise violation(f"dbn-accepted-{why}", f"read_dbn accepted records it must refuse: {records}")
        if events.tobytes() != expected.tobytes():
            raise violation("dbn-wrong-value", f"read {events.tolist()}, the records say {expected.tolist()}")
