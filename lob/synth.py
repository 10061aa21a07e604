"""lob.synth: deterministic, seeded synthetic L3 event streams.

For demos, tests and benchmarks that must run without downloading data.
"""
import numpy as np

from lob._synth import generate_into
from lob.dtypes import EVENT_DTYPE
from lob.io.itch import write_itch  # the writers live beside their readers in lob.io; these names stay
from lob.io.lobster import write_lobster

__all__ = ["generate", "orders", "write_lobster", "write_itch"]


_INT64 = 2**63


def _check_ranges(n, start_price, tick, lot, start_ts, mean_gap_ns, first_id):
    """Every price, qty, volume, ts and id the stream can reach fits its type:
    refuse the parameters up front (ValueError naming the field) instead of
    wrapping int64."""
    # the mid drifts a tick per event at most; adds land up to 100,100 ticks
    # beyond it (a far order), one more tick from the opposite touch
    reach = (n + 100_102) * tick
    if not (-_INT64 <= start_price - reach and start_price + reach < _INT64):
        raise ValueError(f"start_price={start_price} with tick={tick} over {n} events can pass int64: prices "
                         f"reach start_price +- {reach}")
    # qty is at most 61 lots; all of it could trade
    if n * lot * 61 >= _INT64:
        raise ValueError(f"lot={lot} over {n} events can take a volume past int64 (qty up to 61 lots)")
    # each gap is at most 2 * mean_gap_ns + 1
    if start_ts + n * (2 * int(mean_gap_ns) + 2) >= _INT64 or start_ts < -_INT64:
        raise ValueError(f"start_ts={start_ts} with mean_gap_ns={mean_gap_ns} over {n} events can pass int64")
    if not 0 <= first_id or first_id + n >= 2**64:
        raise ValueError(f"first_id={first_id} with {n} events must keep ids in [0, 2**64)")


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
    for name, value in (("mean_depth", mean_depth), ("mean_gap_ns", mean_gap_ns)):
        if not 0.0 <= value <= 1e15:   # also refuses nan and inf
            raise ValueError(f"{name} must be in [0, 1e15], got {value!r}")
    _check_ranges(n, int(start_price), int(tick), int(lot), int(start_ts), float(mean_gap_ns), int(first_id))
    out = np.zeros(n, dtype=EVENT_DTYPE)
    generate_into(out, int(seed) & 0xFFFFFFFFFFFFFFFF, int(start_price), int(tick), int(lot),
                  int(target_orders), float(p_execute), float(p_reduce), float(p_modify),
                  float(p_trade), float(p_far), float(mean_depth), float(p_drift),
                  int(start_ts), float(mean_gap_ns), int(first_id))
    return out


def orders(n_orders, seed=0, *, start_price=10_000, p_cross=0.33, p_cancel=0.2, p_modify=0.05,
           p_market=0.03, p_ioc=0.1, p_fok=0.05, p_post_only=0.05, target_resting=2_000,
           p_iceberg=0.0, n_owners=0):
    """A realistic mixed request flow for MatchingEngine.submit_many, as an
    array of lob.ORDER_DTYPE: passive limits near a drifting mid, about a
    third of the limits crossing several levels (several fills each), market
    orders, IOC / FOK / post-only limits, cancels and modifies of resting
    orders.  Generated against a MatchingEngine so every cancel and modify
    names an order that rests at that moment; seeded and deterministic.

    p_iceberg: fraction of GTC limits that are icebergs (display_qty a
    quarter to a half of qty).  n_owners: when > 0, every new order gets an
    owner in 1..n_owners and a random stp mode, so self-trade prevention
    fires.  Both default off, which leaves the default flow unchanged."""
    from lob import STP_MODES, MatchingEngine
    from lob.dtypes import ORDER_DTYPE

    rng = np.random.default_rng(seed)
    eng = MatchingEngine()
    book = eng.book
    out = np.zeros(int(n_orders), dtype=ORDER_DTYPE)
    resting = []                  # ids that may rest; pruned as they leave
    mid = start_price
    next_id = 1
    u = rng.random((int(n_orders), 6))
    # a stream of its own, so turning these on leaves the rest of the flow as it was
    extras = np.random.default_rng([seed, 1]).random((int(n_orders), 3)) if (p_iceberg or n_owners) else None
    for i in range(int(n_orders)):
        mid += int(rng.integers(-1, 2)) if u[i, 0] < 0.05 else 0
        r = u[i, 1]
        while resting and resting[-1] not in book:
            resting.pop()
        if r < p_cancel and len(resting) > target_resting // 4:
            j = int(u[i, 2] * len(resting))
            oid = resting[j]
            if oid in book:
                out[i] = (i, 3, 0, 0, 0, oid, 0, 0, 0, 0, 0)
                eng.cancel(oid)
                resting[j] = resting[-1]
                resting.pop()
                continue
        if p_cancel <= r < p_cancel + p_modify and resting:
            oid = resting[int(u[i, 2] * len(resting))]
            if oid in book:
                side, price, qty = book.order(oid)
                price += int(rng.integers(-2, 3))
                qty = max(1, qty + int(rng.integers(-qty // 2, qty // 2 + 1)))
                out[i] = (i, 4, side, 0, 0, oid, price, qty, 0, 0, 0)
                eng.modify(oid, price, qty)
                continue
        side = int(u[i, 3] < 0.5)
        qty = int(rng.integers(1, 10)) * 100
        oid = next_id
        next_id += 1
        owner, stp = 0, 0
        if n_owners:
            owner = 1 + int(extras[i, 0] * n_owners)
            stp = int(extras[i, 1] * 4)
        if r > 1 - p_market:
            out[i] = (i, 2, side, 1, 0, oid, 0, qty, 0, owner, stp)
            eng.market(oid, side, qty, owner=owner, stp=STP_MODES[stp])
            continue
        cross = u[i, 4] < p_cross
        depth = int(rng.geometric(0.3))
        price = (mid + depth if side == 0 else mid - depth) if cross else (mid - depth if side == 0 else mid + depth)
        t = u[i, 5]
        tif, flags = (1, 0) if t < p_ioc else (2, 0) if t < p_ioc + p_fok else (0, 0)
        if tif == 0 and not cross and t > 1 - p_post_only:
            flags = 1
        display = 0
        if tif == 0 and extras is not None and extras[i, 2] < p_iceberg:
            display = max(1, qty // int(2 + 2 * extras[i, 0]))
        out[i] = (i, 1, side, tif, flags, oid, price, qty, display, owner, stp)
        rep = eng.submit(oid, side, price, qty, tif=("GTC", "IOC", "FOK")[tif], post_only=bool(flags),
                         display_qty=display or None, owner=owner, stp=STP_MODES[stp])
        if rep.remaining:
            resting.append(oid)
    return out
