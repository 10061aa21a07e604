"""LOBSTER files: reading messages, and building the event streams, in ns per
message row.

- read: lob.io.read_lobster against numpy.loadtxt on a 400,000-row message
  file (the size of LOBSTER's free AAPL day).
- pair -> stream: lob.io.read_lobster_stream(message, orderbook) on the shared
  GOOG day (49,482 rows, level 1) and on a generated 400,000-row level-10 pair
  written as LOBSTER writes (only the rows that change the top 10 levels, so
  levels leave and re-enter the window).  floor: reading both files and
  applying the messages once in a batch (no seeding, no resync, refusals
  skipped): what the stream cannot go below.  Targets: the GOOG pair well
  under a second, the 400k-row pair in a few seconds.
- check: lob.io.check_lobster against the check it replaced (one event per
  apply() call, resync through the Python API; copied below as
  `check_per_event`) on a 20,000-row level-10 pair.
- messages alone: lob.io.read_lobster_stream(message) on the GOOG day against
  the floor (read + apply).
"""
import pathlib

import numpy as np
import pytest

import lob
import lob.io

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"
GOOG = (SHARED / "GOOG_2012-06-21_34200000_57600000_message_1.csv",
        SHARED / "GOOG_2012-06-21_34200000_57600000_orderbook_1.csv")


