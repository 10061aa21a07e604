"""OrderBook.apply (the batch path) on a 2M-event lob.synth stream, in ns per
event: without feature rows, with them (top of book, microprice, imbalance,
volume delta), and with 10 levels a side of depth in each row.

Baselines in the same run: the floor (copying the event array: the bytes the
loop must read, nothing else) and the C++ reference book of bench/cpp
(apply + the same feature rows, timed inside its own process, reported
through extra_info when g++ is there).  The full comparison with the peers is
bench/compare.py (python -m lob bench).
"""
import shutil

import numpy as np
import pytest

import lob


@pytest.fixture(scope="module")
def events(full_run):
    return lob.synth.generate(2_000_000 if full_run else 2_000, seed=1)


def apply_none(events, out):
    lob.OrderBook().apply(events, record=False)


def apply_features(events, out):
    lob.OrderBook().apply(events, out=out[0])


def apply_depth10(events, out):
    lob.OrderBook().apply(events, depth=10, out=out[10])


def floor(events, out):
    np.copyto(out["copy"].view(np.uint8), events.view(np.uint8))   # as bytes: a structured copy goes field by field


IMPLS = {"lobcore": apply_none, "lobcore+features": apply_features, "lobcore+depth(10)": apply_depth10,
         "floor": floor}


@pytest.fixture(scope="module")
def buffers(events):
    # made and touched once, so page faults of fresh arrays are not timed
    out = {0: np.zeros(len(events), lob.feature_dtype(0)), 10: np.zeros(len(events), lob.feature_dtype(10)),
           "copy": np.zeros_like(events)}
    for array in out.values():
        array.view(np.uint8)[:] = 1          # np.zeros maps pages lazily: fault them in now
    return out


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="apply (ns per event)")
def test_apply(benchmark, impl, events, buffers):
    benchmark.extra_info.update(impl=impl, calls=len(events))
    benchmark.pedantic(IMPLS[impl], args=(events, buffers), rounds=7 if benchmark.enabled else 1, iterations=1)


@pytest.mark.skipif(shutil.which("g++") is None, reason="the C++ reference needs g++")
@pytest.mark.benchmark(group="apply (ns per event)")
def test_apply_cpp_reference(benchmark, events, tmp_path):
    import cppref
    path = cppref.write_events(events, tmp_path / "events.raw")
    runs = []
    benchmark.extra_info.update(impl="C++ reference (features)", calls=len(events))

    def run():
        runs.append(cppref.run(path, "features", 1)["ns_per_event"][0])
    benchmark.pedantic(run, rounds=7 if benchmark.enabled else 1, iterations=1)
    benchmark.extra_info["ns_per_event_inside"] = float(np.median(runs))
    benchmark.extra_info["ns_per_event_inside_min"] = float(np.min(runs))
