"""A plain-Python price-time matcher: the baseline of the engine benchmarks.

Sorted price lists per side (bisect), a deque per level, a dict of orders:
what a careful Python user writes first.  GTC / IOC / FOK / post only,
market, cancel; modify as cancel + resubmit.
"""
from bisect import bisect_left, insort
from collections import deque


class PyMatcher:
    def __init__(self):
        self.orders = {}                       # id -> [side, price, qty]
        self.levels = ({}, {})                 # side -> {price: deque of ids}
        self.prices = ([], [])                 # side -> sorted prices

    def _best(self, side):
        prices = self.prices[side]
        return (prices[-1] if side == 0 else prices[0]) if prices else None

    def _crosses(self, side, price):
        best = self._best(1 - side)
        return best is not None and (price is None or (best <= price if side == 0 else best >= price))

    def _available(self, side, price, want):
        opp, total = 1 - side, 0
        prices = self.prices[opp] if opp == 1 else reversed(self.prices[opp])
        for p in prices:
            if price is not None and (p > price if side == 0 else p < price):
                break
            total += sum(self.orders[i][2] for i in self.levels[opp][p])
            if total >= want:
                break
        return total

    def _remove_level(self, side, price):
        del self.levels[side][price]
        prices = self.prices[side]
        del prices[bisect_left(prices, price)]

    def submit(self, order_id, side, price, qty, tif="GTC", post_only=False, market=False):
        if order_id in self.orders:
            raise KeyError(order_id)
        limit = None if market else price
        crossing = self._crosses(side, limit)
        if post_only and crossing:
            return "rejected", 0, 0, []
        if tif == "FOK" and self._available(side, limit, qty) < qty:
            return "rejected", 0, 0, []
        fills, left, opp = [], qty, 1 - side
        while left and self._crosses(side, limit):
            best = self._best(opp)
            queue = self.levels[opp][best]
            while left and queue:
                maker = queue[0]
                order = self.orders[maker]
                fill = min(left, order[2])
                order[2] -= fill
                left -= fill
                fills.append((order_id, maker, best, fill, order[2]))
                if order[2] == 0:
                    queue.popleft()
                    del self.orders[maker]
            if not queue:
                self._remove_level(opp, best)
        if left and tif == "GTC" and not market:
            self.orders[order_id] = [side, price, left]
            level = self.levels[side].get(price)
            if level is None:
                level = self.levels[side][price] = deque()
                insort(self.prices[side], price)
            level.append(order_id)
            return ("partial" if fills else "resting"), qty - left, left, fills
        return ("filled" if not left else "partial" if fills else "cancelled"), qty - left, 0, fills

    def market(self, order_id, side, qty):
        return self.submit(order_id, side, 0, qty, tif="IOC", market=True)

    def cancel(self, order_id):
        side, price, qty = self.orders.pop(order_id)
        queue = self.levels[side][price]
        queue.remove(order_id)
        if not queue:
            self._remove_level(side, price)
        return qty

    def modify(self, order_id, price, qty):
        side = self.orders[order_id][0]
        self.cancel(order_id)
        return self.submit(order_id, side, price, qty)
