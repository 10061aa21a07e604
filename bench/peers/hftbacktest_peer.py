"""Peer adapter: hftbacktest's market depth (Rust, driven from a numba-compiled loop), for
``bench/compare.py``.

hftbacktest 2.x exposes its depth types (``HashMapMarketDepth``, ``ROIVectorMarketDepth``) to
Python read-only: nothing in its Python API applies an update to a depth object directly.
The only way to feed one is its backtester, which replays an array of its own ``event_dtype``
(64-byte rows) through a *local* processor that owns the depth the strategy reads. So:

* ``prepare`` (untimed) converts the L3 stream to hftbacktest's market-by-order events, one
  row per event: ADD -> ``ADD_ORDER_EVENT`` (id, px, qty), CANCEL and a full EXECUTE ->
  ``CANCEL_ORDER_EVENT`` (id), a partial EXECUTE -> ``MODIFY_ORDER_EVENT`` (id, same px,
  remaining qty), with BUY/SELL flags. The backtester is built with
  ``l3_fifo_queue_model()`` so its local processor is ``L3Local`` over an
  ``L3MarketDepth`` (``HashMapMarketDepth``): the peer tracks the orders itself, as lobcore
  does. Prices are floats with tick 1.0 and lot 1.0, so the integer prices and quantities of
  the stream round-trip exactly (``best_bid_tick`` is the integer price).
  With ``LOB_HFTBT_ROUTE=l2`` it instead feeds the equivalent L2 level updates
  (``DEPTH_EVENT``, new level total, 0 deletes) to the L2 ``Local`` processor.
* Rows carry only ``LOCAL_EVENT``: the backtester also runs a simulated exchange with its own
  copy of the book (for filling the strategy's own orders); no order is ever sent here, so
  rows are not given ``EXCH_EVENT`` and that second book is not maintained. (With
  ``EXCH_EVENT | LOCAL_EVENT`` the L3 exchange processor's bookkeeping costs several
  times the depth itself.) Latencies are 0 and local_ts = exch_ts = the event's ts.
* ``run(signals=False)`` builds a fresh backtester and replays the whole array inside Rust
  (``_goto_end``, the call hftbacktest's own ``create_last_snapshot`` uses).
  ``run(signals=True)`` steps one event at a time from an ``@njit`` loop
  (``wait_next_feed``; timestamps are strictly increasing, so each call applies exactly one
  event) and reads ``best_bid_tick``, ``best_ask_tick``, ``best_bid_qty``, ``best_ask_qty``
  after every event, computing microprice and imbalance in the loop.
  Both include building and closing the backtester (~0.1 ms, i.e. under 1 ns/event at 200k).
  numba compilation and the library's one-off initialisation happen in ``prepare``.
"""

import os

ROUTE = os.environ.get("LOB_HFTBT_ROUTE", "l3").lower()
if ROUTE not in ("l3", "l2"):
    raise ValueError(f"LOB_HFTBT_ROUTE must be l3 or l2, not {ROUTE!r}")

NAME = ("hftbacktest HashMapMarketDepth (Rust, L3 MBO via backtester, numba loop)"
        if ROUTE == "l3" else
        "hftbacktest HashMapMarketDepth (Rust, L2 via backtester, numba loop)")
REQUIRES = ["hftbacktest==2.4.4", "numba==0.68.1"]

_ADD, _CANCEL, _EXECUTE = 1, 3, 4
_TIMEOUT = 1 << 62
_jit = None


def version() -> str:
    import hftbacktest

    return hftbacktest.__version__


def _compile():
    """The numba loops (compiled on first call; prepare warms them up)."""
    global _jit
    if _jit is not None:
        return _jit
    import numpy as np
    from numba import njit

    @njit(cache=False)
    def goto_end(hbt):
        return hbt._goto_end()

    @njit(cache=False)
    def signals(hbt):
        depth = hbt.depth(0)
        n = 0
        acc_px = 0
        acc_micro = 0.0
        acc_imb = 0.0
        while True:
            r = hbt.wait_next_feed(False, _TIMEOUT)
            if r != 2 and r != 1:
                return -1, acc_px, acc_micro, acc_imb
            n += 1
            bt = depth.best_bid_tick
            at = depth.best_ask_tick
            bq = depth.best_bid_qty
            aq = depth.best_ask_qty
            if bq > 0.0 and aq > 0.0:
                acc_px += bt + at
                d = bq + aq
                acc_micro += (bt * aq + at * bq) / d
                acc_imb += (bq - aq) / d
            if r == 1:
                return n, acc_px, acc_micro, acc_imb

    @njit(cache=False)
    def tob(hbt, out):
        depth = hbt.depth(0)
        n = 0
        lim = out.shape[0]
        while n < lim:
            r = hbt.wait_next_feed(False, _TIMEOUT)
            if r != 2 and r != 1:
                return -1
            bq = depth.best_bid_qty
            aq = depth.best_ask_qty
            if bq > 0.0:
                out[n, 0] = depth.best_bid_tick
                out[n, 1] = np.int64(bq)
            if aq > 0.0:
                out[n, 2] = depth.best_ask_tick
                out[n, 3] = np.int64(aq)
            n += 1
            if r == 1:
                break
        return n

    _jit = (goto_end, signals, tob)
    return _jit


