"""lob.plot.session: the figure has the panels and artists the chart
promises (headless: lob.plot draws on a bare matplotlib Figure, Agg)."""
import sys

import numpy as np
import pytest

import lob
import lob.plot
from cli_support import SHARED

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.colors import LogNorm, to_hex  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

S = 1_000_000_000
T0 = 34_200 * S            # 09:30:00 after midnight


def hand_stream():
    """A small day with known trades: a buy sweep through 2 prices (2 trades),
    a cross print, a sell execution, a sided hidden print."""
    rows = [
        (0, lob.ADD, 0, 1, 9_900, 300), (0, lob.ADD, 0, 2, 9_800, 200), (0, lob.ADD, 0, 3, 9_700, 500),
        (0, lob.ADD, 1, 4, 10_100, 100), (0, lob.ADD, 1, 5, 10_200, 400), (0, lob.ADD, 1, 6, 10_300, 600),
        (5, lob.ADD, 0, 7, 9_900, 100),
        (10, lob.EXECUTE, 1, 4, 0, 100), (10, lob.EXECUTE, 1, 5, 0, 150),       # the sweep: 101 then 102
        (20, lob.TRADE, lob.NO_AGGRESSOR, 0, 10_000, 50),                       # a cross
        (30, lob.EXECUTE, 0, 1, 0, 300),                                        # a seller hits 99
        (40, lob.CANCEL, 0, 3, 0, 0), (45, lob.ADD, 0, 8, 9_950, 250),
        (50, lob.TRADE, lob.ASK, 0, 9_950, 20),                                 # a hidden sell print
        (55, lob.ADD, 1, 9, 10_150, 80), (60, lob.MODIFY, 1, 6, 10_250, 500),
    ]
    ev = np.zeros(len(rows), lob.EVENT_DTYPE)
    for i, (t, kind, side, oid, price, qty) in enumerate(rows):
        ev[i] = (T0 + t * S, kind, side, oid, price, qty)
    return ev


def axes_by_role(fig):
    heat, bar, flow, delta = fig.axes[:4]
    twins = fig.axes[4:6]
    return heat, bar, flow, delta, twins


def legend_labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_panels_lines_collections_colour_bar():
    ev = hand_stream()
    fig = lob.plot.session(ev, price_scale=100, symbol="TEST", qty_unit="shares", price_unit="$", columns=120)
    assert len(fig.axes) == 6                   # heat map, colour bar, 2 panels, their right axes
    heat, bar, flow, delta, (flow_right, delta_right) = axes_by_role(fig)
    # the heat map on a log colour scale, with its colour bar
    assert len(heat.images) == 1
    image = heat.images[0]
    assert isinstance(image.norm, LogNorm) and image.colorbar is not None and image.colorbar.ax is bar
    assert "log scale" in bar.get_ylabel() and "shares" in bar.get_ylabel()
    # the lines: best bid, best ask, microprice, rolling VWAP
    labels = [line.get_label() for line in heat.get_lines()]
    assert labels == ["best bid", "best ask", "microprice", "rolling VWAP (1 min)"]
    bid = heat.get_lines()[0].get_ydata()
    assert bid[0] == 99.0 and np.nanmax(bid) == 99.5              # 99, then 99.50 after t=45
    # trades: one scatter, 5 dots, coloured by aggressor
    scatters = [c for c in heat.collections if isinstance(c, PathCollection)]
    trades = scatters[0]
    assert len(trades.get_offsets()) == 5
    colours = [to_hex(c) for c in trades.get_facecolors()]
    assert sorted(colours) == sorted([lob.plot.BID_COLOUR] * 2 + [lob.plot.ASK_COLOUR] * 2 + [lob.plot.CROSS_COLOUR])
    # the sweep: a segment from 101 to 102 and a triangle at 102
    sweeps = [c for c in heat.collections if isinstance(c, LineCollection)]
    assert len(sweeps) == 1 and np.allclose(sweeps[0].get_segments()[0][:, 1], [101.0, 102.0])
    assert len(scatters) == 2 and np.allclose(scatters[1].get_offsets(), [[10.0, 102.0]])
    assert {"best bid", "best ask", "microprice", "buyer-initiated trade (dot area ~ qty)", "seller-initiated trade",
            "cross (no aggressor)"} <= set(legend_labels(heat))
    assert any(label.startswith("sweep") for label in legend_labels(heat))
    # OFI bars (green / red) and the imbalance line; volume delta and VWAP deviation
    assert len([p for p in flow.patches if isinstance(p, StepPatch)]) == 2
    assert len([p for p in flow_right.patches if isinstance(p, StepPatch)]) == 1
    assert "OFI" in flow.get_ylabel() and "imbalance" in flow_right.get_ylabel()
    assert len(delta.get_lines()) == 2                     # the delta and the zero line
    cvd = delta.get_lines()[0].get_ydata()
    assert cvd[-1] == 250 - 300 - 20                       # buyers 250, sellers 320 (the cross is neither)
    assert len(delta_right.get_lines()) == 1 and "bps" in delta_right.get_ylabel()
    assert "TEST" in fig._suptitle.get_text() and "1 sweep" in fig._suptitle.get_text()
    assert "5 trades" in fig._suptitle.get_text()
    # the time axis in the venue's clock
    ticks = [t.get_text() for t in delta.get_xticklabels()]
    assert ticks[0] == "09:30:00" and all(t.startswith("09:3") for t in ticks)
    matplotlib.pyplot.close("all") if "matplotlib.pyplot" in sys.modules else None


