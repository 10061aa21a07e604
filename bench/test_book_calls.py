"""Per-call cost of OrderBook methods from a Python loop over a lob.synth stream.

Each benchmark group times the same loop three ways in one run: lobcore, the
floor (lob._floor.EmptyBook: the loop and the call, nothing else) and a
plain-Python book (bench/pybook.py).  The summary table prints ns/call and the
ratios; see bench/conftest.py.
"""
import numpy as np
import pytest

import lob
from lob._floor import EmptyBook
from pybook import PyBook

IMPLS = {
    "lobcore": lambda: lob.OrderBook(allow_cross=True),
    "floor": EmptyBook,
    "python": PyBook,
}


BOOK_ORDERS = 20_000   # about the resting size of a liquid stock's book (lob.synth's steady state)


@pytest.fixture(scope="module")
def adds(full_run):
    """(order_id, side, price, qty) of the first adds of a realistic stream:
    a book of BOOK_ORDERS orders clustered near the touch."""
    events = lob.synth.generate(100_000, seed=42)
    a = events[events["kind"] == lob.ADD][: BOOK_ORDERS if full_run else 500]
    return list(zip(a["order_id"].tolist(), a["side"].tolist(), a["price"].tolist(), a["qty"].tolist()))


def loaded(make, rows):
    book = make()
    for oid, side, price, qty in rows:
        book.add(oid, side, price, qty)
    return book


def run(benchmark, impl, calls, fn, setup):
    benchmark.extra_info.update(impl=impl, calls=calls)
    rounds = 40 if benchmark.enabled else 1
    benchmark.pedantic(fn, setup=setup, rounds=rounds, iterations=1, warmup_rounds=1 if benchmark.enabled else 0)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="add")
def test_add(benchmark, impl, adds):
    def loop(book):
        add = book.add
        for oid, side, price, qty in adds:
            add(oid, side, price, qty)
    run(benchmark, impl, len(adds), loop, lambda: ((IMPLS[impl](),), {}))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="cancel")
def test_cancel(benchmark, impl, adds):
    order = np.random.default_rng(1).permutation(len(adds))
    ids = [adds[i][0] for i in order.tolist()]

    def loop(book):
        cancel = book.cancel
        for oid in ids:
            cancel(oid)
    run(benchmark, impl, len(ids), loop, lambda: ((loaded(IMPLS[impl], adds),), {}))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="execute")
def test_execute(benchmark, impl, adds):
    # each order trades in two parts: a partial fill, then the rest
    fills = [(oid, qty // 2) for oid, _, _, qty in adds if qty > 1]
    fills += [(oid, qty - qty // 2) for oid, _, _, qty in adds if qty > 1]

    def loop(book):
        execute = book.execute
        for oid, qty in fills:
            execute(oid, qty)
    run(benchmark, impl, len(fills), loop, lambda: ((loaded(IMPLS[impl], adds),), {}))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="modify")
def test_modify(benchmark, impl, adds):
    # each order twice: smaller at its price (keeps its place), then one tick further from the touch
    edits = [(oid, price, max(1, qty // 2)) for oid, _, price, qty in adds]
    edits += [(oid, price - 1 if side == lob.BID else price + 1, qty) for oid, side, price, qty in adds]

    def loop(book):
        modify = book.modify
        for oid, price, qty in edits:
            modify(oid, price, qty)
    run(benchmark, impl, len(edits), loop, lambda: ((loaded(IMPLS[impl], adds),), {}))


def read_microprice(book, calls):
    read = book.microprice
    for _ in range(calls):
        read()


def read_imbalance5(book, calls):
    read = book.imbalance
    for _ in range(calls):
        read(5)


def read_depth10(book, calls):
    read = book.depth
    for _ in range(calls):
        read(10)


SIGNALS = {"microprice()": read_microprice, "imbalance(5)": read_imbalance5, "depth(10)": read_depth10}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("signal", SIGNALS)
def test_signal(benchmark, impl, signal, adds):
    benchmark.group = signal
    book = loaded(IMPLS[impl], adds[:20_000])
    calls = 100_000 if benchmark.enabled else 100
    benchmark.extra_info.update(impl=impl, calls=calls)
    benchmark.pedantic(SIGNALS[signal], args=(book, calls), rounds=15 if benchmark.enabled else 1, iterations=1)
