"""A plain-Python reference model of ``lob.OrderBook``, written straight from the contract.

Obvious rather than fast: a dict of orders and, per side, a dict ``price -> [ids in FIFO
order]``. Every method validates ALL its arguments before touching any state, so a call
that raises leaves the model exactly as it was.

Validation order (only matters where two different error types could both apply):

1. type / range of each integer argument, in argument order: ``TypeError`` for a
   non-integer (floats included, even ``1.0``), ``OverflowError`` for an order id outside
   ``[0, 2**64)`` or a price/qty outside int64;
2. ``ValueError`` for a side not in (0, 1), then for a qty <= 0 (or a levels < 1);
3. the id look-up: ``lob.DuplicateOrderError`` (add) or ``lob.UnknownOrderError``
   (cancel, reduce, execute, modify, order, queue_ahead);
4. ``ValueError`` for a qty above what rests (reduce, execute);
5. ``lob.CrossedBookError`` (add, modify with ``allow_cross=False``).

Queries validate the same way (level_qty/orders_at: a price out of int64 is an
OverflowError even when the side is also bad). ``x in book`` is False for anything that
is not a valid order id. ``clear()`` (the CLEAR event) drops every order, keeps the flow.

Signals (mid, microprice, imbalance, vwap) are computed with exact Python ints and a
single correctly rounded true division at the end.
"""

from __future__ import annotations

import math
import operator

import lob

__all__ = ["ModelBook"]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1

BID = 0
ASK = 1


def _as_int(value, name, lo, hi):
    """Integer check as a typed C argument does it: __index__ or TypeError, then range."""
    if isinstance(value, float):
        raise TypeError(f"{name} must be an integer, not float")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None
    if not lo <= v <= hi:
        raise OverflowError(f"{name} out of range: {v}")
    return v


def _oid(value, name="order_id"):
    return _as_int(value, name, 0, UINT64_MAX)


def _i64(value, name):
    return _as_int(value, name, INT64_MIN, INT64_MAX)


def _side_type(value, name="side"):
    # Type only: any integer passes here, and one other than 0/1 (however large) is a
    # ValueError raised after every argument's type/range check.
    return _as_int(value, name, -math.inf, math.inf)


def _check_side(side):
    if side not in (BID, ASK):
        raise ValueError(f"side must be 0 (BID) or 1 (ASK), got {side}")


def _check_qty_positive(qty, name="qty"):
    if qty <= 0:
        raise ValueError(f"{name} must be > 0, got {qty}")