def test_heat_map_is_the_binned_grid():
    ev = lob.synth.generate(20_000, seed=5, mean_gap_ns=50_000)
    binned = lob.plot.bin_session(ev, columns=300, band=40)
    fig = lob.plot.draw(binned)
    image = fig.axes[0].images[0]
    shown = np.ma.getdata(image.get_array())
    assert shown.shape == (binned.rows, 300)
    np.testing.assert_array_equal(np.where(np.ma.getmaskarray(image.get_array()), 0.0, shown), binned.cells.T)
    assert binned.cells.sum() > 0 and binned.samples["trades"][-1] > 1000
    # the band: nothing beyond 40 units of any mid a column saw
    lo, hi = binned.columns["mid_low"], binned.columns["mid_high"]
    prices = binned.price_lo + np.arange(binned.rows) * binned.price_bin
    far = (prices[None, :] > hi[:, None] + 40) | (prices[None, :] + binned.price_bin - 1 < lo[:, None] - 40)
    assert not binned.cells[far].any()


def test_own_orders_fills_and_markouts():
    ev = hand_stream()
    own_orders = np.array([(900, 0, 9_850, 10, T0 + 2 * S, T0 + 40 * S), (901, 1, 10_400, 5, T0 + 20 * S, 0)],
                          dtype=[("order_id", "<u8"), ("side", "i1"), ("price", "<i8"), ("qty", "<i8"),
                                 ("ts_submit", "<i8"), ("ts_end", "<i8")])
    fills = np.array([(T0 + 30 * S, 900, 0, 9_850, 4, 0, 120, 100.0), (T0 + 50 * S, 902, 1, 9_950, 3, 1, 0, 100.5)],
                     dtype=[("ts", "<i8"), ("order_id", "<u8"), ("side", "i1"), ("price", "<i8"), ("qty", "<i8"),
                            ("liquidity", "u1"), ("queue_ahead", "<i8"), ("mid", "<f8")])
    markouts = {"passive": [(1, 0.5), (10, -0.25), (60, 1.5)], "market": [(1, -3.0), (10, -2.0), (60, -1.0)]}
    fig = lob.plot.session(ev, price_scale=100, own_orders=own_orders, own_fills=fills, markouts=markouts)
    assert len(fig.axes) == 7
    heat, marks = fig.axes[0], fig.axes[-1]
    segments = [c for c in heat.collections if isinstance(c, LineCollection)]
    own = segments[-1].get_segments()
    assert len(own) == 2
    assert np.allclose(own[0], [[2.0, 98.5], [40.0, 98.5]])
    assert np.allclose(own[1], [[20.0, 104.0], [60.0 + 1e-9, 104.0]])     # still resting: to the window's end
    scatters = [c for c in heat.collections if isinstance(c, PathCollection)]
    maker, taker = scatters[-2], scatters[-1]
    assert np.allclose(maker.get_offsets(), [[30.0, 98.5]]) and np.allclose(taker.get_offsets(), [[50.0, 99.5]])
    labels = legend_labels(heat)
    assert {"own buy order resting", "own sell order resting", "own fill, maker (passive)", "own fill, taker"} <= set(labels)
    assert [line.get_label() for line in marks.get_lines()][:2] == ["passive", "market"]
    assert marks.get_xscale() == "log" and "markout" in marks.get_ylabel()


def test_many_trades_are_summed_per_column_and_price():
    ev = lob.synth.generate(30_000, seed=2, p_trade=0.05, p_reduce=0.05)
    binned = lob.plot.bin_session(ev, columns=50)
    fig = lob.plot.draw(binned, max_trades=100)
    dots = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)][0]
    t = binned.trades
    column = np.searchsorted(binned.edges, t["ts"], side="right") - 1
    keys = {(int(c), int(p), int(s)) for c, p, s in zip(column, t["price"], t["side"])}
    assert len(t) > 100 and len(dots.get_offsets()) == len(keys)
    assert "summed" in fig._suptitle.get_text()


