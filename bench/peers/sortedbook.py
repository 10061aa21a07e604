"""Peer: a plain-Python L3 book on sortedcontainers.

Orders in a dict (id -> [side, price, qty]); per side a SortedDict
price -> [level total, FIFO dict of id -> order] (a dict keeps insertion
order, so it is the level's queue).  Best prices come from the SortedDict
ends: the bids' last key, the asks' first.
"""
from importlib.metadata import version as _dist_version

from sortedcontainers import SortedDict

NAME = "plain Python (sortedcontainers)"
REQUIRES = ["sortedcontainers==2.4.0"]

ADD, REDUCE, CANCEL, EXECUTE = 1, 2, 3, 4


def version():
    return _dist_version("sortedcontainers")


class SortedBook:
    __slots__ = ("orders", "sides")

    def __init__(self):
        self.orders = {}
        self.sides = (SortedDict(), SortedDict())   # BID, ASK: price -> [total, {id: order}]

    def add(self, order_id, side, price, qty):
        order = [side, price, qty]
        self.orders[order_id] = order
        level = self.sides[side].get(price)
        if level is None:
            self.sides[side][price] = [qty, {order_id: order}]
        else:
            level[0] += qty
            level[1][order_id] = order

    def cancel(self, order_id):
        side, price, qty = self.orders.pop(order_id)
        levels = self.sides[side]
        level = levels[price]
        if len(level[1]) == 1:
            del levels[price]
        else:
            level[0] -= qty
            del level[1][order_id]
        return qty

    def execute(self, order_id, qty):
        """Trade (or reduce) `qty` of a resting order; it goes when nothing is left."""
        order = self.orders[order_id]
        left = order[2] - qty
        if left < 0:
            raise ValueError(f"order {order_id}: {qty} above the {order[2]} resting")
        if left == 0:
            self.cancel(order_id)
            return 0
        order[2] = left
        self.sides[order[0]][order[1]][0] -= qty
        return left

    def top(self):
        """(best_bid, best_bid_qty, best_ask, best_ask_qty), 0, 0 for an empty side."""
        bids, asks = self.sides
        bid, bid_qty = bids.peekitem(-1) if bids else (0, [0])
        ask, ask_qty = asks.peekitem(0) if asks else (0, [0])
        return bid, bid_qty[0], ask, ask_qty[0]


def prepare(events):
    """(kind, side, order_id, price, qty) tuples of Python ints."""
    kinds = set(events["kind"].tolist())
    if not kinds <= {ADD, REDUCE, CANCEL, EXECUTE}:
        raise ValueError(f"event kinds {sorted(kinds - {ADD, REDUCE, CANCEL, EXECUTE})} not supported")
    return list(zip(events["kind"].tolist(), events["side"].tolist(), events["order_id"].tolist(),
                    events["price"].tolist(), events["qty"].tolist()))


def run(prepared, signals):
    book = SortedBook()
    add, cancel, execute = book.add, book.cancel, book.execute
    if not signals:
        for kind, side, order_id, price, qty in prepared:
            if kind == ADD:
                add(order_id, side, price, qty)
            elif kind == CANCEL:
                cancel(order_id)
            else:
                execute(order_id, qty)
        return book
    bids, asks = book.sides
    micro_sum = imbalance_sum = 0.0
    for kind, side, order_id, price, qty in prepared:
        if kind == ADD:
            add(order_id, side, price, qty)
        elif kind == CANCEL:
            cancel(order_id)
        else:
            execute(order_id, qty)
        if bids and asks:
            bid, bid_level = bids.peekitem(-1)
            ask, ask_level = asks.peekitem(0)
            bid_qty = bid_level[0]
            ask_qty = ask_level[0]
            total = bid_qty + ask_qty
            micro_sum += (bid * ask_qty + ask * bid_qty) / total   # microprice
            imbalance_sum += (bid_qty - ask_qty) / total           # top-level imbalance
        elif bids or asks:
            imbalance_sum += 1.0 if bids else -1.0                 # microprice undefined (nan)
    return book, micro_sum, imbalance_sum


def top_of_book(prepared, n):
    book = SortedBook()
    rows = []
    for kind, side, order_id, price, qty in prepared[:n]:
        if kind == ADD:
            book.add(order_id, side, price, qty)
        elif kind == CANCEL:
            book.cancel(order_id)
        else:
            book.execute(order_id, qty)
        rows.append(book.top())
    return rows
