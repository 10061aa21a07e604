"""lob.signals.fit_microprice: Stoikov's micro-price on a chain with a closed-form answer, on
real LOBSTER rows, and on the CME replay."""
import pathlib

import numpy as np
import pytest

import lob
import lob.io
from lob.signals import fit_microprice

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
GOOG_BOOK = SHARED / "lobster" / "GOOG_2012-06-21_34200000_57600000_orderbook_1.csv"
CME = SHARED / "dbn" / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst"

# Two states, spread 1 tick: L (bid qty 1, ask qty 3: I = 0.25, bucket 0 of 2) and its mirror H
# (3, 1). From L, out of 8 transitions: 4 stay L with the mid unchanged (alpha = 1/2), 1 goes to H
# unchanged (beta = 1/8), 2 move the mid down a tick and stay L (gamma = 1/4), 1 moves it up a
# tick into H (zeta = 1/8); from H the mirror. The circuit below has exactly those counts.
#   g1(L) = (R1 K)(L) / (1 - alpha + beta) = (-2/8 + 1/8) / (5/8) = -1/5 tick
#   B on the odd vector (1, -1): lambda = (T_LL - T_LH) / (1 - alpha + beta) = (2/8 - 1/8) / (5/8) = 1/5
#   g(L) = g1 / (1 - lambda) = -(1/5) / (4/5) = -1/4 tick;  g(H) = +1/4 tick
L, H = (1, 3), (3, 1)
CIRCUIT = ([(L, 0)] * 4 + [(L, -1)] * 2 + [(H, 0)] + [(H, 0)] * 4 + [(H, +1)] * 2 + [(L, 0)] + [(H, +1)]
           + [(L, -1)])


def rows_of(states, tick):
    f = np.zeros(len(states), dtype=lob.FEATURE_DTYPE)
    for i, (bid, (bq, aq)) in enumerate(states):
        f[i]["best_bid"], f[i]["best_bid_qty"], f[i]["best_ask"], f[i]["best_ask_qty"] = bid, bq, bid + tick, aq
    return f


def circuit_rows(tick, repeats=5, start=4_000):
    bid = start * tick
    states = [(bid, L)]
    for _ in range(repeats):
        for state, move in CIRCUIT:
            bid += move * tick
            states.append((bid, state))
    return rows_of(states, tick)


@pytest.mark.parametrize("tick", [1, 100, 250_000_000])
def test_closed_form_chain(tick):
    model = fit_microprice(circuit_rows(tick), tick, n_imbalance=2, n_spread=1)
    np.testing.assert_allclose(model.g1 / tick, [[-0.2, 0.2]], rtol=0, atol=1e-14)
    np.testing.assert_allclose(model.table / tick, [[-0.25, 0.25]], rtol=0, atol=1e-12)
    assert model.adjustment(0.25, 1) == pytest.approx(-0.25 * tick, abs=1e-12 * tick)
    assert model.adjustment(0.75, 1) == pytest.approx(0.25 * tick, abs=1e-12 * tick)
    assert (model.n_transitions, model.n_moves) == (80, 30)
    f = circuit_rows(tick)
    mid = (f["best_bid"] + f["best_ask"]) / 2
    expected = mid + np.where(f["best_bid_qty"] == 1, -0.25, 0.25) * tick
    np.testing.assert_allclose(model.predict(f), expected, rtol=1e-15, atol=1e-12 * tick)


def test_repeated_rows_change_nothing():
    """A row repeated (an event deeper in the book) is a self-loop with the mid unchanged: the
    chain conditioned on leaving a state is the same, so the micro-price is too."""
    f = circuit_rows(1)
    doubled = np.repeat(f, 3)
    a = fit_microprice(f, 1, n_imbalance=2, n_spread=1)
    b = fit_microprice(doubled, 1, n_imbalance=2, n_spread=1)
    np.testing.assert_allclose(a.table, b.table, rtol=0, atol=1e-12)


def test_sampling_on_a_time_grid():
    f = circuit_rows(1)
    f["ts"] = np.arange(len(f)) * 10 + 1_000
    every_row = fit_microprice(f, 1, n_imbalance=2, n_spread=1)
    on_grid = fit_microprice(f, 1, n_imbalance=2, n_spread=1, sample_ns=10)
    np.testing.assert_array_equal(every_row.table, on_grid.table)
    finer = fit_microprice(f, 1, n_imbalance=2, n_spread=1, sample_ns=5)    # each row twice: same chain
    np.testing.assert_allclose(finer.table, every_row.table, rtol=0, atol=1e-12)
    coarse = fit_microprice(f, 1, n_imbalance=2, n_spread=1, sample_ns=20)  # every other row: another chain
    assert coarse.n_transitions == (len(f) - 1) // 2
    back = f.copy()
    back["ts"][7] = 0
    with pytest.raises(ValueError, match="row 7"):
        fit_microprice(back, 1, sample_ns=10)
    with pytest.raises(ValueError, match="sample_ns"):
        fit_microprice(f, 1, sample_ns=0)


