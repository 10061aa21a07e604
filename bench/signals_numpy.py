"""The issue 11 signals computed the way a user would without them: NumPy over the feature
rows of ``OrderBook.apply(events, depth=M)`` and the event array.

The baseline for the speedup of the C signals (``apply(events, signals=True)``), in the
same run (bench/test_signals_numpy.py), and correct: bench/test_signals_numpy.py compares it
with the plain-Python model of tests/signals_model.py. Like a user's code, it assumes a
clean stream: every event applies (a refused event would still count here as a trade or a
clock move) and no reset_flow() in the middle.

Each signal follows the contract (API.md, "Time" and "Signals"):
  clock        running max of the events' ts (from 0);
  ofi_levels   Cont-Kukanov-Stoikov e(n) at levels 1..M from consecutive rows (the row
               before the first event: an empty book, or `initial`), 0 for ANON events,
               summed; ofi is column 0;
  trades       EXECUTE (aggressor: the other side of the event's side, price from the event)
               and TRADE (its side; NO_AGGRESSOR counts in the VWAP only);
  trade_imbalance, volume_delta_ewm (the decay recursion in chunks short enough that
               2**(t/h) cannot overflow), rolling_vwap over (clock - W, clock] (cumulative
               sums and a search), vwap_deviation_bps from the rows' mid;
  run_levels / run_qty (row fields: 0 on rows that are not sided trades), sweeps;
  absorbed_bid / absorbed_ask (segments between changes of the best price).
"""
from __future__ import annotations

import numpy as np

import lob

__all__ = ["numpy_signals"]


def _level_arrays(rows, m, initial):
    """(bid price, bid qty, ask price, ask qty) of levels 1..m before (prev) and after each
    row, float prices with the empty level at -inf / +inf."""
    bp = rows["bid_price"][:, :m].astype(np.float64)
    bq = rows["bid_qty"][:, :m]
    ap = rows["ask_price"][:, :m].astype(np.float64)
    aq = rows["ask_qty"][:, :m]
    bp[bq == 0] = -np.inf
    ap[aq == 0] = np.inf
    if initial is None:
        first = (np.full(m, -np.inf), np.zeros(m, np.int64), np.full(m, np.inf), np.zeros(m, np.int64))
    else:
        first = _level_arrays(initial.reshape(1), m, None)[4:]
        first = tuple(x[0] for x in first)
    prev = tuple(np.concatenate([f[None, :], x[:-1]]) for f, x in zip(first, (bp, bq, ap, aq)))
    return prev + (bp, bq, ap, aq)


def _ewm(times, signed, halflife):
    """sum_j signed_j * 2**(-(times_i - times_j)/h) for each i (times nondecreasing)."""
    out = np.empty(len(times))
    if len(times) == 0:
        return out
    carry, carry_t = 0.0, times[0]
    # chunks where (t - t_chunk_start)/h stays below 512: 2**(+-512) neither overflows nor loses the sum
    chunk_id = np.floor((times - times[0]) / (512.0 * halflife)).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, chunk_id[1:] != chunk_id[:-1]])
    ends = np.r_[starts[1:], len(times)]
    for lo, hi in zip(starts.tolist(), ends.tolist()):
        t0 = times[lo]
        e = (times[lo:hi] - t0) / halflife
        decay = np.exp2(-e)
        carry_decay = np.exp2(-(t0 - carry_t) / halflife)
        out[lo:hi] = carry * carry_decay * decay + decay * np.cumsum(signed[lo:hi] * np.exp2(e))
        carry, carry_t = out[hi - 1], times[hi - 1]
    return out


