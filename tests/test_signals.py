"""The C signals of issue 11 against the plain-Python model, after every event.

Three ways to the same numbers must agree: the model (tests/signals_model.py, the contract's
definitions), the C book read per call after each event (the mutating methods take ``ts=``),
and the C batch rows of ``apply(events, signals=True)``. Per-call reads and batch rows are
compared bit for bit. C against the model is exact (integers; floats where both compute the
contract's formula with the same roundings) except in two places where the operation order
cannot be the same:

* ``volume_delta_ewm`` with ``halflife_ns > 0``: the contract's sum of terms
  ``q * 2**(-(ts - t)/h)`` against an incremental decay (one ``exp2`` per clock move), so
  the error grows with the number of clock moves: within 1e-9 of the sum of |terms|;
* ``rolling_vwap`` when the window's notional is past 2**53: the C notional rounds to a
  double before the division, the model divides exact integers: within 4 ulp (and the
  deviation in bps that follows it).

Real samples: the LOBSTER AAPL (10 levels, seeded from orderbook row 0) and GOOG (1 level)
files, the Databento CME sample (allow_cross=True, as the CLI replays it), and ITCH 5.0
written by lob.synth.write_itch and read back (the shared ITCH sample holds no order
messages).
"""
import math
import pathlib
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import lob
from signals_model import SignalModel

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
AAPL_MSG = SHARED / "lobster" / "AAPL_2012-06-21_34200000_57600000_message_10.csv"
AAPL_BOOK = SHARED / "lobster" / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"
GOOG_MSG = SHARED / "lobster" / "GOOG_2012-06-21_34200000_57600000_message_1.csv"
GOOG_BOOK = SHARED / "lobster" / "GOOG_2012-06-21_34200000_57600000_orderbook_1.csv"
CME = SHARED / "dbn" / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst"

BID, ASK = lob.BID, lob.ASK
FLOAT_FIELDS = ("trade_imbalance", "volume_delta_ewm", "rolling_vwap", "vwap_deviation_bps")
INT_FIELDS = ("ofi", "run_levels", "run_qty", "absorbed_bid", "absorbed_ask")
EXACT_NOTIONAL = 2**53
REFUSED = (lob.LobError, ValueError, KeyError, OverflowError)


# --------------------------------------------------------------------------- driving the C book
def call_event(book, kind, side, oid, price, qty, ts):
    """One event through the C book's Python methods, as apply() would run it (an unknown
    id of a CANCEL / REDUCE / EXECUTE draws on the anonymous qty). True if accepted.
    ts=None calls the method without ts= (the event happens at the clock)."""
    if ts is None:
        return call_event(_NoTs(book), kind, side, oid, price, qty, 0)
    try:
        if kind == lob.ADD:
            book.add(oid, side, price, qty, ts=ts)
        elif kind in (lob.CANCEL, lob.REDUCE, lob.EXECUTE):
            if oid in book:
                if kind == lob.CANCEL:
                    book.cancel(oid, ts=ts)
                elif kind == lob.REDUCE:
                    book.reduce(oid, qty, ts=ts)
                else:
                    book.execute(oid, qty, ts=ts)
            elif kind == lob.EXECUTE:
                book.execute_anonymous(side, price, qty, ts=ts)
            else:
                book.cancel_anonymous(side, price, qty, ts=ts)
        elif kind == lob.MODIFY:
            book.modify(oid, price, qty, ts=ts)
        elif kind == lob.TRADE:
            book.trade(side, price, qty, ts=ts)
        elif kind == lob.CLEAR:
            book.clear(ts=ts)
        elif kind == lob.ANON:
            book.set_anonymous(side, price, qty, ts=ts)
        else:
            return False
    except REFUSED:
        return False
    return True


class _NoTs:
    """The book, with ts= dropped from every call."""

    def __init__(self, book):
        self._book = book

    def __contains__(self, oid):
        return oid in self._book

    def __getattr__(self, name):
        method = getattr(self._book, name)
        return lambda *args, ts: method(*args)


