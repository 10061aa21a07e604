"""MatchingEngine throughput on a realistic mixed flow (lob.synth.orders:
about a third of the limits crossing, several fills each, market, IOC, FOK,
post-only, cancels, modifies).

Per call from Python: lobcore's submit/market/cancel/modify against the
floor (lob._floor.EmptyEngine, the same calls doing nothing) and a
plain-Python matcher (bench/pymatcher.py), in the same run.  Bulk:
submit_many, reported in ns per request (targets: per-call within 3x of the
floor; submit_many at least 10 million requests/s = 100 ns).
"""
import pytest

import lob
from lob._floor import EmptyEngine
from pymatcher import PyMatcher

TIFS = ("GTC", "IOC", "FOK")
IMPLS = {"lobcore": lob.MatchingEngine, "floor": EmptyEngine, "python": PyMatcher}


@pytest.fixture(scope="module")
def requests(full_run):
    return lob.synth.orders(100_000 if full_run else 1_000, seed=9)


def per_call(engine, rows):
    submit, market, cancel, modify = engine.submit, engine.market, engine.cancel, engine.modify
    for kind, side, tif, flags, oid, price, qty in rows:
        if kind == 1:
            submit(oid, side, price, qty, TIFS[tif], flags == 1)
        elif kind == 2:
            market(oid, side, qty)
        elif kind == 3:
            cancel(oid)
        else:
            modify(oid, price, qty)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="engine per call (ns per request)")
def test_engine_per_call(benchmark, impl, requests):
    rows = list(zip(*(requests[f].tolist() for f in ("kind", "side", "tif", "flags", "order_id", "price", "qty"))))
    benchmark.extra_info.update(impl=impl, calls=len(rows))
    benchmark.pedantic(per_call, setup=lambda: ((IMPLS[impl](), rows), {}),
                       rounds=7 if benchmark.enabled else 1, iterations=1)


@pytest.mark.benchmark(group="engine submit_many (ns per request)")
def test_engine_submit_many(benchmark, requests):
    benchmark.extra_info.update(impl="lobcore", calls=len(requests))
    benchmark.pedantic(lambda eng: eng.submit_many(requests), setup=lambda: ((lob.MatchingEngine(),), {}),
                       rounds=15 if benchmark.enabled else 1, iterations=1)


@pytest.fixture(scope="module")
def requests_icebergs_owners(full_run):
    return lob.synth.orders(100_000 if full_run else 1_000, seed=9, p_iceberg=0.3, n_owners=4)


@pytest.mark.benchmark(group="engine submit_many, 30% icebergs, 4 owners with STP (ns per request)")
def test_engine_submit_many_icebergs_owners(benchmark, requests_icebergs_owners):
    benchmark.extra_info.update(impl="lobcore", calls=len(requests_icebergs_owners))
    benchmark.pedantic(lambda eng: eng.submit_many(requests_icebergs_owners), setup=lambda: ((lob.MatchingEngine(),), {}),
                       rounds=15 if benchmark.enabled else 1, iterations=1)
