"""A million orders of add/cancel churn at scattered prices."""
import ctypes
import gc

import numpy as np
import pytest

import lob


def malloc_in_use():
    """Bytes the C allocator has handed out and not had back (glibc), or None."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        info = libc.mallinfo2
    except (OSError, AttributeError):
        return None

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    info.restype = MallInfo2
    m = info()
    return m.uordblks + m.hblkhd


def churn(book, n_orders, seed):
    rng = np.random.default_rng(seed)
    # mostly near a mid of 1,000,000, a few far from the touch (either way, any int64)
    offsets = rng.geometric(0.05, n_orders)
    far = rng.random(n_orders) < 0.002
    offsets[far] = rng.integers(10**6, 10**15, far.sum())
    sides = rng.integers(0, 2, n_orders)
    prices = np.where(sides == 0, 1_000_000 - offsets, 1_000_000 + offsets)
    qtys = rng.integers(1, 1000, n_orders)
    add, cancel = book.add, book.cancel
    live = []
    for oid, side, price, qty in zip(range(n_orders), sides.tolist(), prices.tolist(), qtys.tolist()):
        add(oid, side, price, qty)
        live.append(oid)
        if len(live) > 50_000:   # keep ~50k resting; cancel a random one
            j = (oid * 7919) % len(live)
            live[j], live[-1] = live[-1], live[j]
            cancel(live.pop())
    return live


def test_million_order_churn():
    book = lob.OrderBook()
    live = churn(book, 1_000_000, seed=7)
    book.check()
    assert len(book) == len(live)
    assert book.best_bid < 1_000_000 < book.best_ask
    # far-away levels cost one ladder entry each, not a price-indexed array
    assert book.level_count(0) + book.level_count(1) < 10_000
    for oid in live:
        book.cancel(oid)
    assert len(book) == 0 and book.level_count(0) == 0 and book.level_count(1) == 0
    book.check()


@pytest.mark.skipif(malloc_in_use() is None, reason="needs glibc's mallinfo2")
def test_memory_is_returned():
    gc.collect()
    before = malloc_in_use()
    book = lob.OrderBook()
    for oid in range(400_000):
        book.add(oid, oid & 1, 1_000_000 + (1 + oid % 300) * (1 if oid & 1 else -1), 10)
    held = book.memory_bytes()
    assert malloc_in_use() - before >= held * 0.9   # the allocator sees the book (page rounding aside)
    del book
    gc.collect()
    # every pool, the id map and the ladders go back to the allocator
    assert malloc_in_use() - before < held // 100
