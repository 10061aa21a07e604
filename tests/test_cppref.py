"""The C++ reference book (bench/cpp/refbook.cpp) writes the same feature rows
as OrderBook.apply: ints bit for bit, floats equal or both NaN."""
import pathlib
import shutil
import sys

import pytest

import lob

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not found")

BENCH = pathlib.Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def cppref():
    sys.path.insert(0, str(BENCH))
    try:
        import cppref
    finally:
        sys.path.remove(str(BENCH))
    cppref.build()
    return cppref


@pytest.mark.parametrize("params", [
    {},                                                         # add / cancel / execute
    {"p_reduce": 0.2, "p_modify": 0.2, "p_trade": 0.1},         # every kind the ref knows
], ids=["synth", "all-kinds"])
def test_features_equal_lobcore(cppref, tmp_path, params):
    events = lob.synth.generate(20_000, seed=3, **params)
    path = cppref.write_events(events, tmp_path / "events.bin")
    ref = cppref.features(path)
    ours = lob.OrderBook().apply(events)
    assert ref.dtype == ours.dtype and len(ref) == len(events)
    assert cppref.compare_features(ref, ours) is None
    # the comparison itself notices a difference
    bad = ref.copy()
    bad["imbalance"][len(bad) // 2] += 1.0
    assert "imbalance" in cppref.compare_features(bad, ours)


def test_run_reports_the_final_book(cppref, tmp_path):
    events = lob.synth.generate(20_000, seed=3)
    path = cppref.write_events(events, tmp_path / "events.bin")
    book = lob.OrderBook()
    book.apply(events, record=False)
    for mode in ("apply", "features"):
        res = cppref.run(path, mode, 2)
        assert res["mode"] == mode and res["events"] == len(events)
        assert len(res["ns_per_event"]) == 2 and all(v > 0 for v in res["ns_per_event"])
        assert res["resting"] == len(book)
        assert (res["bid_levels"], res["ask_levels"]) == (book.level_count(0), book.level_count(1))
