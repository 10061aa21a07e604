"""The NumPy baseline of the issue 11 signals (bench/signals_numpy.py): correct against the
plain-Python model, and timed against the C signals in the same run.

Benchmark group "signals (ns per event)", one stream for all:
  floor   apply(events, depth=5): the feature rows the NumPy code starts from;
  numpy   the same apply + numpy_signals over its rows and the events (a user's way);
  lobcore apply(events, depth=5, signals=True) on a book with ofi_levels=5: numpy /
          lobcore is the speedup.
"""
import math
import pathlib
import sys

import numpy as np
import pytest

import lob
from signals_numpy import numpy_signals

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from signals_model import SignalModel  # noqa: E402

LEVELS = 5
WINDOW_NS = 20_000_000
HALFLIFE_NS = 5_000_000


def stream(n, seed):
    """A synthetic stream whose ts are cut to 2 ms, so trades share ts and form runs."""
    ev = lob.synth.generate(n, seed=seed, target_orders=max(200, n // 10), p_trade=0.04, p_reduce=0.05,
                            p_modify=0.03)
    ev["ts"] -= ev["ts"] % 2_000_000
    return ev


@pytest.mark.parametrize("window,halflife", [(0, 0), (WINDOW_NS, HALFLIFE_NS), (1, 1)])
def test_numpy_baseline_equals_the_model(window, halflife):
    ev = stream(4000, seed=21)
    rows = lob.OrderBook().apply(ev, depth=LEVELS)
    got = numpy_signals(ev, rows, ofi_levels=LEVELS, vwap_window_ns=window, halflife_ns=halflife)
    model = SignalModel(ofi_levels=LEVELS, vwap_window_ns=window, halflife_ns=halflife)
    sweeps_seen = 0
    for i, e in enumerate(ev.tolist()):
        ts, kind, side, oid, price, qty = e
        assert model.apply_event(kind, side, oid, price, qty, ts)
        exp = model.row()
        assert got["clock"][i] == model.ts
        assert got["ofi_levels"][i].tolist() == model.ofi_levels() and got["ofi"][i] == model.ofi
        for name in ("run_levels", "run_qty", "absorbed_bid", "absorbed_ask"):
            assert got[name][i] == exp[name], (i, name)
        assert got["sweeps"][i] == model.sweeps
        for name in ("trade_imbalance", "rolling_vwap", "vwap_deviation_bps"):
            a, b = float(got[name][i]), exp[name]
            assert (math.isnan(a) and math.isnan(b)) or a == b, (i, name, a, b)
        a, b = float(got["volume_delta_ewm"][i]), exp["volume_delta_ewm"]
        if halflife == 0:
            assert a == b
        else:   # the decay recursion against the contract's sum of terms
            assert abs(a - b) <= 1e-9 * (model.volume_delta_ewm_scale + 1), (i, a, b)
        sweeps_seen = model.sweeps
    assert sweeps_seen > 0 and model.trade_count > 100


def test_numpy_baseline_from_a_seeded_book():
    snapshot = ([990_000, 989_000], [500, 300], [1_010_000, 1_010_005], [400, 200])   # the synth stream trades between
    ev = stream(1500, seed=5)
    book = lob.OrderBook.from_depth(*snapshot)
    rows = book.apply(ev, depth=LEVELS, on_error="skip")
    assert not book.last_rejected
    seed_row = np.zeros(1, lob.feature_dtype(LEVELS))[0]
    probe = lob.OrderBook.from_depth(*snapshot)
    d = probe.depth(LEVELS)
    for name, values in zip(("bid_price", "bid_qty", "ask_price", "ask_qty"), d):
        seed_row[name][: len(values)] = values
    seed_row["best_bid"], seed_row["best_bid_qty"] = probe.best_bid, probe.best_bid_qty
    seed_row["best_ask"], seed_row["best_ask_qty"] = probe.best_ask, probe.best_ask_qty
    got = numpy_signals(ev, rows, ofi_levels=LEVELS, initial=seed_row)
    model = SignalModel.from_depth(*snapshot, ofi_levels=LEVELS)
    for i, e in enumerate(ev.tolist()):
        ts, kind, side, oid, price, qty = e
        assert model.apply_event(kind, side, oid, price, qty, ts)
        assert got["ofi_levels"][i].tolist() == model.ofi_levels(), i
        assert (got["absorbed_bid"][i], got["absorbed_ask"][i]) == (model.absorbed_bid, model.absorbed_ask), i


# --------------------------------------------------------------------------- timed
@pytest.fixture(scope="module")
def bench_events(full_run):
    return stream(300_000 if full_run else 3_000, seed=1)


def run_floor(ev):
    lob.OrderBook().apply(ev, depth=LEVELS)


def run_numpy(ev):
    rows = lob.OrderBook().apply(ev, depth=LEVELS)
    numpy_signals(ev, rows, ofi_levels=LEVELS, vwap_window_ns=WINDOW_NS, halflife_ns=HALFLIFE_NS)


def run_c_signals(ev):
    book = lob.OrderBook(ofi_levels=LEVELS, vwap_window_ns=WINDOW_NS, halflife_ns=HALFLIFE_NS)
    book.apply(ev, depth=LEVELS, signals=True)


IMPLS = {"floor": run_floor, "numpy": run_numpy, "lobcore": run_c_signals}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="signals (ns per event)")
def test_signals_speed(benchmark, impl, bench_events):
    benchmark.extra_info.update(impl=impl, calls=len(bench_events))
    benchmark.pedantic(IMPLS[impl], args=(bench_events,), rounds=5 if benchmark.enabled else 1, iterations=1)