def is_run_trade(kind, side, accepted):
    """The event was a trade for runs (a sided trade): its row carries the run."""
    return accepted and (kind == lob.EXECUTE or (kind == lob.TRADE and side in (BID, ASK)))


def read_row(book, run_trade):
    """The signal fields of a batch row, read per call after the event."""
    row = {
        "ofi": book.ofi,
        "trade_imbalance": book.trade_imbalance,
        "volume_delta_ewm": book.volume_delta_ewm,
        "rolling_vwap": book.rolling_vwap,
        "vwap_deviation_bps": book.vwap_deviation_bps,
        "run_levels": book.run_levels if run_trade else 0,
        "run_qty": book.run_qty if run_trade else 0,
        "absorbed_bid": book.absorbed_bid,
        "absorbed_ask": book.absorbed_ask,
    }
    levels = book.ofi_levels()
    if len(levels) > 1:
        row["ofi_levels"] = [int(x) for x in levels]
    return row


def batch_row(rows, i):
    row = rows[i]
    out = {name: (float(row[name]) if name in FLOAT_FIELDS else int(row[name]))
           for name in FLOAT_FIELDS + INT_FIELDS}
    if "ofi_levels" in rows.dtype.names:
        out["ofi_levels"] = row["ofi_levels"].tolist()
    return out


def bits(x):
    return struct.pack("<d", x)


def assert_same_bits(got, exp, where):
    """Batch row against per-call reads: every field, floats to the bit."""
    assert got.keys() == exp.keys(), where
    for name in got:
        if name in FLOAT_FIELDS:
            assert bits(got[name]) == bits(exp[name]), f"{where}: {name} {got[name]!r} != {exp[name]!r}"
        else:
            assert got[name] == exp[name], f"{where}: {name} {got[name]!r} != {exp[name]!r}"


# --------------------------------------------------------------------------- against the model
def close_float(got, exp, name, model):
    """C float `got` against the model's `exp`: exact but for the two documented places."""
    if not isinstance(got, float):
        return False
    if math.isnan(exp) or math.isnan(got):
        return math.isnan(exp) and math.isnan(got)
    if got == exp:
        return True
    if name == "volume_delta_ewm" and model.halflife_ns > 0:
        return abs(got - exp) <= 1e-9 * (model.volume_delta_ewm_scale + 1.0)
    if name in ("rolling_vwap", "vwap_deviation_bps") and abs(model.rolling_notional) >= EXACT_NOTIONAL:
        if name == "rolling_vwap":
            return abs(got - exp) <= 4 * math.ulp(exp)
        scale = abs(model.mid / model.rolling_vwap) * 1e4
        return abs(got - exp) <= 8 * scale * 2.0**-52 + 4 * math.ulp(exp)
    return False


def assert_row_matches_model(got, model_row, model, where):
    assert got.keys() == model_row.keys(), where
    for name, exp in model_row.items():
        if name in FLOAT_FIELDS:
            assert close_float(got[name], exp, name, model), f"{where}: {name} C {got[name]!r} model {exp!r}"
        else:
            assert got[name] == exp, f"{where}: {name} C {got[name]!r} model {exp!r}"


def assert_reads_match_model(book, model, where):
    """Every per-call signal of the C book against the model."""
    assert book.ts == model.ts, f"{where}: ts {book.ts} != {model.ts}"
    assert (book.best_bid, book.best_bid_qty, book.best_ask, book.best_ask_qty) == (
        model.best_bid, model.best_bid_qty, model.best_ask, model.best_ask_qty), where
    assert book.ofi == model.ofi and [int(x) for x in book.ofi_levels()] == model.ofi_levels(), where
    for name in FLOAT_FIELDS:
        got, exp = getattr(book, name), getattr(model, name)
        assert close_float(got, exp, name, model), f"{where}: {name} C {got!r} model {exp!r}"
    for name in ("run_levels", "run_qty", "run_side", "sweeps", "absorbed_bid", "absorbed_ask"):
        assert getattr(book, name) == getattr(model, name), f"{where}: {name}"
    for side in (BID, ASK):
        got, exp = book.absorption(side), model.absorption(side)
        assert (math.isnan(got) and math.isnan(exp)) or got == exp, f"{where}: absorption({side})"