def numpy_signals(events, rows, *, ofi_levels=5, vwap_window_ns=0, halflife_ns=0, initial=None):
    """Every per-event signal of the contract from `rows` = apply(events, depth >= ofi_levels)
    and `events`; returns {name: array of len(events)}. `initial`: the feature row of the
    book before the first event (a seeded book), None for an empty one."""
    n = len(events)
    kind = events["kind"]
    side = events["side"].astype(np.int64)
    price = events["price"]
    qty = events["qty"]
    clock = np.maximum.accumulate(np.maximum(events["ts"], 0)) if n else np.zeros(0, np.int64)

    # order-flow imbalance, levels 1..M
    b0, B0, a0, A0, b1, B1, a1, A1 = _level_arrays(rows, ofi_levels, initial)
    e = (np.where(b1 >= b0, B1, 0) - np.where(b1 <= b0, B0, 0)
         - np.where(a1 <= a0, A1, 0) + np.where(a1 >= a0, A0, 0))
    e[kind == lob.ANON] = 0
    ofi = np.cumsum(e, axis=0)

    # trades
    is_exec = kind == lob.EXECUTE
    is_trade = is_exec | (kind == lob.TRADE)
    aggressor = np.where(is_exec, 1 - side, side)
    sided = is_trade & (aggressor <= 1)
    signed = np.where(sided, np.where(aggressor == lob.BID, qty, -qty), 0)
    buy = np.cumsum(np.where(sided & (aggressor == lob.BID), qty, 0))
    sell = np.cumsum(np.where(sided & (aggressor == lob.ASK), qty, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        trade_imbalance = (buy - sell) / (buy + sell)
    if halflife_ns == 0:
        volume_delta_ewm = np.cumsum(signed).astype(np.float64)
    else:
        volume_delta_ewm = _ewm(clock.astype(np.float64), signed.astype(np.float64), float(halflife_ns))

    # rolling VWAP over (clock - W, clock]
    tq = np.where(is_trade, qty, 0)
    notional = np.cumsum(np.where(is_trade, price * qty, 0))
    volume = np.cumsum(tq)
    if vwap_window_ns == 0:
        num, den = notional, volume
    else:
        trade_idx = np.flatnonzero(is_trade)
        trade_clock = clock[trade_idx]
        first = np.searchsorted(trade_clock, clock - vwap_window_ns, side="right")   # first trade inside
        before = np.where(first > 0, trade_idx[np.maximum(first, 1) - 1], -1)     # event of the last one out
        out_notional = np.where(before >= 0, notional[np.maximum(before, 0)], 0)
        out_volume = np.where(before >= 0, volume[np.maximum(before, 0)], 0)
        num, den = notional - out_notional, volume - out_volume
    with np.errstate(invalid="ignore", divide="ignore"):
        rolling_vwap = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        empty = (rows["best_bid_qty"] == 0) | (rows["best_ask_qty"] == 0)
        mid = (rows["best_bid"].astype(np.float64) + rows["best_ask"].astype(np.float64)) * 0.5
        deviation = np.where(empty | (rolling_vwap == 0), np.nan, (mid - rolling_vwap) / rolling_vwap * 1e4)

    # aggressor runs: sided trades with the same clock and side, in order
    t_idx = np.flatnonzero(sided)
    run_levels = np.zeros(n, np.int32)
    run_qty = np.zeros(n, np.int64)
    sweeps = np.zeros(n, np.int64)
    if len(t_idx):
        t_clock, t_side, t_price, t_qty = clock[t_idx], aggressor[t_idx], price[t_idx], qty[t_idx]
        new_run = np.r_[True, (t_clock[1:] != t_clock[:-1]) | (t_side[1:] != t_side[:-1])]
        run = np.cumsum(new_run) - 1
        run_start = np.flatnonzero(new_run)
        q = np.cumsum(t_qty)
        run_qty[t_idx] = q - np.r_[0, q][run_start[run]]
        # a price counts when it first appears in its run
        order = np.lexsort((np.arange(len(t_idx)), t_price, run))
        first_seen = np.r_[True, (run[order][1:] != run[order][:-1]) | (t_price[order][1:] != t_price[order][:-1])]
        fresh = np.zeros(len(t_idx), np.int64)
        fresh[order] = first_seen
        c = np.cumsum(fresh)
        levels = c - np.r_[0, c][run_start[run]]
        run_levels[t_idx] = levels
        became_sweep = np.zeros(n, np.int64)
        became_sweep[t_idx] = (levels == 2) & (fresh == 1)
        sweeps = np.cumsum(became_sweep)

    # absorption: traded against a side at its best price (the row before), since that price became best
    absorbed = {}
    for book_side, best, best_qty, hit_by in ((lob.BID, "best_bid", "best_bid_qty", lob.ASK),
                                              (lob.ASK, "best_ask", "best_ask_qty", lob.BID)):
        now = np.where(rows[best_qty] > 0, rows[best], np.iinfo(np.int64).min)
        if initial is None:
            start = np.iinfo(np.int64).min
        else:
            start = initial[best] if initial[best_qty] > 0 else np.iinfo(np.int64).min
        prev = np.r_[start, now[:-1]]
        hit = sided & (aggressor == hit_by) & (price == prev) & (prev != np.iinfo(np.int64).min)
        x = np.cumsum(np.where(hit, qty, 0))
        changed = now != prev
        last_change = np.maximum.accumulate(np.where(changed, np.arange(n), -1)) if n else np.zeros(0, np.int64)
        absorbed[book_side] = x - np.where(last_change >= 0, x[np.maximum(last_change, 0)], 0)

    out = {
        "clock": clock, "ofi": ofi[:, 0], "ofi_levels": ofi, "trade_imbalance": trade_imbalance,
        "volume_delta_ewm": volume_delta_ewm, "rolling_vwap": rolling_vwap, "vwap_deviation_bps": deviation,
        "run_levels": run_levels, "run_qty": run_qty, "sweeps": sweeps,
        "absorbed_bid": absorbed[lob.BID], "absorbed_ask": absorbed[lob.ASK],
    }
    return out
