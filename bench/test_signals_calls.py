"""Reading each signal per call (issue 11: within 1.3x of the empty-method
floor), and the batch rows with signals against the plain rows (at most 1.6x).

Per call: a Python loop reads one signal N times from a book that has replayed
a stream with trades and runs; the floor reads the same name from
lob._floor.EmptyBook (the loop and the attribute or call, nothing else).
Batch: apply(events) with the plain feature rows ("floor" here) against
apply(events, signals=True) on a book with ofi_levels=5 (the book's defaults
otherwise: session VWAP, no decay); each into a fresh array, and each into one
reused out= buffer.
"""
import numpy as np
import pytest

import lob
from lob._floor import EmptyBook

READS = {   # name -> how the loop reads it
    "ofi": lambda b: b.ofi,
    "ofi_levels()": lambda b: b.ofi_levels(),
    "trade_imbalance": lambda b: b.trade_imbalance,
    "volume_delta_ewm": lambda b: b.volume_delta_ewm,
    "rolling_vwap": lambda b: b.rolling_vwap,
    "vwap_deviation_bps": lambda b: b.vwap_deviation_bps,
    "run_levels": lambda b: b.run_levels,
    "absorbed_bid": lambda b: b.absorbed_bid,
    "absorption(0)": lambda b: b.absorption(0),
    "ts": lambda b: b.ts,
}
N = 20_000


@pytest.fixture(scope="module")
def events(full_run):
    ev = lob.synth.generate(300_000 if full_run else 3_000, seed=3, p_trade=0.04)
    ev["ts"] -= ev["ts"] % 2_000_000          # trades share ts: runs and sweeps
    return ev


@pytest.fixture(scope="module")
def replayed(events):
    book = lob.OrderBook(ofi_levels=5, vwap_window_ns=60 * 10**9, halflife_ns=10 * 10**9)
    book.apply(events[:50_000], record=False)
    return book


def loop_of(name):
    # a loop per name (attribute reads cannot be passed as a function without a call)
    code = {"ofi_levels()": "b.ofi_levels()", "absorption(0)": "b.absorption(0)"}.get(name, f"b.{name}")
    namespace = {}
    exec(f"def loop(b, n):\n    for _ in range(n):\n        {code}\n", namespace)
    return namespace["loop"]


@pytest.mark.parametrize("impl", ["lobcore", "floor"])
@pytest.mark.parametrize("name", READS)
def test_signal_read(benchmark, name, impl, replayed, full_run):
    benchmark.group = f"signal read: {name}"
    target = replayed if impl == "lobcore" else EmptyBook()
    n = N if full_run else 10
    loop = loop_of(name)
    benchmark.extra_info.update(impl=impl, calls=n)
    benchmark.pedantic(loop, args=(target, n), rounds=30 if benchmark.enabled else 1, iterations=1)


def apply_plain(events):
    lob.OrderBook().apply(events)


def apply_signals(events):
    lob.OrderBook(ofi_levels=5).apply(events, signals=True)


@pytest.mark.parametrize("impl,fn", [("floor", apply_plain), ("lobcore", apply_signals)])
@pytest.mark.benchmark(group="apply: signals=True, ofi_levels=5 vs plain rows (ns per event)")
def test_apply_signals(benchmark, impl, fn, events):
    benchmark.extra_info.update(impl=impl, calls=len(events))
    benchmark.pedantic(fn, args=(events,), rounds=7 if benchmark.enabled else 1, iterations=1)


@pytest.mark.parametrize("impl", ["floor", "lobcore"])
@pytest.mark.benchmark(group="apply into a reused out=: signals=True, ofi_levels=5 vs plain rows (ns per event)")
def test_apply_signals_reused_buffer(benchmark, impl, events):
    """The same with each call writing into one buffer (out=, as a chunked
    replay does): the rows' computation alone.  A fresh signal array is 172
    bytes a row against 64, and above glibc's mmap threshold every call
    faults its pages in again, which the group above includes."""
    signals = impl == "lobcore"
    out = np.empty(len(events), lob.feature_dtype(0, signals=signals, ofi_levels=5 if signals else 1))

    def run():
        book = lob.OrderBook(ofi_levels=5) if signals else lob.OrderBook()
        book.apply(events, signals=signals, out=out)
    benchmark.extra_info.update(impl=impl, calls=len(events))
    benchmark.pedantic(run, rounds=7 if benchmark.enabled else 1, iterations=1)