# --------------------------------------------------------------------------- one stream, three ways
def make_books(config, seed_levels):
    """The C book twice (per call, batch) and the model, equally configured and seeded."""
    kw = {k: config[k] for k in ("ofi_levels", "vwap_window_ns", "halflife_ns")}
    if seed_levels is None:
        books = [lob.OrderBook(config["allow_cross"], **kw) for _ in range(2)]
        model = SignalModel(config["allow_cross"], **kw)
    else:
        books = [lob.OrderBook.from_depth(*seed_levels, allow_cross=config["allow_cross"], **kw)
                 for _ in range(2)]
        model = SignalModel.from_depth(*seed_levels, allow_cross=config["allow_cross"], **kw)
    return books[0], books[1], model


def run_three_ways(events, config, seed_levels=None, reset_at=None, depth=0):
    """Apply `events` per call, in batch (reset_flow() before event `reset_at` in both) and
    to the model; check all three after every event. Returns the model."""
    calls, batch, model = make_books(config, seed_levels)
    n = len(events)
    cut = n if reset_at is None else reset_at
    parts = [batch.apply(events[:cut], depth=depth, signals=True, on_error="skip")]
    if reset_at is not None:
        batch.reset_flow()
        parts.append(batch.apply(events[cut:], depth=depth, signals=True, on_error="skip"))
    assert_reads_match_model(calls, model, "before any event")
    i = 0
    for part_index, rows in enumerate(parts):
        if part_index == 1:
            calls.reset_flow()
            model.reset_flow()
        for j in range(len(rows)):
            kind, side, oid, price, qty, ts = (int(events[i][f]) for f in
                                                ("kind", "side", "order_id", "price", "qty", "ts"))
            accepted = call_event(calls, kind, side, oid, price, qty, ts)
            assert model.apply_event(kind, side, oid, price, qty, ts) == accepted, (
                f"event {i}: model and C disagree on accepting kind={kind} side={side} id={oid} "
                f"price={price} qty={qty}")
            where = f"event {i} (kind={kind} side={side} id={oid} price={price} qty={qty} ts={ts})"
            assert_reads_match_model(calls, model, where)
            per_call = read_row(calls, is_run_trade(kind, side, accepted))
            assert_same_bits(batch_row(rows, j), per_call, where + " batch row vs per-call reads")
            assert_row_matches_model(per_call, model.row(), model, where)
            i += 1
    assert_reads_match_model(batch, model, "end of batch")
    calls.check()
    batch.check()
    return model


# --------------------------------------------------------------------------- hypothesis streams
KINDS = st.sampled_from([lob.ADD] * 6 + [lob.CANCEL] * 2 + [lob.REDUCE, lob.EXECUTE, lob.EXECUTE, lob.TRADE,
                                                             lob.TRADE, lob.MODIFY, lob.CLEAR, lob.ANON, 0, 9])
EVENT = st.tuples(
    st.sampled_from([0, 0, 0, 1, 1, 2, 5, 40, -3]),   # ts step: same ts often; -3 is a late event
    KINDS,
    st.sampled_from([0, 0, 0, 1, 1, 1, 2, -1]),       # side (2: NO_AGGRESSOR trades, else refused)
    st.integers(0, 15),                               # order id: a small pool, ids repeat
    st.integers(95, 105),                             # price near the touch
    st.integers(-1, 6),                               # qty (<= 0 refused; some above what rests)
)
CONFIG = st.fixed_dictionaries({
    "allow_cross": st.booleans(),
    "ofi_levels": st.integers(1, 10),
    "vwap_window_ns": st.sampled_from([0, 1, 3, 50]),
    "halflife_ns": st.sampled_from([0, 1, 4, 100]),
})
SEED = st.one_of(st.none(), st.tuples(
    st.lists(st.integers(96, 100), min_size=0, max_size=3, unique=True),
    st.lists(st.integers(101, 104), min_size=0, max_size=3, unique=True),
    st.integers(1, 9)).map(lambda t: (t[0], [t[2]] * len(t[0]), t[1], [t[2] + 1] * len(t[1]))))


