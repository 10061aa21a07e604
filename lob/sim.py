"""Execution simulation on replayed L3 data: lob.Simulator's records, parent
orders run as "market", "passive" or "slices" (lob.sim.execute), and the
value-recovery arithmetic (lob.sim.value_recovery).

    import lob, lob.sim
    report = lob.sim.execute(events, lob.BID, 500, start=t0, horizon_ns=60_000_000_000,
                             strategy="passive", latency_ns=500_000)
    report.slippage_bps, report.maker_share, report.markout_bps

Prices are the stream's integers; ts and durations are ns.  Slippage and
markouts are in basis points, positive where the contract says (slippage:
a cost; markout: good for the order).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Union

import numpy as np
import numpy.typing as npt

from lob._book import OrderBook
from lob._sim import STATUSES, Simulator

__all__ = ["Simulator", "SimFill", "SimOrder", "SIM_ORDER_DTYPE", "STATUSES", "STRATEGIES", "MARKOUT_S",
           "ExecutionReport", "execute", "ValueRecovery", "value_recovery", "side_code"]

#: The parent-order strategies of execute().
STRATEGIES = ("market", "passive", "slices")
#: Markout horizons of an ExecutionReport, in seconds.
MARKOUT_S = (1, 10, 60)
_NS = 1_000_000_000

#: One own order of Simulator.orders(): status indexes lob.sim.STATUSES;
#: ts_arrival / ts_end are INT64_MIN until reached.  Packed.
SIM_ORDER_DTYPE = np.dtype([
    ("order_id", "<u8"), ("side", "i1"), ("price", "<i8"), ("qty", "<i8"), ("filled", "<i8"),
    ("cancelled", "<i8"), ("resting", "<i8"), ("status", "u1"), ("market", "?"), ("ts_submit", "<i8"),
    ("ts_arrival", "<i8"), ("ts_end", "<i8"),
])


class SimFill(NamedTuple):
    """One own fill, as on_fill(sim, fill) receives it (a row of
    lob.SIM_FILL_DTYPE): ts (venue time, ns), order_id (own), side, price,
    qty, liquidity (0 maker, 1 taker), queue_ahead (qty ahead of the own
    order when it filled as maker, else 0), mid (just before the fill)."""

    ts: int
    order_id: int
    side: int
    price: int
    qty: int
    liquidity: int
    queue_ahead: int
    mid: float


class SimOrder(NamedTuple):
    """Simulator.order(oid): side, price (None for a market order), qty
    (sent), filled, status ("pending", "resting", "filled", "cancelled",
    "rejected"), arrival_ts (None while pending), sent_ts, end_ts (None
    while pending or resting), resting (qty in the book now), cancelled (qty
    that neither traded nor rests), tif ("GTC", "IOC", "FOK" or "MARKET"),
    post_only.  Once arrived: filled + resting + cancelled == qty."""

    side: int
    price: Optional[int]
    qty: int
    filled: int
    status: str
    arrival_ts: Optional[int]
    sent_ts: int
    end_ts: Optional[int]
    resting: int
    cancelled: int
    tif: str
    post_only: bool


def side_code(side: Union[int, str]) -> int:
    """lob.BID (0) for 0 / "buy" / "bid", lob.ASK (1) for 1 / "sell" / "ask"."""
    if isinstance(side, str):
        named = {"buy": 0, "bid": 0, "sell": 1, "ask": 1}.get(side.lower())
        if named is None:
            raise ValueError(f"side must be 'buy' or 'sell' (or 0 / 1), got {side!r}")
        return named
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or int(side) not in (0, 1):
        raise ValueError(f"side must be 0 (BID, buy) or 1 (ASK, sell), got {side!r}")
    return int(side)


@dataclass(frozen=True)
class ExecutionReport:
    """What a parent order did (lob.sim.execute).

    filled: qty traded; avg_price: their VWAP (price units; nan if none);
    arrival_mid / arrival_spread: the book's mid and spread at `start`;
    slippage_bps: (avg_price - arrival_mid) / arrival_mid * 1e4, sign
    flipped for a sell (positive is a cost); spread_captured: 1 -
    (avg_price - arrival_mid) / (arrival_spread / 2), sign-adjusted for a
    sell (0 when it paid the half-spread, as a market order at the touch
    does; 2 when it earned it, as a passive fill at the touch does);
    maker_share: maker qty / filled; fills: the own fills
    (lob.SIM_FILL_DTYPE); markout_bps: {1: bps, 10: bps, 60: bps}, the mid
    that many seconds after the last fill against avg_price (positive is
    good for the order; nan when the stream ends before then or nothing
    filled); end_ts: the last fill's ts (None if none); orders: the own
    orders sent (lob.sim.SIM_ORDER_DTYPE); reconciled / rejected: as the
    Simulator counted them.
    """

    strategy: str
    side: int
    qty: int
    start: int
    horizon_ns: int
    latency_ns: int
    filled: int
    avg_price: float
    arrival_mid: float
    arrival_spread: int
    slippage_bps: float
    spread_captured: float
    maker_share: float
    markout_bps: dict[int, float]
    end_ts: Optional[int]
    fills: npt.NDArray[np.void] = field(repr=False)
    orders: npt.NDArray[np.void] = field(repr=False)
    reconciled: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def as_dict(self, price_scale: float = 1.0) -> dict[str, Any]:
        """The report as JSON-ready values (nan as None); prices divided by
        `price_scale` (the stream's integer units per instrument unit)."""
        def num(x: float) -> Optional[float]:
            return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)

        value = float((self.fills["qty"] * self.fills["price"].astype(np.float64)).sum()) / price_scale
        return {
            "strategy": self.strategy, "side": "buy" if self.side == 0 else "sell", "qty": self.qty,
            "start": self.start, "horizon_ns": self.horizon_ns, "latency_ns": self.latency_ns,
            "filled": self.filled, "avg_price": num(self.avg_price / price_scale),
            "arrival_mid": num(self.arrival_mid / price_scale),
            "arrival_spread": num(self.arrival_spread / price_scale),
            "slippage_bps": num(self.slippage_bps), "spread_captured": num(self.spread_captured),
            "maker_share": num(self.maker_share), "fills": int(len(self.fills)),
            "avg_fill_value": num(value / len(self.fills)) if len(self.fills) else None,
            "markout_bps": {str(h): num(v) for h, v in self.markout_bps.items()},
            "end_ts": self.end_ts, "reconciled": self.reconciled, "rejected": dict(self.rejected),
            "price_scale": price_scale,
        }


