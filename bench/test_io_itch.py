"""ITCH 5.0 parse throughput (bytes/s) and parse + apply to per-stock books.

The file: three stocks of lob.synth flow written by lob.synth.write_itch
(about 2 million messages, 70 MB, in a timed run).  Baselines in the same
run: copying the bytes (the memory-bandwidth floor) and a plain-Python
struct parser.  Target (issue 4): 1 GB/s or more.
"""
import struct

import numpy as np
import pytest

import lob
import lob.io


@pytest.fixture(scope="module")
def itch_bytes(tmp_path_factory, full_run):
    n = 700_000 if full_run else 2_000
    streams = {name: lob.synth.generate(n, seed=seed, first_id=seed * 10**8)
               for seed, name in enumerate(("AAPL", "MSFT", "NVDA"), start=1)}
    path = tmp_path_factory.mktemp("itch") / "day.itch"
    lob.synth.write_itch(streams, path)
    return path.read_bytes()


def python_parse(blob):
    # what a careful pure-Python reader does: unpack each message's fields
    pos, n, count = 0, len(blob), 0
    unpack = struct.unpack_from
    while pos < n:
        (length,) = unpack(">H", blob, pos)
        kind = blob[pos + 2]
        if kind == 65:
            unpack(">HH6sQcI8sI", blob, pos + 3)
        elif kind in (69, 88):
            unpack(">HH6sQI", blob, pos + 3)
        elif kind == 68:
            unpack(">HH6sQ", blob, pos + 3)
        pos += 2 + length
        count += 1
    return count


def lobcore_parse(blob):
    return lob.io.ItchParser().feed(blob)


def copy_bytes(blob):
    return np.frombuffer(blob, dtype=np.uint8).copy()


def parse_and_apply(blob):
    # one book per stock locate; each event goes straight from the parser to its book
    books = [None] * 65536
    lob.io.ItchParser().feed_books(blob, books, lambda locate, symbol: lob.OrderBook())
    return books


IMPLS = {"lobcore": lobcore_parse, "memcpy (floor)": copy_bytes, "python": python_parse}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="ITCH parse (ns per MB)")
def test_itch_parse(benchmark, impl, itch_bytes):
    # "calls" in MB, so the summary's ns/call reads as ns per MB (1e6 ns/MB = 1 GB/s)
    benchmark.extra_info.update(impl={"memcpy (floor)": "floor"}.get(impl, impl), calls=len(itch_bytes) / 1e6)
    rounds = (2 if impl == "python" else 7) if benchmark.enabled else 1
    benchmark.pedantic(IMPLS[impl], args=(itch_bytes,), rounds=rounds, iterations=1)


@pytest.mark.benchmark(group="ITCH parse + apply (ns per message)")
def test_itch_parse_and_apply(benchmark, itch_bytes):
    messages = sum(lob.io.ItchParser().feed(itch_bytes)[1].shape)  # events ~ messages
    benchmark.extra_info.update(impl="lobcore", calls=messages)
    benchmark.pedantic(parse_and_apply, args=(itch_bytes,), rounds=5 if benchmark.enabled else 1, iterations=1)