def to_events(rows):
    ev = np.zeros(len(rows), dtype=lob.EVENT_DTYPE)
    clock = 0
    for i, (step, kind, side, oid, price, qty) in enumerate(rows):
        if step >= 0:
            clock += step
            ts = clock
        else:
            ts = max(0, clock + step)
        if kind == lob.ANON:
            qty = max(qty, 0)
        ev[i] = (ts, kind, side, oid, price, qty)
    return ev


ACTIONS = st.sampled_from(["add"] * 5 + ["cancel", "cancel", "reduce", "execute", "execute", "execute",
                                         "trade", "trade", "modify", "clear", "anon", "bad"])


@st.composite
def streams(draw, config, seed_levels):
    """An event stream drawn against the book it builds (a model of its own), so that most
    events apply and touch what the signals look at: executions and prints at the best
    prices (absorption), several prices at one ts (sweeps), late ts, anonymous qty, and
    now and then an event the book refuses."""
    kw = {k: config[k] for k in ("ofi_levels", "vwap_window_ns", "halflife_ns")}
    gen = (SignalModel(config["allow_cross"], **kw) if seed_levels is None else
           SignalModel.from_depth(*seed_levels, allow_cross=config["allow_cross"], **kw))
    n = draw(st.integers(1, 80))
    clock, out = 0, []
    for _ in range(n):
        step = draw(st.sampled_from([0, 0, 0, 1, 1, 2, 5, 40, -3]))
        clock = clock + step if step >= 0 else clock
        ts = clock if step >= 0 else max(0, clock + step)
        action = draw(ACTIONS)
        live = sorted(gen._orders)
        anon = gen.anonymous_levels()
        bb, ba = gen.best_bid, gen.best_ask
        touch = [p for p in (bb, ba) if p is not None] or [100]
        near = st.integers(min(touch) - 3, max(touch) + 3)
        kind, side, oid, price, qty = lob.ADD, 0, 0, 100, 1
        if action == "add":
            side = draw(st.sampled_from([BID, ASK]))
            price, qty, oid = draw(near), draw(st.integers(1, 6)), draw(st.integers(0, 40))
        elif action in ("cancel", "reduce", "execute"):
            kind = {"cancel": lob.CANCEL, "reduce": lob.REDUCE, "execute": lob.EXECUTE}[action]
            if live and (not anon or draw(st.booleans())):
                oid = draw(st.sampled_from(live))
                side, price, resting = gen.order(oid)
                qty = draw(st.integers(1, resting + 1))          # resting + 1 is refused
            elif anon:
                side, price, resting = draw(st.sampled_from(anon))
                oid, qty = 10**6, draw(st.integers(1, resting + 1))
            else:
                oid, side, price, qty = 10**6, BID, 100, 1       # refused: nothing to draw on
        elif action == "trade":
            kind = lob.TRADE
            side = draw(st.sampled_from([BID, ASK, ASK, BID, lob.NO_AGGRESSOR]))
            at = ba if side == BID else bb
            price = at if at is not None and draw(st.booleans()) else draw(near)
            qty = draw(st.integers(1, 6))
        elif action == "modify":
            kind = lob.MODIFY
            oid = draw(st.sampled_from(live)) if live else 0
            price, qty = draw(near), draw(st.integers(1, 6))
        elif action == "clear":
            kind = lob.CLEAR
        elif action == "anon":
            kind, side = lob.ANON, draw(st.sampled_from([BID, ASK]))
            price, qty = draw(near), draw(st.integers(0, 6))
        else:
            kind, side, oid, price, qty = draw(EVENT)[1:]
            qty = max(qty, 0) if kind == lob.ANON else qty
        gen.apply_event(kind, side, oid, price, qty, ts)
        out.append((ts, kind, side, oid, price, qty))
    ev = np.zeros(len(out), dtype=lob.EVENT_DTYPE)
    for i, row in enumerate(out):
        ev[i] = row
    return ev


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), config=CONFIG, seed_levels=SEED, reset=st.one_of(st.none(), st.floats(0, 1)),
       depth=st.sampled_from([0, 2]))
