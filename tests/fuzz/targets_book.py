"""Fuzz targets of the book and the engine: OrderBook.apply over random
event arrays, MatchingEngine.submit_many over random requests.

Each target decodes its bytes into a scenario and checks it against a
reference walk of the same events one at a time: a refused event changes
nothing, a batch that raises has applied exactly the events before .index
(and none from it on), on_error="skip" equals the walk with the refused
events left out, and check() holds after every step.
"""
from __future__ import annotations

import copy

import numpy as np

import lob
from lob import EVENT_DTYPE, ORDER_DTYPE, EventError

from tests.fuzz.contract import (Violation, book_state, check_book, check_engine, documented, engine_state,
                                 rows_equal, same_book, violation)
from tests.fuzz.data import INT64_MAX, Data
from tests.fuzz.known import Known

# kinds 0..9: every valid one (1..8) and the invalid neighbours
EVENT_KINDS = (1, 1, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 7, 8, 8, 0, 9)
EVENT_SIDES = (0, 1, 0, 1, 0, 1, 2, -1, 3, 127, -128)


def random_events(d: Data, n: int) -> np.ndarray:
    rows = []
    for _ in range(n):
        kind = d.choice(EVENT_KINDS)
        side = d.choice(EVENT_SIDES)
        oid = d.uint64(6)
        price = d.int64(1, 12)
        qty = d.int64(-1, 8)
        ts = d.int64(0, 3)
        rows.append((ts, kind, side, oid, price, qty))
    return np.array(rows, dtype=EVENT_DTYPE) if rows else np.zeros(0, dtype=EVENT_DTYPE)


def random_book(d: Data):
    """An empty book, an allow_cross book or a from_depth (seeded) book;
    None when from_depth refused its input (checked)."""
    allow_cross = d.flag()
    if not d.flag():
        return lob.OrderBook(allow_cross)
    sides = []
    for _ in range(2):
        n = d.below(4)
        sides.append(([d.int64(1, 12) for _ in range(n)], [d.int64(0, 8) for _ in range(n)]))
    (bp, bq), (ap, aq) = sides
    try:
        return lob.OrderBook.from_depth(np.array(bp, dtype=np.int64), np.array(bq, dtype=np.int64),
                                        np.array(ap, dtype=np.int64), np.array(aq, dtype=np.int64),
                                        allow_cross=allow_cross)
    except Exception as exc:   # a crossed or non-positive snapshot: refused with a clear error
        documented(exc, "OrderBook.from_depth")
        return None


def _known_apply_crash(book_before_event: lob.OrderBook, ev, reason: str):
    """The crash list of issue 9 that the raise path of apply hits: the
    name of a known defect this refused event would trigger, or None."""
    kind, side, oid = int(ev["kind"]), int(ev["side"]), int(ev["order_id"])
    if reason == "crossed" and kind == lob.MODIFY and side not in (0, 1):
        return "apply-modify-bad-side-cross"
    if reason == "qty_above_resting" and kind in (lob.REDUCE, lob.CANCEL, lob.EXECUTE) \
            and oid not in book_before_event:
        return "apply-draw-unknown-overdraw"
    return None


