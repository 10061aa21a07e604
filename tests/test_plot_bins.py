"""lob._heatmap.replay_bins (the numbers behind lob.plot) against a slow
NumPy binning of OrderBook.apply(depth=N) feature rows: the grid, the
columns' mid ranges and imbalance, the samples at the edges, the trades."""
import math
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import lob
import lob.plot
from lob._heatmap import COLUMN_DTYPE, SAMPLE_DTYPE, TRADE_DTYPE, band_mask, replay_bins

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


def running_clock(events, start=0):
    """The heat map's time of each event: the running maximum of ts from the
    book's clock, refused events included."""
    return np.maximum.accumulate(np.maximum(events["ts"], start))


def slow_bins(events, edges, price_lo, price_bin, rows, band, depth, **book_args):
    """The grid (mean qty per column and row), the columns' mid range and
    mean imbalance, from apply(depth) rows: the state after event i holds
    from its time to the next event's (the last: to the window's end)."""
    book = lob.OrderBook(**book_args)
    feats = book.apply(events, depth=depth, on_error="skip", signals=True)
    clock = running_clock(events)
    end = int(edges[-1])
    stop = int(np.searchsorted(clock, end, side="left"))        # clock is sorted
    columns = len(edges) - 1
    cells = np.zeros((columns, rows))
    low = np.full(columns, np.nan)
    high = np.full(columns, np.nan)
    imb_sum = np.zeros(columns)
    imb_time = np.zeros(columns)
    price_hi = price_lo + rows * price_bin
    for i in range(stop):
        row = feats[i]
        # the reference sees depth levels a side: every level in the grid must be among them
        assert row["bid_qty"][-1] == 0 or row["bid_price"][-1] < price_lo, "depth too small for the reference"
        assert row["ask_qty"][-1] == 0 or row["ask_price"][-1] >= price_hi, "depth too small for the reference"
        a, b = int(clock[i]), int(clock[i + 1]) if i + 1 < stop else end
        has_bid, has_ask = row["best_bid_qty"] > 0, row["best_ask_qty"] > 0
        ref = ((row["best_bid"] + row["best_ask"]) / 2 if has_bid and has_ask else
               row["best_bid"] if has_bid else row["best_ask"] if has_ask else None)
        levels = [(p, q) for side in ("bid", "ask")
                  for p, q in zip(row[f"{side}_price"].tolist(), row[f"{side}_qty"].tolist()) if q > 0]
        for c in range(max(0, int(np.searchsorted(edges, a, side="right")) - 1), columns):
            lo, hi = max(a, int(edges[c])), min(b, int(edges[c + 1]))
            if edges[c] >= b:
                break
            if hi <= lo:
                continue
            for price, qty in levels:
                r = (price - price_lo) // price_bin
                if 0 <= r < rows:
                    cells[c, r] += qty * (hi - lo)
            if ref is not None:
                low[c] = ref if math.isnan(low[c]) else min(low[c], ref)
                high[c] = ref if math.isnan(high[c]) else max(high[c], ref)
                if has_bid and has_ask:
                    imb_sum[c] += row["imbalance"] * (hi - lo)
                    imb_time[c] += hi - lo
    cells /= np.diff(edges).astype(float)[:, None]
    cols = np.zeros(columns, COLUMN_DTYPE)
    cols["mid_low"], cols["mid_high"] = low, high
    with np.errstate(invalid="ignore"):
        cols["imbalance"] = np.where(imb_time > 0, imb_sum / np.where(imb_time > 0, imb_time, 1), np.nan)
    if band is not None:
        for c in range(columns):
            for r in range(rows):
                bottom, top = price_lo + r * price_bin, price_lo + (r + 1) * price_bin - 1
                if math.isnan(low[c]) or top < low[c] - band or bottom > high[c] + band:
                    cells[c, r] = 0.0
    return cells, cols, feats, clock, stop


