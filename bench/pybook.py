"""A plain-Python L3 book: the baseline a Python user would write first.

Dicts for orders and levels, an insertion-ordered dict per level as its FIFO,
and a sorted price list per side kept with bisect.  Reasonably careful, no
C extensions: what lobcore is measured against in the same run.
"""
from bisect import bisect_left, insort
from math import nan


class PyBook:
    def __init__(self):
        self.orders = {}                 # id -> [side, price, qty]
        self.levels = ({}, {})           # side -> {price: {id: None}} (FIFO by insertion)
        self.level_qty = ({}, {})        # side -> {price: total qty}
        self.prices = ([], [])           # side -> sorted prices (ascending)
        self.buy = self.sell = 0

    def add(self, order_id, side, price, qty):
        if order_id in self.orders:
            raise KeyError(order_id)
        self.orders[order_id] = [side, price, qty]
        level = self.levels[side].get(price)
        if level is None:
            level = self.levels[side][price] = {}
            self.level_qty[side][price] = 0
            insort(self.prices[side], price)
        level[order_id] = None
        self.level_qty[side][price] += qty

    def _remove(self, order_id, side, price):
        level = self.levels[side][price]
        del level[order_id]
        if not level:
            del self.levels[side][price]
            del self.level_qty[side][price]
            prices = self.prices[side]
            del prices[bisect_left(prices, price)]
        del self.orders[order_id]

    def cancel(self, order_id):
        side, price, qty = self.orders[order_id]
        self.level_qty[side][price] -= qty
        self._remove(order_id, side, price)
        return qty

    def execute(self, order_id, qty):
        order = self.orders[order_id]
        side, price, resting = order
        if qty > resting:
            raise ValueError(qty)
        if side == 1:
            self.buy += qty
        else:
            self.sell += qty
        self.level_qty[side][price] -= qty
        if qty == resting:
            self._remove(order_id, side, price)
            return 0
        order[2] = resting - qty
        return resting - qty

    def modify(self, order_id, price, qty):
        """Cancel-replace; keeps the queue place only at the same price with qty not growing."""
        order = self.orders[order_id]
        side, old_price, resting = order
        if price == old_price and qty <= resting:
            self.level_qty[side][price] -= resting - qty
            order[2] = qty
            return
        self.cancel(order_id)
        self.add(order_id, side, price, qty)

    def microprice(self):
        bids, asks = self.prices
        if not bids or not asks:
            return nan
        bid, ask = bids[-1], asks[0]
        bq, aq = self.level_qty[0][bid], self.level_qty[1][ask]
        return (bid * aq + ask * bq) / (bq + aq)

    def imbalance(self, levels=1):
        bq = self.level_qty[0]
        aq = self.level_qty[1]
        b = sum(bq[p] for p in self.prices[0][-levels:])
        a = sum(aq[p] for p in self.prices[1][:levels])
        return (b - a) / (b + a) if b + a else nan

    def depth(self, levels=10):
        bids = self.prices[0][::-1][:levels]
        asks = self.prices[1][:levels]
        return (bids, [self.level_qty[0][p] for p in bids], asks, [self.level_qty[1][p] for p in asks])
