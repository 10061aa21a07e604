"""A plain-Python reference model of ``lob.MatchingEngine``, written straight from the contract.

Obvious rather than fast. The book is a :class:`ModelBook` (``allow_cross=False``); every
fill goes through ``ModelBook.execute`` on the maker, so the trade-flow signals see the
TAKER as the aggressor and the trade at the maker's price, exactly as the contract says.

A report is a tuple ``(status, filled, remaining, fills)`` where ``fills`` is a list of
``(taker_id, maker_id, price, qty, maker_remaining)`` tuples in execution order.

Semantics (the decided contract, modelled literally):

* Price-time priority. A crossing order trades against the opposite side at each resting
  order's price, best price first, FIFO within a price, until it is filled or no longer
  crosses (a bid crosses while ``best_ask <= limit``, an ask while ``best_bid >= limit``;
  a market order crosses at any price).
* ``tif``: ``"GTC"`` rests the remainder (status ``"partial"`` if something traded, else
  ``"resting"``); ``"IOC"`` drops it (``"partial"`` / ``"cancelled"``); ``"FOK"`` is
  ``"rejected"`` with nothing traded and the book unchanged when the qty that crosses up to
  the limit is below ``qty``, else it fills in full. ``"filled"`` whenever all of ``qty``
  traded. ``post_only=True``: ``"rejected"`` (nothing changes) if the order would trade at
  all, else it rests. ``remaining`` is the qty left resting (0 when none rests).
* ``market(order_id, side, qty)``: IOC with an infinite limit.
* ``cancel(order_id)`` returns the qty that was resting.
* ``modify(order_id, price, qty)``: cancel-replace. Same price and qty not growing: in place,
  keeps its queue position, report ``("resting", 0, qty, [])``. Otherwise the order leaves
  its queue; if the new price crosses the opposite best it trades as a GTC taker (its own id
  as taker id) and the rest rests at the back of the queue at the new price.

Validation, everything before any state changes (a call that raises changes nothing):

1. type / range of each integer argument in argument order (``TypeError`` for a
   non-integer, floats included; ``OverflowError`` for an order id outside ``[0, 2**64)``
   or a price / qty outside int64);
2. ``ValueError``: side not 0/1, then qty <= 0, then tif not one of GTC/IOC/FOK (anything
   else, a non-str such as ``None`` or ``b"GTC"`` included, and case matters), then
   post_only with IOC/FOK;
3. ``lob.DuplicateOrderError`` (submit, market: the id is resting) /
   ``lob.UnknownOrderError`` (cancel, modify: the id is not resting).
"""

from __future__ import annotations

import math

import lob

try:
    from book_model import ASK, BID, ModelBook, _check_qty_positive, _check_side, _i64, _oid, _side_type
except ImportError:  # tests/ imported as a package
    from tests.book_model import ASK, BID, ModelBook, _check_qty_positive, _check_side, _i64, _oid, _side_type

__all__ = ["ModelEngine", "TIFS"]

TIFS = ("GTC", "IOC", "FOK")


class ModelEngine:
    """Reference matching engine over a ModelBook."""

    def __init__(self):
        self.book = ModelBook(allow_cross=False)

    # ------------------------------------------------------------------ internals
    def _crosses(self, side, limit):
        """Does an order of `side` with `limit` (None = market) trade against the best?"""
        if side == BID:
            best = self.book.best_ask
            return best is not None and (limit is None or best <= limit)
        best = self.book.best_bid
        return best is not None and (limit is None or best >= limit)

    def _crossing_qty(self, side, limit):
        """Total opposite qty at prices the order would trade at."""
        other = 1 - side
        total = 0
        for price, queue in self.book._levels[other].items():
            if limit is None or (price <= limit if side == BID else price >= limit):
                total += sum(self.book._orders[i][2] for i in queue)
        return total

    def _match(self, taker, side, limit, qty):
        """Trade `qty` of an incoming order against the book; returns (left, fills)."""
        other = 1 - side
        fills = []
        left = qty
        while left > 0 and self._crosses(side, limit):
            best = self.book.best_ask if side == BID else self.book.best_bid
            maker = self.book._levels[other][best][0]  # front of the queue
            maker_qty = self.book._orders[maker][2]
            q = min(left, maker_qty)
            maker_left = self.book.execute(maker, q)  # aggressor = 1 - ASK/BID of maker = side
            fills.append((taker, maker, best, q, maker_left))
            left -= q
        return left, fills

    def _run(self, oid, side, limit, qty, tif, post_only):
        """The business logic of submit/market once the arguments are valid.

        `limit` None means a market order (infinite limit)."""
        if post_only and self._crosses(side, limit):
            return ("rejected", 0, 0, [])
        if tif == "FOK" and self._crossing_qty(side, limit) < qty:
            return ("rejected", 0, 0, [])
        left, fills = self._match(oid, side, limit, qty)
        filled = qty - left
        if left == 0:
            return ("filled", filled, 0, fills)
        if tif == "GTC":
            self.book.add(oid, side, limit, left)  # no longer crosses: cannot raise
            return ("partial" if filled else "resting", filled, left, fills)
        # IOC (and market): the rest is dropped. FOK never gets here.
        return ("partial" if filled else "cancelled", filled, 0, fills)

    # ------------------------------------------------------------------ requests
    def submit(self, order_id, side, price, qty, tif="GTC", post_only=False):
        oid = _oid(order_id)
        side = _side_type(side)
        price = _i64(price, "price")
        qty = _i64(qty, "qty")
        post_only = bool(post_only)
        _check_side(side)
        _check_qty_positive(qty)
        if tif not in TIFS:
            raise ValueError(f"tif must be one of {TIFS}, got {tif!r}")
        if post_only and tif != "GTC":
            raise ValueError(f"post_only needs tif='GTC', got {tif!r}")
        if oid in self.book._orders:
            raise lob.DuplicateOrderError(oid)
        return self._run(oid, side, price, qty, tif, post_only)

    def market(self, order_id, side, qty):
        oid = _oid(order_id)
        side = _side_type(side)
        qty = _i64(qty, "qty")
        _check_side(side)
        _check_qty_positive(qty)
        if oid in self.book._orders:
            raise lob.DuplicateOrderError(oid)
        return self._run(oid, side, None, qty, "IOC", False)

    def cancel(self, order_id):
        return self.book.cancel(order_id)

    def modify(self, order_id, price, qty):
        oid = _oid(order_id)
        price = _i64(price, "price")
        qty = _i64(qty, "qty")
        _check_qty_positive(qty)
        order = self.book._lookup(oid)  # UnknownOrderError
        side, old_price, old_qty = order
        if price == old_price and qty <= old_qty:
            order[2] = qty  # in place, keeps its queue position
            return ("resting", 0, qty, [])
        self.book._remove(oid)
        return self._run(oid, side, price, qty, "GTC", False)

    # ------------------------------------------------------------------ self-check
    def check(self):
        self.book.check()
        bb, ba = self.book.best_bid, self.book.best_ask
        assert bb is None or ba is None or bb < ba, "model engine left the book crossed"


def _demo():  # pragma: no cover - a quick sanity run: python tests/engine_model.py
    e = ModelEngine()
    print(e.submit(1, ASK, 101, 5))
    print(e.submit(2, ASK, 101, 3))
    print(e.submit(3, ASK, 102, 4))
    print(e.submit(4, BID, 102, 10))
    print(e.market(5, BID, 10))
    print(e.book.vwap, math.isnan(e.book.vwap))


if __name__ == "__main__":  # pragma: no cover
    _demo()
