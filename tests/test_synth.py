"""lob.synth: deterministic, valid, realistic."""
import numpy as np
import pytest

import lob
from lob.cli import replay_calls


def test_deterministic_and_seeded():
    a = lob.synth.generate(5000, seed=3)
    b = lob.synth.generate(5000, seed=3)
    c = lob.synth.generate(5000, seed=4)
    assert a.dtype == lob.EVENT_DTYPE and len(a) == 5000
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_prefix_stable():
    # a shorter stream is a prefix of a longer one with the same seed
    a = lob.synth.generate(1000, seed=9)
    b = lob.synth.generate(3000, seed=9)
    assert a.tobytes() == b[:1000].tobytes()


def test_mix_and_shape():
    ev = lob.synth.generate(200_000, seed=1, target_orders=2_000)
    share = np.bincount(ev["kind"], minlength=8) / len(ev)
    assert share[lob.ADD] == pytest.approx(0.49, abs=0.02)
    assert share[lob.CANCEL] == pytest.approx(0.39, abs=0.02)
    assert share[lob.EXECUTE] == pytest.approx(0.12, abs=0.01)
    assert np.all(np.diff(ev["ts"]) > 0)
    assert np.all(ev["qty"] > 0)


def test_replays_cleanly_and_never_crosses():
    ev = lob.synth.generate(50_000, seed=2, target_orders=2000, p_reduce=0.1, p_modify=0.1, p_trade=0.05)
    kinds = set(np.unique(ev["kind"]).tolist())
    assert kinds == {lob.ADD, lob.REDUCE, lob.CANCEL, lob.EXECUTE, lob.TRADE, lob.MODIFY}
    book = lob.OrderBook()           # allow_cross=False: any crossing add would raise
    micro, imb, vdelta = replay_calls(book, ev)
    book.check()
    assert 1000 < len(book) < 3000
    assert np.isfinite(micro[-1]) and -1 <= imb[-1] <= 1
    # executions happen at the touch: the executed order was at the best price
    ex = ev[ev["kind"] == lob.EXECUTE]
    assert len(ex) > 0


def test_executions_hit_the_touch():
    ev = lob.synth.generate(5000, seed=5, target_orders=500)
    book = lob.OrderBook()
    for row in ev:
        kind, side, oid, price, qty = (int(row[f]) for f in ("kind", "side", "order_id", "price", "qty"))
        if kind == lob.EXECUTE:
            best = book.best_bid if side == lob.BID else book.best_ask
            assert price == best and book.queue_ahead(oid) == 0
            book.execute(oid, qty)
        elif kind == lob.ADD:
            book.add(oid, side, price, qty)
        elif kind == lob.CANCEL:
            book.cancel(oid)


def test_bad_parameters():
    with pytest.raises(ValueError, match="n_events"):
        lob.synth.generate(-1)
    with pytest.raises(ValueError, match="tick"):
        lob.synth.generate(10, tick=0)
    with pytest.raises(ValueError, match="p_execute"):
        lob.synth.generate(10, p_execute=1.5)
    assert len(lob.synth.generate(0)) == 0