def test_rows_outside_the_model_are_left_out():
    f = circuit_rows(1)
    wide = f.copy()
    wide["best_ask"] += 5                      # spread 6 ticks: outside n_spread=1
    empty = f[:3].copy()
    empty["best_ask_qty"] = 0                  # an empty ask side
    mixed = np.concatenate([f[:40], wide[:5], empty, f[40:]])
    model = fit_microprice(mixed, 1, n_imbalance=2, n_spread=1)
    assert np.isfinite(model.table).all()
    pred = model.predict(mixed)
    assert np.isnan(pred[40:48]).all() and np.isfinite(pred[:40]).all()
    assert np.isnan(model.adjustment(0.5, 2)) and np.isnan(model.adjustment(1.5, 1))
    np.testing.assert_array_equal(np.isnan(model.adjustment([0.1, 0.9, -1.0], [1, 1, 1])), [False, False, True])


def test_bad_input():
    f = circuit_rows(1)
    with pytest.raises(ValueError, match="tick"):
        fit_microprice(f, 0)
    with pytest.raises(TypeError, match="best_bid_qty"):
        fit_microprice(np.zeros(3, dtype=[("best_bid", "<i8")]), 1)
    flat = f.copy()
    flat["best_bid"], flat["best_ask"] = 100, 101                 # the mid never moves
    with pytest.raises(ValueError, match="no mid move"):
        fit_microprice(flat, 1, n_imbalance=2, n_spread=1)
    with pytest.raises(ValueError, match="n_imbalance"):
        fit_microprice(f, 1, n_imbalance=0)


def assert_monotone_and_odd(model, min_count):
    n = model.n_imbalance
    table = model.table
    counts = model.counts.reshape(model.n_spread, n)
    checked = 0
    for s in range(model.n_spread):
        if counts[s].min() < min_count:          # a spread the data barely saw
            continue
        row = table[s]
        assert np.isfinite(row).all()
        np.testing.assert_allclose(row, -row[::-1], rtol=0, atol=1e-9 * model.tick)    # odd around 0.5
        assert (np.diff(row) >= -1e-9 * model.tick).all(), f"spread {s + 1}: {row / model.tick}"
        checked += 1
    return checked


@pytest.mark.skipif(not GOOG_BOOK.exists(), reason="../shared/data/lobster is not present")
def test_lobster_goog_day():
    """A real day (GOOG, 2012-06-21, LOBSTER's own top of book after each of 49,482 messages)."""
    snap = lob.io.read_lobster_book(GOOG_BOOK)
    f = np.zeros(len(snap.bid_price), dtype=lob.FEATURE_DTYPE)
    f["best_bid"], f["best_bid_qty"] = snap.bid_price[:, 0], snap.bid_qty[:, 0]
    f["best_ask"], f["best_ask_qty"] = snap.ask_price[:, 0], snap.ask_qty[:, 0]
    # GOOG's spread is mostly 10-30 ticks: 5 buckets over spreads of 1..20 ticks
    model = fit_microprice(f, 100, n_imbalance=5, n_spread=20)
    assert model.n_moves > 2000
    assert assert_monotone_and_odd(model, min_count=10) == 20
    # other grids: odd everywhere; monotone at 1 and 2 ticks (the paper's states). Sparse
    # cells at wide spreads (and the widest spread, which borders the rows left out) can
    # break monotonicity: sample noise, not the method
    for n_imbalance, n_spread in ((4, 30), (6, 20), (10, 2)):
        other = fit_microprice(f, 100, n_imbalance=n_imbalance, n_spread=n_spread)
        np.testing.assert_allclose(other.table, -other.table[:, ::-1], rtol=0, atol=1e-7)
        assert (np.diff(other.table[:2], axis=1) >= -1e-7).all(), (n_imbalance, n_spread)
    # a heavy bid queue pushes the micro-price above the mid (here by about a tick at a
    # one-tick spread: that state soon widens, and the moves after it go on the same way)
    assert model.adjustment(0.95, 1) > 0 and model.adjustment(0.05, 1) == pytest.approx(-model.adjustment(0.95, 1))
    pred = model.predict(f)
    inside = np.isfinite(pred)
    assert inside.sum() > 10_000
    mid = (f["best_bid"] + f["best_ask"]) / 2
    np.testing.assert_allclose(pred[inside] - mid[inside],
                               model.adjustment(f["best_bid_qty"][inside] / (f["best_bid_qty"][inside]
                                                + f["best_ask_qty"][inside]),
                                                (f["best_ask"][inside] - f["best_bid"][inside]) // 100),
                               rtol=0, atol=1e-9)


@pytest.mark.skipif(not CME.exists(), reason="../shared/data/dbn is not present")
def test_cme_replay_has_no_mid_move():
    """The CME sample replayed (allow_cross=True, as the CLI does): 2 s in which ES's touch
    never moves (5214.00 / 5214.25 after the snapshot), so there is nothing to estimate: the
    fit says so instead of returning a flat answer that would look monotone and odd."""
    pytest.importorskip("databento_dbn")
    from lob.io.dbn import F_LAST
    events, flags = lob.io.read_dbn_messages(CME)
    rows = lob.OrderBook(allow_cross=True).apply(events)
    rows = rows[(flags & F_LAST) > 0]              # the consistent books (not mid-snapshot)
    assert len(rows) > 150 and len(np.unique(rows["best_bid"])) == len(np.unique(rows["best_ask"])) == 1
    with pytest.raises(ValueError, match="no mid move"):
        fit_microprice(rows, 250_000_000)