def apply_target(data: bytes, skip_known: bool = False) -> None:
    """OrderBook.apply in both error modes over a random event array."""
    d = Data(data)
    book = random_book(d)
    if book is None:
        return
    on_error = "skip" if d.flag() else "raise"
    depth = d.below(3)
    record = not (d.byte() & 7 == 0)
    events = random_events(d, d.small(0, 16))
    check_book(book, "the book before apply")

    # the reference walk: one event at a time (skip mode: no error path)
    ref = copy.deepcopy(book)
    same_book(book_state(ref), book_state(book), "copy.deepcopy(book)")
    states, rows, refused = [], [], []
    first_fail = None
    for i in range(len(events)):
        before = book_state(ref)
        states.append(before)
        try:
            row = ref.apply(events[i:i + 1], depth=depth, on_error="skip")
        except BaseException as exc:
            raise violation("skip-raised", f"apply(events[{i}:{i + 1}], on_error='skip') raised "
                            f"{type(exc).__name__}: {exc}") from exc
        rows.append(row)
        if ref.last_rejected:
            reason = next(iter(ref.last_rejected))
            refused.append(reason)
            try:
                same_book(before, book_state(ref), f"refused event {i} ({reason}) in skip mode")
            except Violation as v:   # one signature per event kind and reason
                raise violation(f"{v.kind}-kind{int(events[i]['kind'])}-{reason}", str(v)) from None
            if first_fail is None:
                first_fail = (i, reason)
        check_book(ref, f"after event {i}")
    final = book_state(ref)
    states.append(final)

    if on_error == "raise" and first_fail is not None and skip_known:
        # replay the prefix on a copy to ask which defect the error path would hit
        probe = copy.deepcopy(book)
        probe.apply(events[:first_fail[0]], on_error="skip", record=False)
        known = _known_apply_crash(probe, events[first_fail[0]], first_fail[1])
        if known:
            raise Known(known)

    try:
        features = book.apply(events, depth=depth, record=record, on_error=on_error)
    except EventError as err:
        if on_error == "skip":
            raise violation("skip-raised", f"apply(on_error='skip') raised EventError: {err}") from err
        if first_fail is None:
            raise violation("spurious-error", f"apply raised at {err.index} but every event applies alone: {err}")
        if err.index != first_fail[0]:
            raise violation("wrong-index", f"EventError.index {err.index}, the first refused event is "
                            f"{first_fail[0]}")
        cause = err.__cause__
        if cause is None:
            raise violation("no-cause", f"EventError without __cause__: {err}")
        documented(cause, f"apply (event {err.index})")
        same_book(book_state(book), states[err.index], f"after EventError at {err.index}")
        if record and not rows_equal(err.features, _concat(rows[:err.index], depth)):
            raise violation("features-differ", f"EventError.features differ from the events before {err.index}")
    except BaseException as exc:
        raise violation(f"undocumented-{type(exc).__name__}", f"apply raised {type(exc).__name__}: {exc}") from exc
    else:
        if on_error == "raise" and first_fail is not None:
            raise violation("no-error", f"apply(on_error='raise') did not raise at refused event {first_fail[0]}")
        same_book(book_state(book), final, "after apply")
        if record and not rows_equal(features, _concat(rows, depth)):
            raise violation("features-differ", "batch features differ from one event at a time")
        if on_error == "skip" and sum(book.last_rejected.values()) != len(refused):
            raise violation("rejected-count", f"last_rejected {book.last_rejected}, refused one at a time "
                            f"{refused}")
    check_book(book, "after apply")


def _concat(rows, depth):
    if not rows:
        return np.zeros(0, dtype=lob.feature_dtype(depth))
    return np.concatenate(rows)


# ---------------------------------------------------------------------------
# MatchingEngine.submit_many

REQUEST_KINDS = (1, 1, 1, 1, 1, 2, 2, 3, 4, 4, 0, 5)
REQUEST_SIDES = (0, 1, 0, 1, 0, 1, 2, -1, 3)
ICEBERG_RATIO_LIMIT = 2000   # refills one request may cause before skip_known calls it the known defect


def random_orders(d: Data, n: int) -> np.ndarray:
    rows = []
    for _ in range(n):
        kind = d.choice(REQUEST_KINDS)
        side = d.choice(REQUEST_SIDES)
        tif = d.choice((0, 0, 0, 1, 2, 3))
        flags = d.choice((0, 0, 0, 1, 2))
        oid = d.uint64(6)
        price = d.int64(1, 12)
        qty = d.int64(-1, 10)
        mode = d.byte() % 8
        display = 0 if mode < 4 else (d.small(1, 3) if mode < 7 else d.int64(-1, 4))
        owner = d.choice((0, 0, 1, 2, 1 << 63))
        stp = d.choice((0, 1, 2, 3, 0, 1, 2, 3, 4))
        rows.append((0, kind, side, tif, flags, oid, price, qty, display, owner, stp))
    return np.array(rows, dtype=ORDER_DTYPE) if rows else np.zeros(0, dtype=ORDER_DTYPE)


def _seed(eng, side, price, qty):
    """Anonymous qty in the engine's book: the engine owns its book (eng.book
    is a read-only view) and has no seeding, so there is none to add."""
    if hasattr(eng, "seed"):
        eng.seed(side, price, qty)


REPORT_FIELDS = ("status", "filled", "remaining", "cancelled", "n_fills")


def _reports_equal(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(a[f], b[f]) for f in REPORT_FIELDS)