class _Parent:
    """The driver of one parent order on a Simulator: it tracks the filled
    qty and stops the replay once the parent is complete."""

    def __init__(self, sim: Simulator, side: int, qty: int) -> None:
        self.sim, self.side, self.qty = sim, side, qty
        self.filled = 0

    def on_fill(self, sim: Simulator, fill: SimFill) -> None:
        self.filled += fill.qty
        if self.filled >= self.qty:
            sim.stop()

    @property
    def done(self) -> bool:
        return self.filled >= self.qty

    def run(self, until: int) -> None:
        if not self.done:
            self.sim.run(until, on_fill=self.on_fill)

    def own_best(self) -> Optional[int]:
        book = self.sim.book
        return book.best_bid if self.side == 0 else book.best_ask

    def cancel_then(self, oid: Optional[int], t: int) -> int:
        """Cancel `oid` at t and wait for it to arrive; returns when (the
        time the unfilled rest is known)."""
        if oid is None or self.done:
            return t
        self.sim.cancel(oid, ts=t)
        self.sim.run(t + self.sim.latency_ns, on_fill=self.on_fill)
        return t + self.sim.latency_ns

    def sweep(self, t: int) -> None:
        """Send what is unfilled as a market order at t and let it arrive."""
        if self.done:
            return
        self.sim.market(self.side, self.qty - self.filled, ts=t)
        self.sim.run(t + self.sim.latency_ns, on_fill=self.on_fill)