def test_epoch_clock_and_window():
    start = 1_715_126_400 * S + 3_600 * S          # 2024-05-08 01:00:00 UTC
    ev = lob.synth.generate(5_000, seed=4, start_ts=start, mean_gap_ns=2_000_000)
    t0, t1 = start + 2 * S, start + 7 * S
    book = lob.OrderBook()
    fig = lob.plot.session(ev, book=book, t0=t0, t1=t1, columns=100)
    delta = fig.axes[3]
    assert "UTC 2024-05-08" in delta.get_xlabel()
    ticks = [t.get_text() for t in delta.get_xticklabels()]
    assert ticks[0] == "01:00:02" and ticks[-1] == "01:00:06"
    assert "2024-05-08 01:00:02.000 to 01:00:07.000" in fig._suptitle.get_text()
    # the book ends at t1: every event before it applied, none after
    same = lob.OrderBook()
    same.apply(ev[ev["ts"] < t1], record=False)
    assert book.snapshot().tobytes() == same.snapshot().tobytes()


def test_saves_png_and_svg(tmp_path):
    ev = hand_stream()
    for name in ("chart.png", "chart.svg"):
        lob.plot.session(ev, price_scale=100, out=tmp_path / name, dpi=40)
        data = (tmp_path / name).read_bytes()
        assert len(data) > 1000
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_careless_inputs_change_nothing():
    ev = hand_stream()
    book = lob.OrderBook()
    book.apply(ev[:3], record=False)
    before = book.snapshot().tobytes()
    cases = [
        (dict(colour="red"), TypeError, "unknown option 'colour'"),
        (dict(columns=0), ValueError, "columns"),
        (dict(columns=2.5), ValueError, "columns"),
        (dict(band=-1), ValueError, "band"),
        (dict(price_range=(5, 1)), ValueError, "price_range"),
        (dict(clock="local"), ValueError, "clock"),
        (dict(t0=T0 + 10 * S, t1=T0 + 10 * S), ValueError, "window is empty"),
        (dict(t0=T0 + 100 * S, t1=T0 + 200 * S), ValueError, "no events between 09:31:40.000"),
        (dict(price_scale=0), ValueError, "price_scale"),
        (dict(own_orders=np.zeros(2, [("order_id", "<u8"), ("side", "i1")])), ValueError, "lacks the field 'price'"),
        (dict(own_fills=[1, 2]), TypeError, "own_fills"),
        (dict(markouts=[(1, 2)]), TypeError, "markouts"),
        (dict(markouts={"x": [(0, 1.0)]}), ValueError, "horizon"),
        (dict(vwap_window_ns=5), ValueError, "differs from the book's"),
        (dict(columns=100_000, max_rows=100_000, band=1e6), ValueError, "cells, more than 20,000,000"),
    ]
    for kwargs, kind, text in cases:
        with pytest.raises(kind, match=text.replace("(", r"\(")):
            lob.plot.session(ev[3:], book=book, **kwargs)
        assert book.snapshot().tobytes() == before, kwargs
    with pytest.raises(TypeError, match="EVENT_DTYPE"):
        lob.plot.session(np.zeros(3))
    with pytest.raises(ValueError, match="empty"):
        lob.plot.session(ev[:0])


def test_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'lobcore\[plot\]'"):
        lob.plot.session(hand_stream())


@pytest.mark.parametrize("spread", [100, 1 << 41])
def test_trade_groups_equal_a_sort_of_rows(spread):
    rng = np.random.default_rng(spread % 97)
    column, side = rng.integers(0, 1000, 5000), rng.integers(0, 3, 5000)
    price = rng.integers(0, 40, 5000) * (spread // 40) + 10**12
    unique, inverse = lob.plot._trade_groups(column, price, side)
    rows = np.stack([column, price, side], axis=1)
    assert np.array_equal(unique[inverse.ravel()], rows)
    assert np.array_equal(unique, np.unique(rows, axis=0))


def test_volume_delta_counts_trades_at_the_first_instant():
    """A trade at t0 itself is in the chart's volume delta (the first sample
    is taken after the events at t0)."""
    ev = hand_stream()
    ev["ts"][:9] = ev[0]["ts"]               # the sweep at the first instant
    binned = lob.plot.bin_session(ev, columns=60)
    t = binned.trades
    assert binned.t0 == T0 and (t["ts"] == T0).sum() == 2
    fig = lob.plot.draw(binned)
    cvd = fig.axes[3].get_lines()[0].get_ydata()
    assert cvd[-1] == t["qty"][t["side"] == 0].sum() - t["qty"][t["side"] == 1].sum() == 250 - 320
    assert len(binned.sweeps()) == 1 and binned.sweeps()["qty"][0] == 250


@pytest.mark.skipif(not (SHARED / "lobster").exists(), reason="../shared/data is not present")
def test_aapl_sweeps_are_the_books():
    import lob.io

    stream = lob.io.read_lobster_stream(SHARED / "lobster" / "AAPL_2012-06-21_34200000_57600000_message_10.csv",
                                        SHARED / "lobster" / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv")
    binned = lob.plot.bin_session(stream.events, price_scale=10_000)
    whole = lob.OrderBook()
    whole.apply(stream.events, record=False)
    assert len(binned.sweeps()) == whole.sweeps == 25
    assert len(binned.trades) == whole.trade_count and binned.rejected == {}
    assert (binned.sweeps()["levels"] >= 2).all()
