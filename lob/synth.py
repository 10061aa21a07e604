"""lob.synth: deterministic, seeded synthetic L3 event streams.

For demos, tests and benchmarks that must run without downloading data.
"""
import numpy as np

from lob._synth import generate_into
from lob.dtypes import EVENT_DTYPE

__all__ = ["generate"]


def generate(
    n_events: int,
    seed: int = 0,
    *,
    start_price: int = 1_000_000,
    tick: int = 1,
    lot: int = 100,
    target_orders: int = 18_000,
    p_execute: float = 0.12,
    p_reduce: float = 0.0,
    p_modify: float = 0.0,
    p_trade: float = 0.0,
    p_far: float = 0.005,
    mean_depth: float = 12.0,
    p_drift: float = 0.01,
    start_ts: int = 34_200_000_000_000,
    mean_gap_ns: float = 20_000.0,
    first_id: int = 1,
) -> np.ndarray:
    """A realistic order-by-order event stream as an array of lob.EVENT_DTYPE.

    Adds cluster near a drifting mid (distance from it geometric with mean
    `mean_depth` ticks; a fraction `p_far` lands 100 to 20,100 ticks away),
    cancels pick a uniformly random resting order, executions take the head of
    the queue at the touch (80% in full), and a feedback on the add rate holds
    the book near `target_orders` resting orders.  With the defaults the mix is
    about 49% adds, 39% cancels and 12% executions, the shape of a liquid
    NASDAQ stock.  Nothing ever crosses, every cancel and execution names a
    resting order, and the same arguments give the same array on every
    platform.

    n_events: rows to generate.
    seed: any int; the stream is a pure function of it and the parameters.
    start_price, tick: prices in integer units, `tick` units apart.
    lot: round-lot size (shares); quantities are mostly 1 to ~6 lots.
    p_execute: probability of an execution (per event).
    p_reduce, p_modify, p_trade: probabilities of a partial cancel, a
        cancel-replace (new price and qty) and a hidden trade print among
        the remaining non-add, non-execute events (the rest are cancels).
    p_drift: per-event probability that the mid moves one tick.
    start_ts, mean_gap_ns: timestamps in ns (default 09:30 as ns after
        midnight) and the mean gap between events (uniform in [1, 2*mean]).
    first_id: order ids are first_id, first_id + 1, ... in add order.
    """
    n = int(n_events)
    if n < 0:
        raise ValueError(f"n_events must be >= 0, got {n_events!r}")
    if int(tick) < 1:
        raise ValueError(f"tick must be >= 1, got {tick!r}")
    if int(lot) < 1:
        raise ValueError(f"lot must be >= 1, got {lot!r}")
    if int(target_orders) < 1:
        raise ValueError(f"target_orders must be >= 1, got {target_orders!r}")
    for name, p in (("p_execute", p_execute), ("p_reduce", p_reduce), ("p_modify", p_modify),
                    ("p_trade", p_trade), ("p_far", p_far), ("p_drift", p_drift)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {p!r}")
    if p_reduce + p_modify + p_trade > 1.0:
        raise ValueError("p_reduce + p_modify + p_trade must be <= 1")
    if mean_depth < 0 or mean_gap_ns < 0:
        raise ValueError("mean_depth and mean_gap_ns must be >= 0")
    out = np.zeros(n, dtype=EVENT_DTYPE)
    generate_into(out, int(seed) & 0xFFFFFFFFFFFFFFFF, int(start_price), int(tick), int(lot),
                  int(target_orders), float(p_execute), float(p_reduce), float(p_modify),
                  float(p_trade), float(p_far), float(mean_depth), float(p_drift),
                  int(start_ts), float(mean_gap_ns), int(first_id))
    return out