def execute(events: npt.NDArray[np.void], side: Union[int, str], qty: int, *, start: int, horizon_ns: int,
            strategy: str, slices: int = 10, latency_ns: int = 0, book: Optional[OrderBook] = None,
            ) -> ExecutionReport:
    """Run a parent order of `qty` on `side` (lob.BID / "buy", lob.ASK /
    "sell") over a replay of `events` (lob.EVENT_DTYPE) and report it.

    start: ts (ns) the parent begins at (the book then is the feed after
    every event with ts <= start).  horizon_ns: how long it may work.
    strategy: "market" (one market order sent at start), "passive" (a limit
    at the own side's best at start, for all of qty; the rest as a market
    order at start + horizon_ns) or "slices" (`slices` equal children, one
    every horizon_ns / slices, each a limit at the own side's best when it
    is sent; an unfilled child is cancelled and its rest rolls into the
    next; the rest goes as a market order at the end).  latency_ns: every
    own action's (lob.Simulator).  book: the book to replay into (a copy is
    used; default one fitting the stream, see lob.Simulator).

    Where the contract is silent: a child is cancelled first and the next
    child (or the final market order) is sent when that cancel arrives, so
    no order can fill what another already did (with latency, each child
    after the first goes out latency_ns after its slot); when the own side
    of the book is empty at a child's time the child is not sent and its qty
    rolls on; the parent stops sending once all of qty filled.  The
    markouts look at the mid 1, 10 and 60 s after the last fill.
    ValueError when the book has no mid at start.
    """
    side = side_code(side)
    if isinstance(qty, bool) or not isinstance(qty, (int, np.integer)) or qty <= 0:
        raise ValueError(f"qty must be an int > 0, got {qty!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if isinstance(slices, bool) or not isinstance(slices, (int, np.integer)) or slices < 1:
        raise ValueError(f"slices must be an int >= 1, got {slices!r}")
    for name, value in (("start", start), ("horizon_ns", horizon_ns), ("latency_ns", latency_ns)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int of ns, got {value!r}")
    if horizon_ns < 0 or latency_ns < 0:
        raise ValueError(f"horizon_ns and latency_ns must be >= 0, got {horizon_ns} and {latency_ns}")
    qty, start, horizon_ns, latency_ns = int(qty), int(start), int(horizon_ns), int(latency_ns)
    sim = Simulator(events, book=copy.deepcopy(book) if book is not None else None, latency_ns=latency_ns)
    sim.run(start)
    arrival = sim.book
    if arrival.best_bid is None or arrival.best_ask is None:
        raise ValueError(f"no two-sided book at start={start} (best bid {arrival.best_bid}, best ask "
                         f"{arrival.best_ask}): nothing to measure slippage against")
    arrival_mid, arrival_spread = arrival.mid, int(arrival.best_ask) - int(arrival.best_bid)
    parent = _Parent(sim, side, qty)
    end = start + horizon_ns
    if strategy == "market":
        parent.sweep(start)
    elif strategy == "passive":
        price = parent.own_best()
        oid = sim.submit(side, price, qty, ts=start) if price is not None else None
        parent.run(end)
        parent.sweep(parent.cancel_then(oid, end))
    else:
        base, extra = divmod(qty, slices)
        step = horizon_ns // slices
        child: Optional[int] = None
        carry = 0
        for i in range(slices):
            t = start + i * step
            parent.run(t)
            if parent.done:
                break
            if child is not None:
                t = parent.cancel_then(child, t)
                carry = sim.order(child).qty - sim.order(child).filled
                child = None
                if parent.done:
                    break
            want = base + (1 if i < extra else 0) + carry
            price = parent.own_best()
            if want > 0 and price is not None:
                child = sim.submit(side, price, want, ts=t)
                carry = 0
            else:
                carry = want
        parent.run(end)
        parent.sweep(parent.cancel_then(child, max(end, sim.now or end)))
    return _report(sim, strategy, side, qty, start, horizon_ns, latency_ns, arrival_mid, arrival_spread)


def _report(sim: Simulator, strategy: str, side: int, qty: int, start: int, horizon_ns: int, latency_ns: int,
            arrival_mid: float, arrival_spread: int) -> ExecutionReport:
    fills = sim.fills
    filled = int(fills["qty"].sum())
    sign = 1.0 if side == 0 else -1.0
    nan = float("nan")
    if filled:
        avg = float((fills["qty"] * fills["price"].astype(np.float64)).sum()) / filled
        slippage = sign * (avg - arrival_mid) / arrival_mid * 1e4
        captured = 1.0 - sign * (avg - arrival_mid) / (arrival_spread / 2) if arrival_spread else nan
        maker = float(fills["qty"][fills["liquidity"] == 0].sum()) / filled
        end_ts: Optional[int] = int(fills["ts"].max())
    else:
        avg = slippage = captured = maker = nan
        end_ts = None
    markouts: dict[int, float] = {}
    last = sim.last_ts if sim.last_ts is not None else -1
    for seconds in MARKOUT_S:
        if end_ts is None or end_ts + seconds * _NS > last:
            markouts[seconds] = nan
            continue
        sim.run(end_ts + seconds * _NS)
        mid = sim.book.mid
        markouts[seconds] = sign * (mid - avg) / avg * 1e4 if avg else nan
    return ExecutionReport(strategy, side, qty, start, horizon_ns, latency_ns, filled, avg, arrival_mid,
                           arrival_spread, slippage, captured, maker, markouts, end_ts, fills, sim.orders(),
                           sim.reconciled, sim.rejected)


class ValueRecovery(NamedTuple):
    """value_recovery(): USD recovered by trading `bps` better on
    `monthly_volume` USD a month: monthly (volume x bps / 1e4), annual
    (monthly x 12) and per_fill (fill_value x bps / 1e4; None without a
    fill value), with the inputs."""

    monthly_volume: float
    bps: float
    monthly: float
    annual: float
    per_fill: Optional[float]
    fill_value: Optional[float]


def value_recovery(monthly_volume: float, bps: float, *, fill_value: Optional[float] = None) -> ValueRecovery:
    """The value-recovery calculator: trading `bps` basis points better on
    `monthly_volume` USD a month recovers monthly_volume x 12 x bps / 10,000
    USD a year (monthly_volume x bps / 10,000 a month; fill_value x bps /
    10,000 a fill of `fill_value` USD).  ValueError for a negative or
    non-finite volume or fill value, or a non-finite bps."""
    for name, value in (("monthly_volume", monthly_volume), ("bps", bps), ("fill_value", fill_value)):
        if value is None and name == "fill_value":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if monthly_volume < 0 or (fill_value is not None and fill_value < 0):
        raise ValueError("monthly_volume and fill_value must be >= 0")
    monthly = float(monthly_volume) * float(bps) / 10_000
    per_fill = float(fill_value) * float(bps) / 10_000 if fill_value is not None else None
    return ValueRecovery(float(monthly_volume), float(bps), monthly, monthly * 12, per_fill,
                         None if fill_value is None else float(fill_value))


def markouts_for_plot(reports: dict[str, ExecutionReport]) -> dict[str, list[tuple[float, float]]]:
    """{strategy: [(horizon_s, bps), ...]} for lob.plot.session(markouts=...)."""
    return {name: [(float(h), v) for h, v in r.markout_bps.items() if not math.isnan(v)]
            for name, r in reports.items()}