def _backtest(data):
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest

    asset = (
        BacktestAsset()
        .data(data)
        .linear_asset(1.0)
        .constant_order_latency(0, 0)
        .tick_size(1.0)
        .lot_size(1.0)
        .no_partial_fill_exchange()
    )
    asset = asset.l3_fifo_queue_model() if ROUTE == "l3" else asset.risk_adverse_queue_model()
    return HashMapMarketDepthBacktest([asset])


def _convert(events):
    import numpy as np
    from hftbacktest import (
        ADD_ORDER_EVENT, BUY_EVENT, CANCEL_ORDER_EVENT, DEPTH_EVENT, LOCAL_EVENT,
        MODIFY_ORDER_EVENT, SELL_EVENT,
    )
    from hftbacktest.binding import event_dtype

    n = len(events)
    kind = events["kind"].tolist()
    side = events["side"].tolist()
    oid = events["order_id"].tolist()
    price = events["price"].tolist()
    qty = events["qty"].tolist()
    ev = np.empty(n, np.uint64)
    px = np.empty(n, np.float64)
    q = np.empty(n, np.float64)
    sflag = (BUY_EVENT, SELL_EVENT)
    orders = {}                    # id -> [side, price, remaining]
    levels = ({}, {})              # L2 route: price -> total
    l3 = ROUTE == "l3"
    for i in range(n):
        k = kind[i]
        if k == _ADD:
            s, p, rem = side[i], price[i], qty[i]
            orders[oid[i]] = [s, p, rem]
            code, newq, delta = ADD_ORDER_EVENT, rem, rem
        elif k == _CANCEL or k == _EXECUTE:
            o = orders[oid[i]]
            s, p, rem = o
            dq = rem if k == _CANCEL else qty[i]
            if dq > rem:
                raise ValueError(f"event {i}: execute {dq} > resting {rem}")
            if dq == rem:
                del orders[oid[i]]
                code, newq = CANCEL_ORDER_EVENT, 0
            else:
                o[2] = rem - dq
                code, newq = MODIFY_ORDER_EVENT, rem - dq
            delta = -dq
        else:
            raise ValueError(f"event {i}: kind {k} not supported by this adapter")
        if l3:
            ev[i] = code | sflag[s] | LOCAL_EVENT
            q[i] = newq
        else:
            lv = levels[s]
            tot = lv.get(p, 0) + delta
            if tot:
                lv[p] = tot
            else:
                del lv[p]
            ev[i] = DEPTH_EVENT | sflag[s] | LOCAL_EVENT
            q[i] = tot
        px[i] = p
    ts = events["ts"].astype(np.int64)
    if n > 1 and not (np.diff(ts) > 0).all():
        ts = np.arange(1, n + 1, dtype=np.int64)   # one event per wait_next_feed step
    out = np.zeros(n, event_dtype)
    out["ev"] = ev
    out["exch_ts"] = ts
    out["local_ts"] = ts
    out["px"] = px
    out["qty"] = q
    if l3:
        out["order_id"] = events["order_id"]
    return out


def prepare(events):
    data = _convert(events)
    goto_end, signals, tob = _compile()
    import numpy as np

    # warm-up (untimed): numba compilation and the library's first-build initialisation
    small = data[: min(len(data), 1000)].copy()
    for fn in (goto_end, signals):
        hbt = _backtest(small)
        fn(hbt)
        hbt.close()
    hbt = _backtest(small)
    tob(hbt, np.zeros((1, 4), np.int64))
    hbt.close()
    return data


def run(prepared, signals: bool):
    goto_end, sig, _ = _compile()
    hbt = _backtest(prepared)
    if signals:
        res = sig(hbt)
        if res[0] != len(prepared):
            raise RuntimeError(f"hftbacktest stepped {res[0]} events of {len(prepared)}")
    else:
        res = goto_end(hbt)
        if res not in (0, 1):
            raise RuntimeError(f"hftbacktest goto_end returned {res}")
    hbt.close()
    return res


def top_of_book(prepared, n) -> list:
    import numpy as np

    _, _, tob = _compile()
    n = min(n, len(prepared))
    out = np.zeros((n, 4), np.int64)
    hbt = _backtest(prepared)
    got = tob(hbt, out)
    hbt.close()
    if got != n:
        raise RuntimeError(f"hftbacktest stepped {got} events, expected {n}")
    return [tuple(int(x) for x in row) for row in out]