def test_random_streams_three_ways(data, config, seed_levels, reset, depth):
    events = data.draw(streams(config, seed_levels))
    reset_at = None if reset is None else int(reset * len(events))
    run_three_ways(events, config, seed_levels, reset_at, depth)


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(EVENT, max_size=70), config=CONFIG, seed_levels=SEED)
def test_blind_random_streams_three_ways(rows, config, seed_levels):
    """Events drawn blind: most are refused (unknown ids, bad sides and kinds, qty <= 0)."""
    run_three_ways(to_events(rows), config, seed_levels)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(EVENT, min_size=1, max_size=60), config=CONFIG)
def test_raise_mode_rows_are_the_prefix(rows, config):
    """on_error="raise": the rows before the bad event are the model's, and the book stops
    there with the clock of the last applied event."""
    events = to_events(rows)
    kw = {k: config[k] for k in ("ofi_levels", "vwap_window_ns", "halflife_ns")}
    book = lob.OrderBook(config["allow_cross"], **kw)
    model = SignalModel(config["allow_cross"], **kw)
    try:
        rows_out = book.apply(events, signals=True)
        stop = len(events)
    except lob.EventError as err:
        stop, rows_out = err.index, err.features
    for i in range(stop):
        e = events[i]
        assert model.apply_event(int(e["kind"]), int(e["side"]), int(e["order_id"]), int(e["price"]),
                                 int(e["qty"]), int(e["ts"]))
        assert_row_matches_model(batch_row(rows_out, i), model.row(), model, f"event {i}")
    if stop < len(events):
        e = events[stop]
        assert not model.apply_event(int(e["kind"]), int(e["side"]), int(e["order_id"]), int(e["price"]),
                                     int(e["qty"]), int(e["ts"]))
    assert_reads_match_model(book, model, "after the batch")


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(EVENT, st.booleans()), max_size=60), config=CONFIG)
def test_calls_without_ts_happen_at_the_clock(rows, config):
    """Per call, ts= is optional: without it the event happens at the clock."""
    events = to_events([r for r, _ in rows])
    kw = {k: config[k] for k in ("ofi_levels", "vwap_window_ns", "halflife_ns")}
    book = lob.OrderBook(config["allow_cross"], **kw)
    model = SignalModel(config["allow_cross"], **kw)
    for i, ((_, with_ts), e) in enumerate(zip(rows, events.tolist())):
        ts, kind, side, oid, price, qty = e
        ts = ts if with_ts else None
        accepted = call_event(book, kind, side, oid, price, qty, ts)
        assert model.apply_event(kind, side, oid, price, qty, ts) == accepted, f"event {i}"
        assert_reads_match_model(book, model, f"event {i} (ts={ts})")


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(EVENT, min_size=2, max_size=60), config=CONFIG, cut=st.floats(0, 1))
def test_pickle_and_copy_keep_the_signal_state(rows, config, cut):
    """A book pickled (or deep-copied) mid-stream goes on exactly as the original: the clock,
    OFI, the VWAP window's trades, the decayed delta, the current run and absorption."""
    import copy
    import pickle
    events = to_events(rows)
    k = int(cut * len(events))
    kw = {name: config[name] for name in ("ofi_levels", "vwap_window_ns", "halflife_ns")}
    book = lob.OrderBook(config["allow_cross"], **kw)
    book.apply(events[:k], signals=True, on_error="skip")
    for twin in (pickle.loads(pickle.dumps(book)), copy.deepcopy(book)):
        assert twin.ts == book.ts and [int(x) for x in twin.ofi_levels()] == [int(x) for x in book.ofi_levels()]
        rest_a = copy.deepcopy(book).apply(events[k:], depth=2, signals=True, on_error="skip")
        rest_b = twin.apply(events[k:], depth=2, signals=True, on_error="skip")
        assert rest_a.tobytes() == rest_b.tobytes()