def rows_of(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


@pytest.fixture(scope="module")
def message_file(tmp_path_factory, full_run):
    path = tmp_path_factory.mktemp("lobster") / "message.csv"
    events = lob.synth.generate(400_000 if full_run else 2_000, seed=5)
    lob.io.write_lobster(events, path, path.with_name("orderbook.csv"), levels=1)
    return path


@pytest.fixture(scope="module")
def big_pair(tmp_path_factory, full_run):
    """A level-10 pair with about 400,000 rows, windowed as LOBSTER's files are."""
    folder = tmp_path_factory.mktemp("lobster_pair")
    msg, book = folder / "SYN_message_10.csv", folder / "SYN_orderbook_10.csv"
    events = lob.synth.generate(1_030_000 if full_run else 5_000, seed=5, p_reduce=0.05, p_modify=0.02,
                                p_trade=0.02)
    lob.io.write_lobster(events, msg, book, levels=10, window=True)
    return msg, book


@pytest.fixture(scope="module")
def small_pair(tmp_path_factory, full_run):
    folder = tmp_path_factory.mktemp("lobster_small")
    msg, book = folder / "SML_message_10.csv", folder / "SML_orderbook_10.csv"
    events = lob.synth.generate(20_000 if full_run else 2_000, seed=7, target_orders=2_000)
    lob.io.write_lobster(events, msg, book, levels=10)
    return msg, book


def loadtxt(path):
    # the first thing a NumPy user writes; the time column stays a float
    return np.loadtxt(path, delimiter=",")


@pytest.mark.parametrize("impl", ["lobcore", "numpy.loadtxt"])
@pytest.mark.benchmark(group="read LOBSTER messages")
def test_read_lobster(benchmark, impl, message_file):
    rows = rows_of(message_file)
    benchmark.extra_info.update(impl=impl, calls=rows)
    fn = lob.io.read_lobster if impl == "lobcore" else loadtxt
    out = benchmark.pedantic(fn, args=(message_file,), rounds=5 if benchmark.enabled else 1, iterations=1)
    assert len(out) == rows


def floor(message_csv, orderbook_csv=None):
    """Read the file(s) and apply the messages once: no seed, no resync."""
    events = lob.io.read_lobster_messages(message_csv).events
    if orderbook_csv is not None:
        lob.io.read_lobster_book(orderbook_csv)
    lob.OrderBook().apply(events, record=False, on_error="skip")
    return events


def stream(message_csv, orderbook_csv=None):
    return lob.io.read_lobster_stream(message_csv, orderbook_csv)


def pairs(big_pair):
    out = {"400k-row level-10 pair (generated)": big_pair}
    if GOOG[0].exists():
        out["GOOG day, level 1"] = GOOG
    return out


@pytest.mark.parametrize("pair", ["400k-row level-10 pair (generated)", "GOOG day, level 1"])
@pytest.mark.parametrize("impl", ["lobcore", "floor"])
def test_pair_stream(benchmark, impl, pair, big_pair):
    chosen = pairs(big_pair).get(pair)
    if chosen is None:
        pytest.skip("../shared/data/lobster is not present")
    benchmark.group = f"LOBSTER pair -> stream: {pair}"
    rows = rows_of(chosen[0])
    benchmark.extra_info.update(impl=impl, calls=rows)
    out = benchmark.pedantic(stream if impl == "lobcore" else floor, args=chosen,
                             rounds=3 if benchmark.enabled else 1, iterations=1)
    if impl == "lobcore":
        assert len(out.message_event) == rows and len(out.forced) == 0 and len(out.unreproduced) == 0


@pytest.mark.parametrize("impl", ["lobcore", "python"])
@pytest.mark.benchmark(group="LOBSTER check, 20k-row level-10 pair")
def test_check(benchmark, impl, small_pair):
    rows = rows_of(small_pair[0])
    benchmark.extra_info.update(impl=impl, calls=rows)
    fn = lob.io.check_lobster if impl == "lobcore" else check_per_event
    result = benchmark.pedantic(fn, args=small_pair, rounds=3 if benchmark.enabled else 1, iterations=1)
    assert result.matched == result.total == rows


@pytest.mark.parametrize("impl", ["lobcore", "floor"])
@pytest.mark.benchmark(group="LOBSTER messages alone -> repaired stream: GOOG day")
def test_messages_alone(benchmark, impl):
    if not GOOG[0].exists():
        pytest.skip("../shared/data/lobster is not present")
    benchmark.extra_info.update(impl=impl, calls=rows_of(GOOG[0]))
    benchmark.pedantic(stream if impl == "lobcore" else floor, args=(GOOG[0],),
                       rounds=3 if benchmark.enabled else 1, iterations=1)


# ---------------------------------------------------------------------------
# The check it replaced (lob/io/lobster.py before the stream), the baseline:
# one apply() call per message, resync levels through the Python API.

class _Result:
    def __init__(self, total):
        self.total, self.matched = total, 0


def _set_level(book, side, price, target):
    total = book.level_qty(side, price)
    if total == target:
        return False
    known = [(oid, book.order(oid)[2]) for oid in book.orders_at(side, price)]
    known_qty = sum(qty for _, qty in known)
    anonymous = total - known_qty
    for oid, qty in known:
        if known_qty <= target:
            break
        book.cancel(oid)
        known_qty -= qty
    wanted = target - known_qty
    if wanted > anonymous:
        book.seed(side, price, wanted - anonymous)
    elif wanted < anonymous:
        book.cancel_anonymous(side, price, anonymous - wanted)
    return True


def _resync_side(book, side, file_prices, file_qtys, previous_window):
    changed = 0
    for price, qty in zip(file_prices.tolist(), file_qtys.tolist()):
        if price != 0 and price not in previous_window:
            changed += _set_level(book, side, price, qty)
    listed = file_prices[file_prices != 0]
    if len(listed) == 0:
        return changed
    worst = int(listed.min() if side == 0 else listed.max())
    present = set(listed.tolist())
    d = book.depth(len(file_prices))
    for price in (d.bid_price if side == 0 else d.ask_price).tolist():
        inside = price > worst if side == 0 else price < worst
        if inside and price not in present and price not in previous_window:
            changed += _set_level(book, side, price, 0)
    return changed


def check_per_event(message_csv, orderbook_csv):
    events, halts, rows = lob.io.read_lobster_messages(message_csv)
    snap = lob.io.read_lobster_book(orderbook_csv)
    n_rows, levels = snap.bid_price.shape
    result = _Result(n_rows)
    book = lob.OrderBook.from_depth(snap.bid_price[0], snap.bid_qty[0], snap.ask_price[0], snap.ask_qty[0])
    event_at_row = np.full(n_rows, -1, dtype=np.int64)
    event_at_row[rows] = np.arange(len(events))
    window = (set(snap.bid_price[0].tolist()), set(snap.ask_price[0].tolist()))
    result.matched = 1
    for r in range(1, n_rows):
        j = event_at_row[r]
        if j >= 0:
            book.apply(events[j: j + 1], record=False, on_error="skip")
        file_rows = ((snap.bid_price[r], snap.bid_qty[r]), (snap.ask_price[r], snap.ask_qty[r]))
        for side, (p, q) in enumerate(file_rows):
            _resync_side(book, side, p, q, window[side])
        d = book.depth(levels)
        good = True
        for side, (prices, qtys) in enumerate(((d.bid_price, d.bid_qty), (d.ask_price, d.ask_qty))):
            p = np.zeros(levels, dtype=np.int64)
            q = np.zeros(levels, dtype=np.int64)
            p[: len(prices)] = prices[:levels]
            q[: len(qtys)] = qtys[:levels]
            good &= np.array_equal(p, file_rows[side][0]) and np.array_equal(q, file_rows[side][1])
        result.matched += good
        window = (set(snap.bid_price[r].tolist()), set(snap.ask_price[r].tolist()))
    return result