def engine_target(data: bytes, skip_known: bool = False) -> None:
    """MatchingEngine.submit_many over random requests with icebergs,
    owners and stp modes, on an engine with optional seeded qty."""
    d = Data(data)
    seeds = [(d.below(2), d.int64(1, 12), d.int64(1, 8)) for _ in range(d.below(3))]
    orders = random_orders(d, d.small(0, 14))
    want_stps = d.flag()

    def make():
        eng = lob.MatchingEngine()
        for side, price, qty in seeds:
            try:
                _seed(eng, side, price, qty)
            except Exception as exc:
                documented(exc, "seeding the engine's book")
        return eng

    if skip_known:
        seeded = make().book.anonymous_levels()
        if len(seeded) and np.any(orders["kind"] == 4):
            raise Known("engine-modify-anonymous-cross")
        disp = orders["display_qty"].astype(object)
        qty = orders["qty"].astype(object)
        if any(k in (1, 2) and 0 < x and q // x > ICEBERG_RATIO_LIMIT
               for k, x, q in zip(orders["kind"].tolist(), disp.tolist(), qty.tolist())):
            raise Known("engine-iceberg-refill-per-fill")
        if any(k == 4 and q > ICEBERG_RATIO_LIMIT for k, q in zip(orders["kind"].tolist(), qty.tolist())):
            raise Known("engine-iceberg-refill-per-fill")    # a modified iceberg keeps its display

    ref = make()
    check_engine(ref, "the seeded engine")
    states, fills, reports, stps = [], [], [], []
    first_fail = None
    refill_blowup = None
    for i in range(len(orders)):
        before = engine_state(ref)
        states.append(before)
        resting = len(ref.book)
        if skip_known and _side_total_passes_int64(ref):
            raise Known("engine-overflow-check-wrap")
        try:
            f, r, s = ref.submit_many(orders[i:i + 1], self_trades=True)
        except EventError as err:
            cause = err.__cause__
            if cause is None:
                raise violation("no-cause", f"EventError without __cause__: {err}") from err
            documented(cause, f"submit_many (request {i})")
            if err.index != 0:
                raise violation("wrong-index", f"one request, EventError.index {err.index}")
            try:
                same_book(before, engine_state(ref), f"refused request {i} ({type(cause).__name__}: {cause})")
            except Violation as v:   # one signature per request kind and error
                raise violation(f"{v.kind}-kind{int(orders[i]['kind'])}-{type(cause).__name__}", str(v)) from None
            check_engine(ref, f"after refused request {i}")
            first_fail = i
            break
        except BaseException as exc:
            raise violation(f"undocumented-{type(exc).__name__}", f"submit_many raised {type(exc).__name__}: {exc}") from exc
        check_engine(ref, f"after request {i}")
        if len(f) > 2 * resting + 2 and refill_blowup is None:
            refill_blowup = (i, len(f), resting)
        fills.append(f)
        reports.append(r)
        stps.append(s)
    final = engine_state(ref)
    states.append(final)

    eng = make()
    try:
        out = eng.submit_many(orders, self_trades=want_stps)
    except EventError as err:
        if first_fail is None:
            raise violation("spurious-error", f"submit_many raised at {err.index} but each request runs alone")
        if err.index != first_fail:
            raise violation("wrong-index", f"EventError.index {err.index}, the first refused request {first_fail}")
        same_book(engine_state(eng), states[err.index], f"after EventError at {err.index}")
        if not _reports_equal(err.reports, _cat(reports, lob.REPORT_DTYPE)):
            raise violation("reports-differ", "EventError.reports differ from the requests one at a time")
        if not rows_equal(err.fills, _cat(fills, lob.FILL_DTYPE)):
            raise violation("fills-differ", "EventError.fills differ from the requests one at a time")
    except BaseException as exc:
        raise violation(f"undocumented-{type(exc).__name__}", f"submit_many raised {type(exc).__name__}: {exc}") from exc
    else:
        if first_fail is not None:
            raise violation("no-error", f"submit_many did not raise at refused request {first_fail}")
        same_book(engine_state(eng), final, "after submit_many")
        if not rows_equal(out[0], _cat(fills, lob.FILL_DTYPE)):
            raise violation("fills-differ", "batch fills differ from the requests one at a time")
        if not _reports_equal(out[1], _cat(reports, lob.REPORT_DTYPE)):
            raise violation("reports-differ", "batch reports differ from the requests one at a time")
        if want_stps and not rows_equal(out[2], _cat(stps, lob.SELF_TRADE_DTYPE)):
            raise violation("self-trades-differ", "batch self_trades differ from the requests one at a time")
    check_engine(eng, "after submit_many")
    if refill_blowup is not None and not skip_known:
        i, nfills, resting = refill_blowup
        raise violation("iceberg-fill-rows", f"request {i} made {nfills} fill rows against {resting} resting "
                        f"orders: O(qty / display_qty), not O(makers touched)")


def _side_total_passes_int64(eng) -> bool:
    """True when one side's qty (visible + hidden) passes int64: the
    engine's up-front overflow check sums it in int64 (issue 9)."""
    snap = eng.book.snapshot()
    for side in (0, 1):
        total = sum(int(q) for q in eng.book.depth(1 << 20)[2 * side + 1].tolist())
        total += sum(eng.order(int(oid)).hidden_qty for oid in snap["order_id"][snap["side"] == side].tolist())
        if total > INT64_MAX:
            return True
    return False


def _cat(parts, dtype):
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