def one_at_a_time(events, clock, edges, stop, **book_args):
    """Which events the book takes, and every trade in the window, from the
    public API one event at a time."""
    book = lob.OrderBook(**book_args)
    out = []
    accepted = np.zeros(stop, bool)
    sweeps = before_sweeps = 0
    for i in range(stop):
        before = (book.trade_count, book.buy_volume, book.sell_volume, book.cross_volume)
        book.apply(events[i:i + 1], on_error="skip", record=False)
        accepted[i] = not book.last_rejected
        if book.sweeps != before_sweeps and clock[i] >= edges[0]:
            sweeps += 1
        before_sweeps = book.sweeps
        if book.trade_count != before[0] and clock[i] >= edges[0]:
            buy, sell = book.buy_volume - before[1], book.sell_volume - before[2]
            side = 0 if buy else 1 if sell else 2
            qty = buy + sell + (book.cross_volume - before[3])
            sided = events["kind"][i] == lob.EXECUTE or (events["kind"][i] == lob.TRADE and events["side"][i] in (0, 1))
            out.append((clock[i], book.last_trade_price, qty, side, book.run_levels if sided else 0,
                        book.run_qty if sided else 0))
    return accepted, np.array(out, dtype=TRADE_DTYPE), sweeps


def check_against_reference(events, edges, price_lo, price_bin, rows, band, depth, **book_args):
    book = lob.OrderBook(**book_args)
    cells, cols, samples, trades, rejected, applied = replay_bins(book, events, edges, price_lo, price_bin, rows,
                                                                  band)
    want_cells, want_cols, feats, clock, stop = slow_bins(events, edges, price_lo, price_bin, rows, band, depth,
                                                          **book_args)
    assert applied == stop
    np.testing.assert_allclose(cells, want_cells, rtol=1e-12, atol=0)
    for name in ("mid_low", "mid_high", "imbalance"):
        np.testing.assert_allclose(cols[name], want_cols[name], rtol=1e-12, equal_nan=True)
    accepted, want_trades, sweeps = one_at_a_time(events, clock, edges, stop, **book_args)
    assert sum(rejected.values()) == stop - accepted.sum()
    counted = accepted & (clock[:stop] >= edges[0])
    assert cols["events"].tolist() == np.bincount(np.searchsorted(edges, clock[:stop][counted], side="right") - 1,
                                                  minlength=len(edges) - 1).tolist()
    # samples: the feature row of the last event at or before each edge (the empty book before any;
    # no event at the last edge is applied)
    for k, edge in enumerate(edges.tolist()):
        j = int(np.searchsorted(clock[:stop], edge, side="right")) - 1
        s = samples[k]
        assert s["ts"] == edge
        if j < 0:
            assert (s["best_bid_qty"], s["best_ask_qty"], s["volume_delta"], s["ofi"]) == (0, 0, 0, 0)
            continue
        row = feats[j]
        for name in ("best_bid", "best_bid_qty", "best_ask", "best_ask_qty", "volume_delta", "ofi"):
            assert s[name] == row[name], (k, name)
        for name in ("microprice", "imbalance", "rolling_vwap", "vwap_deviation_bps"):
            np.testing.assert_equal(s[name], row[name])
    assert trades.tobytes() == want_trades.tobytes()
    # the sweeps read off the trades' runs are the ones the book counted in the window
    assert len(lob.plot._sweeps(trades)) == sweeps
    # the same replay leaves the same book as apply over the events it took
    same = lob.OrderBook(**book_args)
    same.apply(events[:stop], on_error="skip", record=False)
    assert book.snapshot().tobytes() == same.snapshot().tobytes()
    book.check()
    return cells, cols, samples, trades


event_rows = st.lists(
    st.tuples(
        st.integers(1, 9),                 # kind (9 is refused)
        st.integers(-1, 2),                # side (-1, 2 refused for orders)
        st.integers(0, 12),                # order id: a small pool, so ids repeat
        st.integers(95, 105),              # price
        st.integers(-1, 6),                # qty (<= 0 refused, some above resting)
        st.sampled_from([0, 0, 1, 1, 2, 3, 7, 20, -4]),   # ts step (negative: a late event)
    ),
    max_size=90,
)


