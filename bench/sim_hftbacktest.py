"""hftbacktest's L3 backtest (L3FIFOQueueModel, no partial fills) driven with
the same own orders as a lob.Simulator run, for bench/test_sim_peer.py.  Runs in
bench/.venv-peers (bench/peers/venv.py builds it with hftbacktest):

    python bench/sim_hftbacktest.py EVENTS.npy ACTIONS.npy LATENCY_NS OUT.json

EVENTS.npy: a lob.EVENT_DTYPE stream of ADD, CANCEL and EXECUTE events.
ACTIONS.npy: int64 rows (ts, kind 0 submit / 1 cancel, order_id, side 0 bid /
1 ask, price, qty), in time order.  The stream becomes hftbacktest's
market-by-order events (EXCH_EVENT | LOCAL_EVENT, tick 1, lot 1): ADD ->
ADD_ORDER_EVENT; CANCEL -> CANCEL_ORDER_EVENT; EXECUTE -> FILL_EVENT of the
order, then CANCEL_ORDER_EVENT when it is gone or MODIFY_ORDER_EVENT to what
is left (the way hftbacktest's Databento conversion writes a CME fill).
Orders go in as GTC limits with a constant entry latency of LATENCY_NS and
no response latency; a cancel is sent only while the order is cancellable
there.  OUT.json: {"seconds": the timed run (backtest built, every action
and event processed), "orders": [[order_id, status, exec_qty, exch_ts,
maker], ...]} (status: hftbacktest's, 3 FILLED, 4 CANCELED).
"""
import json
import sys
import time

import numpy as np
from hftbacktest.order import GTC, LIMIT
from numba import njit

ADD, CANCEL, EXECUTE = 1, 3, 4


def convert(events):
    from hftbacktest import (ADD_ORDER_EVENT, BUY_EVENT, CANCEL_ORDER_EVENT, EXCH_EVENT, FILL_EVENT, LOCAL_EVENT,
                             MODIFY_ORDER_EVENT, SELL_EVENT)
    from hftbacktest.binding import event_dtype

    flags = EXCH_EVENT | LOCAL_EVENT
    side_flag = (BUY_EVENT, SELL_EVENT)
    orders = {}
    rows = []
    for ts, kind, side, oid, price, qty in events.tolist():
        if kind == ADD:
            orders[oid] = [side, price, qty]
            rows.append((flags | ADD_ORDER_EVENT | side_flag[side], ts, oid, price, qty))
        elif kind == CANCEL:
            side, price, _ = orders.pop(oid)
            rows.append((flags | CANCEL_ORDER_EVENT | side_flag[side], ts, oid, price, 0))
        elif kind == EXECUTE:
            side, price, left = orders[oid]
            rows.append((flags | FILL_EVENT | side_flag[side], ts, oid, price, qty))
            if qty >= left:
                del orders[oid]
                rows.append((flags | CANCEL_ORDER_EVENT | side_flag[side], ts, oid, price, 0))
            else:
                orders[oid][2] = left - qty
                rows.append((flags | MODIFY_ORDER_EVENT | side_flag[side], ts, oid, price, left - qty))
        else:
            raise ValueError(f"kind {kind}: the comparison stream holds ADD, CANCEL and EXECUTE only")
    out = np.zeros(len(rows), event_dtype)
    table = np.array(rows, dtype=[("ev", "u8"), ("ts", "i8"), ("oid", "u8"), ("px", "f8"), ("qty", "f8")])
    out["ev"], out["exch_ts"], out["local_ts"] = table["ev"], table["ts"], table["ts"]
    out["order_id"], out["px"], out["qty"] = table["oid"], table["px"], table["qty"]
    return out


def backtest(data, latency):
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest

    asset = (BacktestAsset().data(data).linear_asset(1.0).constant_order_latency(latency, 0).tick_size(1.0)
             .lot_size(1.0).no_partial_fill_exchange().l3_fifo_queue_model())
    return HashMapMarketDepthBacktest([asset])


@njit(cache=False)        # hftbacktest's ctypes pointers: numba cannot cache it (~1 min to compile)
def drive(hbt, actions, out):
    """Every action at its ts, then the rest of the stream; the orders into out."""
    hbt.wait_next_feed(False, 1)          # the clock starts at the first event
    for k in range(actions.shape[0]):
        ts = actions[k, 0]
        now = hbt.current_timestamp
        if ts > now:
            if hbt.elapse(ts - now) != 0:
                break
        oid = np.uint64(actions[k, 2])
        if actions[k, 1] == 0:
            if actions[k, 3] == 0:
                hbt.submit_buy_order(0, oid, float(actions[k, 4]), float(actions[k, 5]), GTC, LIMIT, False)
            else:
                hbt.submit_sell_order(0, oid, float(actions[k, 4]), float(actions[k, 5]), GTC, LIMIT, False)
        else:
            order = hbt.orders(0).get(oid)
            if order is not None and order.cancellable:
                hbt.cancel(0, oid, False)
    while hbt.elapse(1_000_000_000) == 0:
        pass
    values = hbt.orders(0).values()
    n = 0
    while values.has_next():
        order = values.get()
        out[n, 0] = order.order_id
        out[n, 1] = order.status
        out[n, 2] = order.exec_qty
        out[n, 3] = order.exch_timestamp
        out[n, 4] = 1 if order.arr[0].maker else 0
        n += 1
    return n


def main():
    events = np.load(sys.argv[1])
    actions = np.load(sys.argv[2]).astype(np.int64)
    latency = int(sys.argv[3])
    data = convert(events)
    # warm-up (untimed): numba compilation and the library's first build
    small = actions[:2].copy()
    small[:, 0] = data["exch_ts"][min(10, len(data) - 1)]
    hbt = backtest(data[: min(len(data), 2000)].copy(), latency)
    drive(hbt, small, np.zeros((4, 5), np.float64))
    hbt.close()
    out = np.zeros((len(actions) + 1, 5), np.float64)
    start = time.perf_counter()
    hbt = backtest(data, latency)
    n = drive(hbt, actions, out)
    hbt.close()
    seconds = time.perf_counter() - start
    rows = [[int(r[0]), int(r[1]), float(r[2]), int(r[3]), int(r[4])] for r in out[:n]]
    with open(sys.argv[4], "w") as f:
        json.dump({"seconds": seconds, "events": int(len(data)), "orders": rows}, f)


if __name__ == "__main__":
    main()
