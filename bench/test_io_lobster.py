"""LOBSTER message file load time: lob.io.read_lobster against numpy.loadtxt.

A 400,000-row message file (the size of LOBSTER's free AAPL day) written by
lob.synth.write_lobster; target: well under a second.
"""
import numpy as np
import pytest

import lob
import lob.io


@pytest.fixture(scope="module")
def message_file(tmp_path_factory, full_run):
    path = tmp_path_factory.mktemp("lobster") / "message.csv"
    events = lob.synth.generate(400_000 if full_run else 2_000, seed=5)
    lob.synth.write_lobster(events, path, path.with_name("orderbook.csv"), levels=1)
    return path


def loadtxt(path):
    # the first thing a NumPy user writes; the time column stays a float
    return np.loadtxt(path, delimiter=",")


@pytest.mark.parametrize("impl", ["lobcore", "numpy.loadtxt"])
@pytest.mark.benchmark(group="read LOBSTER messages")
def test_read_lobster(benchmark, impl, message_file):
    rows = sum(1 for _ in open(message_file))
    benchmark.extra_info.update(impl=impl, calls=rows)
    fn = lob.io.read_lobster if impl == "lobcore" else loadtxt
    out = benchmark.pedantic(fn, args=(message_file,), rounds=5 if benchmark.enabled else 1, iterations=1)
    assert len(out) == rows