@settings(max_examples=250, deadline=None)
@given(rows=event_rows, start=st.integers(-5, 40), columns=st.integers(1, 7), span=st.integers(0, 120),
       price_lo=st.integers(90, 101), price_bin=st.integers(1, 3), grid_rows=st.integers(1, 12),
       band=st.one_of(st.none(), st.integers(0, 6)), allow_cross=st.booleans())
def test_bins_equal_a_numpy_binning_of_feature_rows(rows, start, columns, span, price_lo, price_bin, grid_rows, band,
                                                    allow_cross):
    events = np.zeros(len(rows), lob.EVENT_DTYPE)
    ts = 0
    for i, (kind, side, oid, price, qty, step) in enumerate(rows):
        ts += step
        events[i] = (ts, kind, side, oid, price, qty)
    span = max(span, columns)
    edges = np.array([start + span * k // columns for k in range(columns + 1)], np.int64)
    check_against_reference(events, edges, price_lo, price_bin, grid_rows, band, depth=12, allow_cross=allow_cross,
                            vwap_window_ns=15)


def test_bins_on_a_synthetic_stream():
    events = lob.synth.generate(6_000, seed=3, target_orders=200, p_far=0.0, p_reduce=0.1, p_modify=0.1,
                                p_trade=0.05, mean_gap_ns=1_000)
    t0, t1 = int(events["ts"][500]), int(events["ts"][-200])
    edges = np.array([t0 + (t1 - t0) * k // 40 for k in range(41)], np.int64)
    mid = int(events["price"][0])
    cells, cols, samples, trades = check_against_reference(events, edges, mid - 40, 2, 40, 15, depth=120,
                                                           vwap_window_ns=200_000)
    assert cells.sum() > 0 and len(trades) > 100
    assert not np.isnan(cols["mid_low"]).any()


@pytest.mark.skipif(not (DATA / "dbn").exists(), reason="../shared/data is not present")
def test_bins_on_the_cme_sample():
    """Real data: the ES book (every tick occupied near the mid), a grid of 20
    ticks a side, checked against the 60 best levels a side."""
    import lob.io

    events = lob.io.read_dbn(DATA / "dbn" / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst")
    t0 = int(events["ts"][0])
    edges = np.array([t0 + 2_000_000_000 * k // 50 for k in range(51)], np.int64)
    tick = 250_000_000
    cells, cols, samples, trades = check_against_reference(events, edges, 5_209_000_000_000, tick, 40, 12 * tick,
                                                           depth=60, allow_cross=True)
    assert len(trades) == 5 and cells.sum() > 0


def test_band_mask_and_arguments():
    cols = np.zeros(2, COLUMN_DTYPE)
    cols["mid_low"], cols["mid_high"] = [100.5, np.nan], [101.5, np.nan]
    mask = band_mask(cols, 96, 2, 5, 2)        # rows 96-97, 98-99, 100-101, 102-103, 104-105
    assert mask.tolist() == [[False, True, True, True, False], [False] * 5]
    book = lob.OrderBook()
    ev = lob.synth.generate(10)
    with pytest.raises(ValueError, match="edges"):
        replay_bins(book, ev, [5])
    with pytest.raises(ValueError, match="increase"):
        replay_bins(book, ev, [5, 5])
    with pytest.raises(ValueError, match="price_bin"):
        replay_bins(book, ev, [0, 5], price_bin=0)
    with pytest.raises(ValueError, match="band"):
        replay_bins(book, ev, [0, 5], band=-1)
    with pytest.raises(TypeError, match="EVENT_DTYPE"):
        replay_bins(book, np.zeros(3), [0, 5])
    assert len(book) == 0 and book.ts == 0          # refused before anything applied
    assert (SAMPLE_DTYPE.itemsize, TRADE_DTYPE.itemsize, COLUMN_DTYPE.itemsize) == (104, 37, 32)
