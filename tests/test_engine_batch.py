"""MatchingEngine.submit_many equals the same requests one call at a time."""
import numpy as np
import pytest

import lob

TIFS = ("GTC", "IOC", "FOK")


def one_at_a_time(requests):
    eng = lob.MatchingEngine()
    fills, rows = [], []
    for r in requests.tolist():
        _, kind, side, tif, flags, oid, price, qty = r
        if kind == 1:
            rep = eng.submit(oid, side, price, qty, tif=TIFS[tif], post_only=bool(flags & 1))
        elif kind == 2:
            rep = eng.market(oid, side, qty)
        elif kind == 3:
            was = eng.cancel(oid)
            rows.append((lob.OUTCOMES.index("cancelled"), 0, 0, was, len(fills), 0))
            continue
        else:
            rep = eng.modify(oid, price, qty)
        cancelled = 0 if kind == 4 else qty - rep.filled - rep.remaining
        rows.append((lob.OUTCOMES.index(rep.status), rep.filled, rep.remaining, cancelled, len(fills), len(rep.fills)))
        fills += rep.fills.tolist()
    return eng, fills, rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_submit_many_equals_calls(seed):
    requests = lob.synth.orders(3000, seed=seed)
    eng = lob.MatchingEngine()
    fills, reports = eng.submit_many(requests)
    ref, ref_fills, ref_rows = one_at_a_time(requests)
    assert fills.tolist() == ref_fills
    assert reports.tolist() == ref_rows
    assert eng.book.snapshot().tobytes() == ref.book.snapshot().tobytes()
    assert eng.book._flow_state() == ref.book._flow_state()
    eng.book.check()
    statuses = np.bincount(reports["status"], minlength=5)
    assert statuses[0] > 0 and statuses[2] > 0 and (reports["n_fills"] > 1).sum() > 50


def test_flow_shape():
    requests = lob.synth.orders(5000, seed=7)
    _, reports = lob.MatchingEngine().submit_many(requests)
    limits = requests["kind"] == 1
    crossing = reports["n_fills"][limits] > 0
    assert 0.2 < crossing.mean() < 0.5                  # about a third of the limits trade
    assert reports["n_fills"][limits][crossing].mean() > 1.5


def test_submit_many_errors_stop_at_the_request():
    requests = lob.synth.orders(200, seed=1)
    bad = requests.copy()
    bad[120] = (0, 3, 0, 0, 0, 10**12, 0, 0)           # cancel of an unknown id
    eng = lob.MatchingEngine()
    with pytest.raises(lob.EventError) as info:
        eng.submit_many(bad)
    assert info.value.index == 120 and isinstance(info.value.__cause__, lob.UnknownOrderError)
    assert len(info.value.reports) == 120
    ref = lob.MatchingEngine()
    ref.submit_many(requests[:120])
    assert eng.book.snapshot().tobytes() == ref.book.snapshot().tobytes()
    bad_tif = requests[:5].copy()
    bad_tif[3]["kind"], bad_tif[3]["tif"] = 1, 7
    with pytest.raises(lob.EventError, match="tif"):
        lob.MatchingEngine().submit_many(bad_tif)
    with pytest.raises(TypeError, match="ORDER_DTYPE"):
        lob.MatchingEngine().submit_many(np.zeros(3))
    fills, reports = lob.MatchingEngine().submit_many(requests[:0])
    assert len(fills) == len(reports) == 0
