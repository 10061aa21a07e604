"""Stoikov's micro-price, fitted on a replay's feature rows.

S. Stoikov (2018), "The micro-price: a high-frequency estimator of future prices",
Quantitative Finance 18(12). The micro-price is the limit of the expected mid-price at the
times of its future changes, given the book's state now:

    P_micro = M + g(I, S),   g = sum_{i >= 1} g_i,
    g_1(x) = E[M_tau1 - M | X = x],   g_{i+1}(x) = E[g_i(X_tau1) | X = x],

where M is the mid, tau1 the time of the mid's next change, and X = (I, S) the state: the
imbalance I = Q_bid / (Q_bid + Q_ask) of the best level's qtys cut into `n_imbalance`
equal buckets, and the spread S in ticks (1..n_spread). Fitted as in the paper: the
observed transitions between consecutive states (rows) give, per state x, the
probabilities of the next row being state y with the mid unchanged (Q), or with the mid
moved by k half-ticks (R1, over the moves K) and landing in state y (T); then

    g_1 = (1 - Q)^-1 R1 K,   B = (1 - Q)^-1 T,   g = g_1 + B g_1 + B^2 g_1 + ...

summed until the terms vanish ("iterate to the limit"). The data are symmetrised first:
each transition (x, k, y) also counts mirrored, with the imbalance bucket j -> n-1-j and
the move k -> -k, so the fitted adjustment is odd around I = 0.5 (buy and sell pressure
are treated alike) and the iteration converges (B's stationary mean of g_1 is 0).

How it differs from ``OrderBook.microprice()``: that one is the size-weighted mid
``(bid * ask_qty + ask * bid_qty) / (bid_qty + ask_qty)``, a fixed function of the current
top of book, moved all the way to the ask as the bid queue dominates, whatever the spread;
Stoikov shows it is not a martingale and overreacts (a 10-lot against a 1-lot moves it 90%
of the spread). This one is estimated from what the mid actually did after each state: a
correction to the mid, bounded by the moves seen, that depends on the spread as well.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fit_microprice", "MicropriceModel"]

_FIELDS = ("best_bid", "best_bid_qty", "best_ask", "best_ask_qty")


class MicropriceModel:
    """A fitted micro-price (see lob.signals.fit_microprice).

    Attributes (state index x = (spread_ticks - 1) * n_imbalance + bucket):
    tick (price units), n_imbalance, n_spread;
    table: (n_spread, n_imbalance) float64, the adjustment g in price units (nan where the
    data cannot estimate it), row s-1 for a spread of s ticks, column j for imbalance in
    [j/n, (j+1)/n);
    g1: the same shape, the first term g_1 (price units);
    Q, T: (n_states, n_states) and R1: (n_states, len(moves)) transition probabilities;
    moves: the mid moves K in half-ticks; counts: transitions seen from each state
    (after symmetrisation); n_rows, n_transitions (raw, before mirroring), n_moves
    (raw transitions with a mid move), n_dropped (raw transitions left out: a move above
    max_move_ticks, or into a state the data cannot estimate); iterations.
    """

    def __init__(self, tick, n_imbalance, n_spread, table, g1, Q, R1, T, moves, counts, n_rows,
                 n_transitions, n_moves, n_dropped, iterations):
        self.tick = tick
        self.n_imbalance = n_imbalance
        self.n_spread = n_spread
        self.table = table
        self.g1 = g1
        self.Q, self.R1, self.T = Q, R1, T
        self.moves = moves
        self.counts = counts
        self.n_rows = n_rows
        self.n_transitions = n_transitions
        self.n_moves = n_moves
        self.n_dropped = n_dropped
        self.iterations = iterations

    def __repr__(self):
        return (f"MicropriceModel(tick={self.tick}, n_imbalance={self.n_imbalance}, n_spread={self.n_spread}, "
                f"transitions={self.n_transitions}, moves={self.n_moves}, iterations={self.iterations})")

    def adjustment(self, imbalance, spread_ticks):
        """g(I, S) in price units: the micro-price minus the mid.

        imbalance: Q_bid / (Q_bid + Q_ask) in [0, 1] (Stoikov's convention; note that
        OrderBook.imbalance() is (B - A) / (B + A) = 2 I - 1); spread_ticks: the spread
        in ticks, an integer. Scalars give a float, arrays an array; nan outside the model
        (imbalance not in [0, 1], spread not in 1..n_spread) or where the data saw no exit.
        """
        imb = np.asarray(imbalance, dtype=np.float64)
        spread = np.asarray(spread_ticks)
        if spread.dtype.kind == "f":
            whole = np.isfinite(spread) & (spread == np.round(spread))
            spread = np.where(whole, spread, 0).astype(np.int64)
        else:
            spread = spread.astype(np.int64)
        imb, spread = np.broadcast_arrays(imb, spread)
        ok = (imb >= 0) & (imb <= 1) & (spread >= 1) & (spread <= self.n_spread)
        bucket = np.minimum(np.floor(np.where(ok, imb, 0) * self.n_imbalance), self.n_imbalance - 1).astype(np.int64)
        out = np.full(imb.shape, np.nan)
        out[ok] = self.table[spread[ok] - 1, bucket[ok]]
        return float(out) if out.ndim == 0 else out

    def predict(self, features):
        """The micro-price of each feature row (float64, price units): mid + g(I, S); nan
        where the row is outside the model (an empty side, a spread that is not 1..n_spread
        ticks, a state the data could not estimate)."""
        bid, bid_qty, ask, ask_qty = _columns(features)
        state, ok = _states(bid, bid_qty, ask, ask_qty, self.tick, self.n_imbalance, self.n_spread)
        out = np.full(len(bid), np.nan)
        flat = self.table.reshape(-1)
        mid = (bid[ok].astype(np.float64) + ask[ok].astype(np.float64)) * 0.5
        out[ok] = mid + flat[state[ok]]
        return out


def _columns(features):
    names = getattr(getattr(features, "dtype", None), "names", None) or ()
    for name in _FIELDS:
        if name not in names:
            raise TypeError(f"features must be feature rows (lob.FEATURE_DTYPE) with field {name!r}; "
                            f"got fields {names!r}")
    return tuple(np.asarray(features[name], dtype=np.int64) for name in _FIELDS)


def _sample(features, sample_ns):
    """The last row at or before ts[0], ts[0] + sample_ns, ..., ts[-1]."""
    if sample_ns <= 0:
        raise ValueError(f"sample_ns must be > 0, got {sample_ns}")
    names = getattr(getattr(features, "dtype", None), "names", None) or ()
    if "ts" not in names:
        raise TypeError("sample_ns needs feature rows with field 'ts'")
    ts = np.asarray(features["ts"], dtype=np.int64)
    if len(ts) == 0:
        return features
    back = np.flatnonzero(np.diff(ts) < 0)
    if len(back):
        raise ValueError(f"features ts must not decrease: row {back[0] + 1} has ts {ts[back[0] + 1]} after "
                         f"{ts[back[0]]}")
    grid = np.arange(ts[0], ts[-1] + 1, sample_ns, dtype=np.int64)
    return features[np.searchsorted(ts, grid, side="right") - 1]


def _states(bid, bid_qty, ask, ask_qty, tick, n_imbalance, n_spread):
    """State index of each row and whether the row is inside the model."""
    spread = ask - bid
    ok = (bid_qty > 0) & (ask_qty > 0) & (spread > 0) & (spread % tick == 0)
    s = np.where(ok, spread // tick, 0)
    ok &= (s >= 1) & (s <= n_spread)
    total = np.where(ok, bid_qty + ask_qty, 1)
    # floor(n * I) in exact integers, so a row and its mirror fall in mirrored buckets
    bucket = np.minimum((np.where(ok, bid_qty, 0) * n_imbalance) // total, n_imbalance - 1)
    return np.where(ok, (s - 1) * n_imbalance + bucket, -1), ok


def fit_microprice(features, tick, *, n_imbalance=10, n_spread=2, max_move_ticks=1.0, symmetrize=True,
                   sample_ns=None, tol=1e-12, max_iter=100_000):
    """Fit Stoikov's micro-price on feature rows of a replay.

    features: rows with best_bid, best_bid_qty, best_ask, best_ask_qty (lob.FEATURE_DTYPE,
      e.g. ``OrderBook.apply(events)``), in time order. Each row is a step of the chain
      (rows where the touch did not change are steps that stay: they do not change the
      result).
    sample_ns: instead, sample the book every sample_ns nanoseconds of the rows' ``ts``
      (the last row at or before each time, from the first row's ts), the paper's fixed
      time step dt.
    tick: the price increment in the rows' price unit (int > 0): 100 for LOBSTER dollars x
      10000 at one cent, 250_000_000 for CME ES in DBN's 1e-9 units.
    n_imbalance: imbalance buckets (equal width in I = Q_bid / (Q_bid + Q_ask)).
    n_spread: spreads of 1..n_spread ticks are states; other rows (wider, locked, crossed,
      an empty side, off the tick grid) are left out, and transitions join the remaining
      rows in order, as the paper's estimation does.
    max_move_ticks: transitions whose mid moves more than this many ticks are left out
      (the paper keeps moves of half a tick and one tick).
    symmetrize: add every transition mirrored (see the module docstring). Without it the
      sum may not converge (a drift in the data); with it, it may still not on too few
      rows (a class of states that only ever moves one way); both are a ValueError.
    tol, max_iter: the sum stops once a term's largest entry is below tol ticks.

    Returns a MicropriceModel: ``adjustment(imbalance, spread_ticks)`` and
    ``predict(features)``, in price units. ValueError when the rows show no mid move in
    the model's states (nothing to estimate), naming what was seen.
    """
    tick = int(tick)
    if tick <= 0:
        raise ValueError(f"tick must be > 0, got {tick}")
    n_imbalance, n_spread = int(n_imbalance), int(n_spread)
    if n_imbalance < 1:
        raise ValueError(f"n_imbalance must be >= 1, got {n_imbalance}")
    if n_spread < 1:
        raise ValueError(f"n_spread must be >= 1, got {n_spread}")
    if not max_move_ticks > 0:
        raise ValueError(f"max_move_ticks must be > 0, got {max_move_ticks}")
    if sample_ns is not None:
        features = _sample(features, int(sample_ns))
    bid, bid_qty, ask, ask_qty = _columns(features)
    state, ok = _states(bid, bid_qty, ask, ask_qty, tick, n_imbalance, n_spread)
    n_states = n_imbalance * n_spread

    # transitions between consecutive rows inside the model; the mid move in half-ticks
    # is (bid' + ask' - bid - ask) / tick
    keep = np.flatnonzero(ok)
    x, y = state[keep[:-1]], state[keep[1:]]
    twice_mid = bid[keep] + ask[keep]
    dm = np.diff(twice_mid)
    on_grid = dm % tick == 0
    k = np.where(on_grid, dm // tick, 0)
    small = on_grid & (np.abs(k) <= 2 * max_move_ticks)
    n_transitions = len(x)
    dropped = int(n_transitions - small.sum())
    x, y, k = x[small], y[small], k[small]
    n_moves = int(np.count_nonzero(k))
    if symmetrize:
        bucket_x, spread_x = x % n_imbalance, x // n_imbalance
        bucket_y, spread_y = y % n_imbalance, y // n_imbalance
        x = np.concatenate([x, spread_x * n_imbalance + (n_imbalance - 1 - bucket_x)])
        y = np.concatenate([y, spread_y * n_imbalance + (n_imbalance - 1 - bucket_y)])
        k = np.concatenate([k, -k])
    if n_moves == 0:
        raise ValueError(f"no mid move in {n_transitions} transitions between {len(keep)} rows with a spread "
                         f"of 1..{n_spread} ticks (of {len(bid)} rows): nothing to fit")

    # the states the data can estimate: a state needs an observed exit, and a sure way to a
    # mid move; transitions into other states are left out until nothing changes
    valid = np.ones(len(x), dtype=bool)
    while True:
        seen = np.bincount(x[valid], minlength=n_states) > 0
        moves_from = np.bincount(x[valid & (k != 0)], minlength=n_states) > 0
        # states that reach a move through unchanged-mid transitions
        reach = moves_from.copy()
        stay_x, stay_y = x[valid & (k == 0)], y[valid & (k == 0)]
        while True:
            grown = reach.copy()
            grown[stay_x[reach[stay_y]]] = True
            if (grown == reach).all():
                break
            reach = grown
        # a state that can get stuck (reach, with the mid unchanged, a state with no way to a
        # move: one never left in the data included) is not sure either
        unsure = ~reach
        while True:
            grown = unsure.copy()
            grown[stay_x[unsure[stay_y]]] = True
            if (grown == unsure).all():
                break
            unsure = grown
        good = seen & ~unsure
        now = valid & good[x] & good[y]
        if (now == valid).all():
            break
        valid = now
    x, y, k = x[valid], y[valid], k[valid]
    dropped += int((~valid).sum() // (2 if symmetrize else 1))
    if not good.any():
        raise ValueError(f"no state of the {n_states} leads surely to a mid move: nothing to fit")

    moves = np.unique(k[k != 0])
    counts = np.bincount(x, minlength=n_states).astype(np.float64)
    norm = np.where(counts > 0, counts, 1.0)[:, None]
    Q = np.zeros((n_states, n_states))
    T = np.zeros((n_states, n_states))
    R1 = np.zeros((n_states, len(moves)))
    np.add.at(Q, (x[k == 0], y[k == 0]), 1.0)
    np.add.at(T, (x[k != 0], y[k != 0]), 1.0)
    np.add.at(R1, (x[k != 0], np.searchsorted(moves, k[k != 0])), 1.0)
    Q, T, R1 = Q / norm, T / norm, R1 / norm

    idx = np.flatnonzero(good)
    eye = np.eye(len(idx))
    fundamental = eye - Q[np.ix_(idx, idx)]
    half_ticks = moves.astype(np.float64) * 0.5           # K in ticks
    g1_good = np.linalg.solve(fundamental, R1[idx] @ half_ticks)
    B_good = np.linalg.solve(fundamental, T[np.ix_(idx, idx)])
    g = g1_good.copy()
    term = g1_good
    iterations = 0
    while iterations < max_iter:
        term = B_good @ term
        g += term
        iterations += 1
        if np.max(np.abs(term)) < tol:
            break
    else:
        hint = ("fit with symmetrize=True" if not symmetrize else
                "some states form a class whose mid moves drift one way: too few transitions for "
                f"{n_states} states; use fewer buckets or spreads, or more rows")
        raise ValueError(f"the sum of B^i g1 did not converge in {max_iter} iterations (largest term "
                         f"{np.max(np.abs(term)):.3g} ticks): {hint}")
    table = np.full(n_states, np.nan)
    table[idx] = g * tick
    g1 = np.full(n_states, np.nan)
    g1[idx] = g1_good * tick
    return MicropriceModel(tick, n_imbalance, n_spread, table.reshape(n_spread, n_imbalance),
                           g1.reshape(n_spread, n_imbalance), Q, R1, T, moves, counts, len(bid),
                           n_transitions, n_moves, dropped, iterations)