class ModelBook:
    """Reference L3 book: price-time priority, no matching."""

    def __init__(self, allow_cross=False):
        self.allow_cross = bool(allow_cross)
        # order_id -> [side, price, qty]
        self._orders = {}
        # per side: price -> list of order ids, FIFO (front = first in queue)
        self._levels = ({}, {})
        self._reset_flow_state()

    # ------------------------------------------------------------------ internals
    def _reset_flow_state(self):
        self._volume_delta = 0
        self._buy_volume = 0
        self._sell_volume = 0
        self._cross_volume = 0
        self._trade_count = 0
        self._notional = 0  # sum(price * qty), exact
        self._traded_qty = 0  # sum(qty), exact
        self._last_trade_price = None
        self._max_abs_trade_price = 0  # for the test's float tolerance only

    def _lookup(self, oid):
        try:
            return self._orders[oid]
        except KeyError:
            raise lob.UnknownOrderError(oid) from None

    def _would_cross(self, side, price):
        if self.allow_cross:
            return False
        if side == BID:
            ba = self.best_ask
            return ba is not None and price >= ba
        bb = self.best_bid
        return bb is not None and price <= bb

    def _check_cross(self, side, price):
        if self._would_cross(side, price):
            raise lob.CrossedBookError(
                f"{'bid' if side == BID else 'ask'} at {price} would lock or cross the book"
            )

    def _insert(self, oid, side, price, qty):
        self._orders[oid] = [side, price, qty]
        self._levels[side].setdefault(price, []).append(oid)

    def _remove(self, oid):
        side, price, _qty = self._orders.pop(oid)
        queue = self._levels[side][price]
        queue.remove(oid)
        if not queue:
            del self._levels[side][price]

    def _record_trade(self, aggressor, price, qty):
        self._trade_count += 1
        if aggressor == BID:
            self._buy_volume += qty
            self._volume_delta += qty
        elif aggressor == ASK:
            self._sell_volume += qty
            self._volume_delta -= qty
        else:                      # 2: no aggressor (an auction cross)
            self._cross_volume += qty
        self._notional += price * qty
        self._traded_qty += qty
        self._last_trade_price = price
        self._max_abs_trade_price = max(self._max_abs_trade_price, abs(price))

    def _level_total(self, side, price):
        return sum(self._orders[i][2] for i in self._levels[side].get(price, ()))

    def _sorted_prices(self, side):
        # best first: bids descending, asks ascending
        return sorted(self._levels[side], reverse=(side == BID))

    # ------------------------------------------------------------------ mutations
    def add(self, order_id, side, price, qty):
        oid = _oid(order_id)
        side = _side_type(side)
        price = _i64(price, "price")
        qty = _i64(qty, "qty")
        _check_side(side)
        _check_qty_positive(qty)
        if oid in self._orders:
            raise lob.DuplicateOrderError(oid)
        self._check_cross(side, price)
        self._insert(oid, side, price, qty)
        return None

    def cancel(self, order_id):
        oid = _oid(order_id)
        qty = self._lookup(oid)[2]
        self._remove(oid)
        return qty

    def _take(self, order_id, qty):
        """Shared validation of reduce/execute; returns (oid, order, qty)."""
        oid = _oid(order_id)
        qty = _i64(qty, "qty")
        _check_qty_positive(qty)
        order = self._lookup(oid)
        if qty > order[2]:
            raise ValueError(f"qty {qty} is above the {order[2]} resting for order {oid}")
        return oid, order, qty

    def reduce(self, order_id, qty):
        oid, order, qty = self._take(order_id, qty)
        left = order[2] - qty
        if left == 0:
            self._remove(oid)
        else:
            order[2] = left
        return left

    def execute(self, order_id, qty):
        oid, order, qty = self._take(order_id, qty)
        side, price = order[0], order[1]
        left = order[2] - qty
        if left == 0:
            self._remove(oid)
        else:
            order[2] = left
        self._record_trade(1 - side, price, qty)
        return left

    def modify(self, order_id, price, qty):
        oid = _oid(order_id)
        price = _i64(price, "price")
        qty = _i64(qty, "qty")
        _check_qty_positive(qty)
        order = self._lookup(oid)
        side, old_price, old_qty = order
        if price == old_price and qty <= old_qty:
            order[2] = qty  # in place, keeps its queue position (equal: no-op)
            return None
        self._check_cross(side, price)
        self._remove(oid)
        self._insert(oid, side, price, qty)
        return None

    def trade(self, side, price, qty):
        side = _side_type(side)
        price = _i64(price, "price")
        qty = _i64(qty, "qty")
        if side not in (0, 1, 2):   # trades also take 2, lob.NO_AGGRESSOR
            raise ValueError(f"side must be 0 (BID), 1 (ASK) or 2 (NO_AGGRESSOR), got {side}")
        _check_qty_positive(qty)
        self._record_trade(side, price, qty)
        return None

    def reset_flow(self):
        self._reset_flow_state()
        return None

    def clear(self):
        """The venue cleared the book: every resting order goes, trade-flow counters stay."""
        self._orders.clear()
        for side_levels in self._levels:
            side_levels.clear()
        return None

    # ------------------------------------------------------------------ top of book
    @property
    def best_bid(self):
        return max(self._levels[BID]) if self._levels[BID] else None

    @property
    def best_ask(self):
        return min(self._levels[ASK]) if self._levels[ASK] else None

    @property
    def best_bid_qty(self):
        bb = self.best_bid
        return 0 if bb is None else self._level_total(BID, bb)

    @property
    def best_ask_qty(self):
        ba = self.best_ask
        return 0 if ba is None else self._level_total(ASK, ba)

    @property
    def spread(self):
        bb, ba = self.best_bid, self.best_ask
        if bb is None or ba is None:
            return None
        return ba - bb

    @property
    def mid(self):
        bb, ba = self.best_bid, self.best_ask
        if bb is None or ba is None:
            return math.nan
        return (bb + ba) / 2

    # ------------------------------------------------------------------ signals
    def microprice(self):
        bb, ba = self.best_bid, self.best_ask
        if bb is None or ba is None:
            return math.nan
        bq, aq = self.best_bid_qty, self.best_ask_qty
        return (bb * aq + ba * bq) / (bq + aq)

    def imbalance(self, levels=1):
        levels = _i64(levels, "levels")
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        b = sum(self._level_total(BID, p) for p in self._sorted_prices(BID)[:levels])
        a = sum(self._level_total(ASK, p) for p in self._sorted_prices(ASK)[:levels])
        if a + b == 0:
            return math.nan
        return (b - a) / (b + a)

    @property
    def volume_delta(self):
        return self._volume_delta

    @property
    def buy_volume(self):
        return self._buy_volume

    @property
    def sell_volume(self):
        return self._sell_volume

    @property
    def cross_volume(self):
        return self._cross_volume

    @property
    def trade_count(self):
        return self._trade_count

    @property
    def vwap(self):
        if self._traded_qty == 0:
            return math.nan
        return self._notional / self._traded_qty

    @property
    def last_trade_price(self):
        return self._last_trade_price

    # ------------------------------------------------------------------ inspection
    def __len__(self):
        return len(self._orders)

    def __contains__(self, order_id):
        # Anything that is not a valid order id (wrong type, out of range) is simply not in.
        try:
            oid = _oid(order_id)
        except (TypeError, OverflowError):
            return False
        return oid in self._orders

    def order(self, order_id):
        oid = _oid(order_id)
        side, price, qty = self._lookup(oid)
        return (side, price, qty)

    def queue_ahead(self, order_id):
        oid = _oid(order_id)
        side, price, _qty = self._lookup(oid)
        ahead = 0
        for other in self._levels[side][price]:
            if other == oid:
                return ahead
            ahead += self._orders[other][2]
        raise AssertionError("model corrupt: order not in its level")  # pragma: no cover

    def level_qty(self, side, price):
        side = _side_type(side)
        price = _i64(price, "price")
        _check_side(side)
        return self._level_total(side, price)

    def level_count(self, side):
        side = _side_type(side)
        _check_side(side)
        return len(self._levels[side])

    def orders_at(self, side, price):
        side = _side_type(side)
        price = _i64(price, "price")
        _check_side(side)
        return list(self._levels[side].get(price, ()))

    def depth(self, levels=10):
        levels = _i64(levels, "levels")
        if levels < 0:
            raise ValueError(f"levels must be >= 0, got {levels}")
        bp = self._sorted_prices(BID)[:levels]
        ap = self._sorted_prices(ASK)[:levels]
        return (
            bp,
            [self._level_total(BID, p) for p in bp],
            ap,
            [self._level_total(ASK, p) for p in ap],
        )

    # ------------------------------------------------------------------ self-check
    def check(self):
        """Internal consistency of the model itself (cheap, for the test)."""
        seen = set()
        for side in (BID, ASK):
            for price, queue in self._levels[side].items():
                assert queue, f"empty level {side}/{price}"
                for oid in queue:
                    assert oid not in seen, f"id {oid} twice"
                    seen.add(oid)
                    assert self._orders[oid][:2] == [side, price]
                    assert self._orders[oid][2] > 0
        assert seen == set(self._orders), "id map and levels disagree"
        if not self.allow_cross and self.best_bid is not None and self.best_ask is not None:
            assert self.best_bid < self.best_ask, "model crossed with allow_cross=False"