# --------------------------------------------------------------------------- by hand, on the C book
def test_hand_stream_on_the_c_book():
    """The stream of docs/signals.md (and test_signals_model.py) on the C book."""
    book = lob.OrderBook(ofi_levels=2, vwap_window_ns=10, halflife_ns=10)
    assert book.ts == 0 and book.run_side == -1 and math.isnan(book.trade_imbalance)
    book.add(1, BID, 100, 5, ts=1)
    book.add(2, ASK, 102, 3, ts=2)
    book.add(3, BID, 100, 2, ts=3)
    book.cancel(1, ts=4)
    book.add(4, BID, 101, 4, ts=5)
    book.execute(2, 3, ts=6)
    book.add(5, ASK, 103, 6, ts=7)
    assert book.ofi == 0 and book.ofi_levels().tolist() == [0, 2]
    assert (book.run_levels, book.run_qty, book.run_side, book.sweeps) == (1, 3, BID, 0)


def test_clock_is_monotone_and_refusals_leave_it():
    book = lob.OrderBook()
    book.add(1, BID, 100, 1, ts=50)
    book.add(2, BID, 99, 1, ts=20)           # late: the clock stays
    book.add(3, BID, 98, 1)                  # no ts: at the clock
    assert book.ts == 50
    with pytest.raises(lob.UnknownOrderError):
        book.cancel(99, ts=90)
    assert book.ts == 50
    book.reset_flow()
    assert book.ts == 50


def test_configuration_errors_name_the_field():
    for kw, field in (({"ofi_levels": 0}, "ofi_levels"), ({"ofi_levels": 11}, "ofi_levels"),
                      ({"vwap_window_ns": -1}, "vwap_window_ns"), ({"halflife_ns": -1}, "halflife_ns")):
        with pytest.raises(ValueError, match=field):
            lob.OrderBook(**kw)
        with pytest.raises(ValueError, match=field):
            lob.OrderBook.from_depth([100], [1], [101], [1], **kw)


def test_signals_false_rows_are_unchanged():
    ev = lob.synth.generate(2000, seed=3, p_trade=0.05, p_reduce=0.05, p_modify=0.05)
    plain = lob.OrderBook().apply(ev, depth=3)
    off = lob.OrderBook(ofi_levels=5, vwap_window_ns=10**6, halflife_ns=10**6).apply(ev, depth=3, signals=False)
    assert off.dtype == lob.feature_dtype(3) and off.tobytes() == plain.tobytes()
    on = lob.OrderBook(ofi_levels=5).apply(ev, depth=3, signals=True)
    for name in plain.dtype.names:
        assert on[name].tobytes() == plain[name].tobytes(), name
    assert on["ofi_levels"].shape == (len(ev), 5)


def test_engine_takers_start_their_own_runs():
    """Engine fills are trades with the taker as aggressor; each request is its own run
    (all at the clock, ts 0, here), and each fill is one book event for OFI and absorption."""
    eng = lob.MatchingEngine()
    model = SignalModel()
    resting = [(1, ASK, 101, 2), (2, ASK, 101, 1), (3, ASK, 102, 4), (4, ASK, 104, 5), (5, BID, 99, 3)]
    for oid, side, price, qty in resting:
        eng.submit(oid, side, price, qty)
        model.add(oid, side, price, qty)
    for oid, side, price, qty in [(10, BID, 102, 4), (11, BID, 102, 1), (12, ASK, 98, 5), (13, BID, 103, 9)]:
        rep = eng.submit(oid, side, price, qty)
        model.taker(side, [(int(f["maker_id"]), int(f["qty"])) for f in rep.fills])
        if rep.remaining:
            model.add(oid, side, price, rep.remaining)
        assert_reads_match_model(eng.book, model, f"after taker {oid}")
    # taker 10 sweeps 101 and 102; taker 13 sweeps 98 (the rest of taker 12) and 102
    assert eng.book.sweeps == model.sweeps == 2


# --------------------------------------------------------------------------- real samples
def compare_on_file(events, config, seed_levels=None, depth=0):
    model = run_three_ways(events, config, seed_levels, reset_at=None, depth=depth)
    return model


def lobster_seed(book_csv):
    snap = lob.io.read_lobster_book(book_csv)
    return snap.bid_price[0], snap.bid_qty[0], snap.ask_price[0], snap.ask_qty[0]


