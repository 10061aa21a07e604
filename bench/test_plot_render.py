"""lob.plot.session: the whole chart (replay + binning in C, drawing, PNG)
against the replay alone (OrderBook.apply, no rows; impl "floor"), per
event, in the same run.  Streams: 2M lob.synth events, a 10M-event
synthetic day (09:30 to 16:00), the shared CME sample.

Run:  python -m pytest bench/test_plot_render.py --benchmark-enable
(the summary table's "x floor" column is the chart's cost in replays).
"""
import io
import pathlib

import pytest

import lob
import lob.io

pytest.importorskip("matplotlib")
import lob.plot  # noqa: E402

SAMPLE = (pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "dbn"
          / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst")
DAY_NS = 23_400 * 1_000_000_000          # 09:30 to 16:00


@pytest.fixture(scope="module")
def stream_2m(full_run):
    return lob.synth.generate(2_000_000 if full_run else 5_000, seed=1)


@pytest.fixture(scope="module")
def day_10m(full_run):
    n = 10_000_000 if full_run else 5_000
    return lob.synth.generate(n, seed=7, mean_gap_ns=DAY_NS / n)


def replay_only(events, allow_cross=False, scale=1):
    lob.OrderBook(allow_cross).apply(events, record=False, on_error="skip")


def bins_only(events, allow_cross=False, scale=1):
    lob.plot.bin_session(events, allow_cross=allow_cross, price_scale=scale)


def render(events, allow_cross=False, scale=1):
    out = io.BytesIO()
    lob.plot.session(events, allow_cross=allow_cross, price_scale=scale, out=out)
    assert out.getvalue()[:4] == b"\x89PNG"


IMPLS = {"floor": replay_only, "lobcore-bins": bins_only, "lobcore": render}


def run(benchmark, impl, events, **kwargs):
    benchmark.extra_info.update(impl=impl, calls=len(events))
    rounds = 3 if benchmark.enabled else 1
    benchmark.pedantic(IMPLS[impl], args=(events,), kwargs=kwargs, rounds=rounds, iterations=1, warmup_rounds=0)


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.benchmark(group="plot: 2M synthetic events (per event)")
def test_plot_2m(benchmark, impl, stream_2m):
    run(benchmark, impl, stream_2m)


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.benchmark(group="plot: 10M-event synthetic day (per event)")
def test_plot_day(benchmark, impl, day_10m):
    run(benchmark, impl, day_10m)


@pytest.mark.skipif(not SAMPLE.exists(), reason="../shared/data/dbn is not present")
@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.benchmark(group="plot: CME sample, 13,786 events (per event)")
def test_plot_cme(benchmark, impl):
    run(benchmark, impl, lob.io.read_dbn(SAMPLE), allow_cross=True, scale=1_000_000_000)
