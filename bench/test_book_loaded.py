"""Per-event cost of a realistic stream on an empty book versus a loaded one.

The loaded book holds 1,000,000 extra orders over 10,000 levels (100 each,
5,000 levels a side) outside the stream's price range, so the stream's own
events are identical in both runs; the ratio shows what a big book costs each
event (target: within 20%).
"""
import pytest

import lob
from lob.cli import replay_calls

MID = 1_000_000          # lob.synth's default start price
GAP = 30_000             # ticks between the mid and the first loaded level


def load(book, levels_per_side, orders_per_level):
    add = book.add
    oid = 10**12
    for k in range(levels_per_side):
        for _ in range(orders_per_level):
            add(oid, 0, MID - GAP - k, 100)
            add(oid + 1, 1, MID + GAP + k, 100)
            oid += 2
    return book


@pytest.fixture(scope="module")
def stream(full_run):
    return lob.synth.generate(300_000 if full_run else 2_000, seed=11)


def apply_batch(book, events):
    book.apply(events, record=False)


PATHS = {"calls": lambda book, events: replay_calls(book, events, sample_signals=False), "apply": apply_batch}


@pytest.mark.parametrize("impl", ["lobcore-empty", "lobcore-loaded"])
@pytest.mark.parametrize("path", PATHS)
def test_replay_per_event(benchmark, impl, path, stream, full_run):
    benchmark.group = f"{path}-loaded-vs-empty"
    levels, per_level = (5_000, 100) if full_run else (50, 2)

    def setup():
        book = lob.OrderBook()
        if impl == "lobcore-loaded":
            load(book, levels, per_level)
        # steady state: no pool copy or id-map rehash inside the timed replay
        book.reserve(len(book) + int((stream["kind"] == lob.ADD).sum()))
        return (book, stream), {}

    benchmark.extra_info.update(impl=impl, calls=len(stream))
    benchmark.pedantic(PATHS[path], setup=setup, rounds=7 if benchmark.enabled else 1, iterations=1)
