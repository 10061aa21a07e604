"""Databento MBO reading: lob.io.read_dbn (records as arrays, one compiled
pass to events) against the object path it replaced (databento-dbn's
decoder, one Python object per record; impl "python"), per record.

Streams: the shared CME sample (13,796 records, zstd) and a generated file
of about 2M records (lob.synth events written by lob.io.write_dbn, fills as
T + F + C/M), plain and zstd, each read from its file.  Also the event conversion alone
(lob._dbn.mbo_to_events on the record array) against the same mapping in
NumPy without executions (impl "numpy"), and zstd decompression alone.
Run:  python -m pytest bench/test_io_dbn.py --benchmark-enable
"""
import pathlib
import sys

import numpy as np
import pytest

import lob
import lob.io
import lob.synth
from lob._dbn import mbo_to_events
from lob.io.dbn import _decompress, _header, _records, write_dbn

databento_dbn = pytest.importorskip("databento_dbn")
zstandard = pytest.importorskip("zstandard")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from test_dbn import object_path_read  # noqa: E402  (the old reader, kept as the tests' oracle)

SAMPLE = (pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "dbn"
          / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst")


@pytest.fixture(scope="module")
def large(full_run, tmp_path_factory):
    """(plain file, zstd file, record count) of a generated MBO stream."""
    events = lob.synth.generate(1_620_000 if full_run else 2_000, seed=11, p_reduce=0.1, p_modify=0.1,
                                p_trade=0.02, start_ts=1_715_126_400_000_000_000)
    folder = tmp_path_factory.mktemp("dbn")
    plain, packed = folder / "large.dbn", folder / "large.dbn.zst"
    n = write_dbn(events, plain, compression="none")
    write_dbn(events, packed, compression="zstd")
    return plain, packed, n


def run(benchmark, fn, arg, records, impl, slow=False):
    benchmark.extra_info.update(impl=impl, calls=records)
    rounds = (2 if slow else 7) if benchmark.enabled else 1
    return benchmark.pedantic(fn, args=(arg,), rounds=rounds, iterations=1, warmup_rounds=0 if slow else 1)


def read_new(data):
    return lob.io.read_dbn(data, executions=False)


def read_old(path):
    return object_path_read(pathlib.Path(path).read_bytes())[0]


def decompress_only(path):
    return _decompress(pathlib.Path(path).read_bytes(), "x")


@pytest.mark.skipif(not SAMPLE.exists(), reason="../shared/data/dbn is not present")
@pytest.mark.parametrize("impl", ["lobcore", "python"])
@pytest.mark.benchmark(group="read DBN: CME sample, zstd file (per record)")
def test_read_cme_sample(benchmark, impl):
    out = run(benchmark, read_new if impl == "lobcore" else read_old, SAMPLE, 13_796, impl)
    assert out.tobytes() == read_old(SAMPLE).tobytes()


@pytest.mark.parametrize("impl", ["lobcore", "lobcore-executions", "python"])
@pytest.mark.benchmark(group="read DBN: 2M records, plain file (per record)")
def test_read_large_plain(benchmark, impl, large):
    plain, _, n = large
    fn = {"lobcore": read_new, "lobcore-executions": lob.io.read_dbn, "python": read_old}[impl]
    out = run(benchmark, fn, plain, n, impl, slow=impl == "python")
    if impl != "lobcore-executions":
        assert len(out) == len(read_new(plain))


@pytest.mark.parametrize("impl", ["lobcore", "zstandard", "python"])
@pytest.mark.benchmark(group="read DBN: 2M records, zstd file (per record)")
def test_read_large_zstd(benchmark, impl, large):
    _, packed, n = large
    fn = {"lobcore": read_new, "zstandard": decompress_only, "python": read_old}[impl]
    run(benchmark, fn, packed, n, impl, slow=impl == "python")


def numpy_events(records):
    """The mapping without executions, vectorised in NumPy (a baseline for
    the compiled pass): R CLEAR, A ADD, C REDUCE, M MODIFY, T TRADE."""
    lut = np.zeros(256, dtype=np.uint8)
    for action, kind in ((b"R", lob.CLEAR), (b"A", lob.ADD), (b"C", lob.REDUCE), (b"M", lob.MODIFY),
                         (b"T", lob.TRADE)):
        lut[action[0]] = kind
    side_lut = np.zeros(256, dtype=np.int8)
    side_lut[ord("A")] = lob.ASK
    kind = lut[records["action"].view(np.uint8)]
    keep = kind != 0
    kept = records[keep]
    kind = kind[keep]
    out = np.empty(len(kept), dtype=lob.EVENT_DTYPE)
    out["ts"] = kept["ts_recv"]
    out["kind"] = kind
    side = side_lut[kept["side"].view(np.uint8)]
    trade = kind == lob.TRADE
    side[trade & (kept["side"] == b"N")] = lob.NO_AGGRESSOR
    out["side"] = side
    out["order_id"] = np.where(trade, 0, kept["order_id"])
    clear = kind == lob.CLEAR
    out["price"] = np.where(clear, 0, kept["price"])
    out["qty"] = np.where(clear, 0, kept["size"])
    out["order_id"][clear] = 0
    out["side"][clear] = 0
    return out


@pytest.mark.parametrize("impl", ["lobcore", "lobcore-executions", "numpy"])
@pytest.mark.benchmark(group="DBN records to events, in memory (per record)")
def test_convert(benchmark, impl, large):
    path, _, n = large
    plain = path.read_bytes()
    _, _, ts_out, start = _header(plain, "x", False)
    records, _ = _records(plain, start, ts_out, "x", False)
    fn = {"lobcore": lambda r: mbo_to_events(r, -1, False)[2],
          "lobcore-executions": lambda r: mbo_to_events(r, -1, True)[2], "numpy": numpy_events}[impl]
    out = run(benchmark, fn, records, n, impl)
    if impl == "numpy":
        assert out.tobytes() == mbo_to_events(records, -1, False)[2].tobytes()
