"""Databento MBO: the CME sample replays to the book an independent replay builds."""
import pathlib

import numpy as np
import pytest

import lob
import lob.io
from lob.io.dbn import F_LAST

databento_dbn = pytest.importorskip("databento_dbn")
pytest.importorskip("zstandard")

SAMPLE = (pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "dbn"
          / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst")
pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="../shared/data/dbn is not present")
LEVELS = 5


def independent_replay(path):
    """Plain Python over databento-dbn records: the top LEVELS levels of each
    side after every record flagged F_LAST, and the trade flow."""
    import zstandard

    decoder = databento_dbn.DBNDecoder()
    decoder.write(zstandard.ZstdDecompressor().stream_reader(open(path, "rb").read()).read())
    orders = {}                                  # order id -> [side, price, size]
    tops, buy, sell = [], 0, 0

    def top():
        levels = ({}, {})
        for side, price, size in orders.values():
            book = levels[0 if side == "B" else 1]
            book[price] = book.get(price, 0) + size
        bids = sorted(levels[0].items(), reverse=True)[:LEVELS]
        asks = sorted(levels[1].items())[:LEVELS]
        return bids, asks

    for r in decoder.decode():
        if not hasattr(r, "action"):
            continue
        action, side = str(r.action.value), str(r.side.value)
        if action == "R":
            orders.clear()
        elif action == "A":
            orders[r.order_id] = [side, r.price, r.size]
        elif action == "C":
            order = orders[r.order_id]
            order[2] -= r.size
            if order[2] == 0:
                del orders[r.order_id]
        elif action == "M":
            orders[r.order_id] = [orders[r.order_id][0], r.price, r.size]
        elif action == "T":
            if side == "B":
                buy += r.size
            elif side == "A":
                sell += r.size
        if r.flags & F_LAST:
            tops.append(top())
    return tops, buy, sell


def test_cme_sample_matches_independent_replay():
    events, flags = lob.io.read_dbn(SAMPLE, with_flags=True)
    book = lob.OrderBook(allow_cross=True)
    features = book.apply(events, depth=LEVELS)
    book.check()
    assert book.last_rejected == {}
    expected, buy, sell = independent_replay(SAMPLE)
    rows = features[(flags & F_LAST) > 0]
    assert len(rows) == len(expected) > 100
    for row, (bids, asks) in zip(rows, expected):
        got_bids = [(p, q) for p, q in zip(row["bid_price"].tolist(), row["bid_qty"].tolist()) if q]
        got_asks = [(p, q) for p, q in zip(row["ask_price"].tolist(), row["ask_qty"].tolist()) if q]
        assert got_bids == bids and got_asks == asks
    assert (book.buy_volume, book.sell_volume) == (buy, sell)   # fills are not counted twice
    assert book.trade_count == int((events["kind"] == lob.TRADE).sum()) == 5
    # prices stay DBN's fixed-point integers (ES ticks are 0.25 = 250,000,000)
    assert book.best_bid % 250_000_000 == 0 and book.spread == 250_000_000


def test_kinds():
    events = lob.io.read_dbn(SAMPLE)
    counts = np.bincount(events["kind"], minlength=8).tolist()
    assert counts[lob.CLEAR] == 1 and counts[lob.ADD] == 13678 and counts[lob.MODIFY] == 27
    assert counts[lob.REDUCE] == 80 and counts[lob.TRADE] == 5
    assert events[0]["kind"] == lob.CLEAR