@pytest.mark.skipif(not AAPL_MSG.exists(), reason="../shared/data/lobster is not present")
def test_lobster_aapl_sample():
    import lob.io
    events, _, rows = lob.io.read_lobster_messages(AAPL_MSG)
    events = events[rows >= 1]               # orderbook row 0 is the book after message 0
    config = {"allow_cross": False, "ofi_levels": 10, "vwap_window_ns": 1_000_000_000,
              "halflife_ns": 250_000_000}
    model = compare_on_file(events, config, lobster_seed(AAPL_BOOK), depth=5)
    assert model.trade_count > 100 and model.sweeps > 0


@pytest.mark.skipif(not GOOG_MSG.exists(), reason="../shared/data/lobster is not present")
def test_lobster_goog_sample():
    import lob.io
    events, _, rows = lob.io.read_lobster_messages(GOOG_MSG)
    events = events[(rows >= 1) & (rows <= 8000)]
    config = {"allow_cross": False, "ofi_levels": 3, "vwap_window_ns": 5_000_000_000,
              "halflife_ns": 1_000_000_000}
    model = compare_on_file(events, config, lobster_seed(GOOG_BOOK))
    assert model.trade_count > 500


@pytest.mark.skipif(not CME.exists(), reason="../shared/data/dbn is not present")
def test_dbn_cme_sample():
    pytest.importorskip("databento_dbn")
    import lob.io
    events = lob.io.read_dbn(CME)
    config = {"allow_cross": True, "ofi_levels": 5, "vwap_window_ns": 500_000_000, "halflife_ns": 100_000_000}
    model = compare_on_file(events, config)
    assert model.trade_count == 5


def test_itch_written_and_read_back(tmp_path):
    import lob.io
    streams = {"AAA": lob.synth.generate(3000, seed=11, target_orders=300, p_trade=0.05, p_reduce=0.05,
                                         p_modify=0.03),
               "BBB": lob.synth.generate(2000, seed=12, target_orders=200, p_trade=0.05)}
    path = tmp_path / "s.itch"
    lob.synth.write_itch(streams, path)
    for symbol, events in lob.io.read_itch(path).items():
        config = {"allow_cross": False, "ofi_levels": 4, "vwap_window_ns": 10_000, "halflife_ns": 5_000}
        model = compare_on_file(events, config)
        assert model.trade_count > 50, symbol


def test_signals_through_replay_itch_and_the_cli(tmp_path):
    """replay_itch's books keep the signals of their configuration, and
    `lob replay --signals` writes every signal field (parquet too)."""
    import subprocess
    import sys

    import lob.io

    streams = {"AAA": lob.synth.generate(3000, seed=5, target_orders=100),
               "BBB": lob.synth.generate(2000, seed=6, target_orders=100, first_id=10_000_000)}
    path = tmp_path / "two.itch"
    lob.synth.write_itch(streams, path)
    books, rejected = lob.io.replay_itch(path, ofi_levels=3, vwap_window_ns=10**9, halflife_ns=10**9)
    assert not rejected
    for symbol, events in lob.io.read_itch(path).items():
        twin = lob.OrderBook(ofi_levels=3, vwap_window_ns=10**9, halflife_ns=10**9)
        rows = twin.apply(events, signals=True)
        book = books[symbol]
        assert (book.ofi, book.sweeps, book.run_qty, book.ts) == (twin.ofi, twin.sweeps, twin.run_qty, twin.ts)
        assert book.ofi_levels().tolist() == twin.ofi_levels().tolist() == rows[-1]["ofi_levels"].tolist()
    out = tmp_path / "f.npy"
    proc = subprocess.run([sys.executable, "-m", "lob", "replay", str(path), "--symbol", "AAA", "--signals",
                           "--ofi-levels", "3", "--vwap-window", "1s", "--halflife", "1s", "--features", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "signals       ofi" in proc.stdout
    rows = np.load(out)
    twin = lob.OrderBook(ofi_levels=3, vwap_window_ns=10**9, halflife_ns=10**9)
    assert rows.tobytes() == twin.apply(lob.io.read_itch(path)["AAA"], signals=True).tobytes()
