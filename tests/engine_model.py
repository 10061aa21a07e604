"""A plain-Python reference model of ``lob.MatchingEngine``, written straight from the contract.

Obvious rather than fast. The book is a :class:`ModelBook` (``allow_cross=False``) that
holds what the real ``eng.book`` shows: every order's VISIBLE qty. Beside it the engine
keeps, per resting order, an :class:`_Extra`: its hidden (reserve) qty, its display size
(``None`` for a plain order), its owner (0 = none) and its self-trade-prevention mode.
Every fill goes through ``ModelBook.execute`` on the maker, so the trade-flow signals see
the TAKER as the aggressor and the trade at the maker's price, exactly as the contract says.

A report is a tuple ``(status, filled, remaining, fills, self_trades)``: ``fills`` a list of
``(taker_id, maker_id, price, qty, maker_remaining)`` in execution order, ``self_trades`` a
list of ``(taker_id, maker_id, taker_removed, maker_removed, maker_remaining)``, one per
prevented self-trade, in order.

Semantics (the decided contract, modelled literally):

* Price-time priority. A crossing order trades against the opposite side at each resting
  order's price, best price first, FIFO within a price, until it is filled or no longer
  crosses (a bid crosses while ``best_ask <= limit``, an ask while ``best_bid >= limit``;
  a market order crosses at any price).
* ``tif``: ``"GTC"`` rests the remainder, ``"IOC"`` drops it, ``"FOK"`` is ``"rejected"``
  (nothing changes) unless matching would trade all of ``qty``. ``post_only=True``:
  ``"rejected"`` (nothing changes) if the order would cross the opposite best at all (owners
  do not matter), else it rests. Status: ``"filled"`` only if all of qty traded, else
  ``"partial"`` if anything traded, else ``"resting"`` if something rests, else
  ``"cancelled"``. ``remaining`` = the qty left resting, visible + hidden (0 when none rests).
* ``market(order_id, side, qty, *, owner, stp)``: IOC with an infinite limit.
* Icebergs: ``display_qty=D`` with ``D < qty`` (GTC only) makes an iceberg that keeps D for
  life (``D >= qty``: a plain order, D forgotten). Resting with L left: visible =
  ``min(D, L)``, hidden = ``L - visible``; only the visible part is in the book. A fill that
  takes the whole visible part of an iceberg with hidden > 0 refills it (visible =
  ``min(D, hidden)``, hidden -= visible) at the BACK of its price's queue, same id; the
  taker keeps matching FIFO and may meet the refilled slice again. ``maker_remaining`` =
  visible + hidden after the fill. FOK counts hidden qty as tradable.
* Self-trade prevention: a taker with an owner (not None/0) about to trade with the head of
  the best crossing level, whose owner is the same, does not trade; by the TAKER's mode:
  ``cancel_taker`` (the taker's rest is cancelled, maker stays), ``cancel_maker`` (the maker
  leaves whole, matching goes on), ``cancel_both``, ``decrement`` (d = min(taker left, maker
  total) off both, maker's hidden first, it keeps its place; matching goes on).
  A FOK with an owner counts, for ``cancel_maker``, every other owner's crossing qty; for the
  other modes it stops counting at the first same-owner order in matching order (earlier
  levels in full, visible + hidden; at its level only the visible qty of the orders ahead).
* ``cancel(order_id)`` returns visible + hidden.
* ``modify(order_id, price, qty)`` (qty = new TOTAL): same price and qty <= current total:
  in place, keeps its queue position (visible = ``min(visible, qty)``, hidden = the rest),
  report ``("resting", 0, qty, [], [])``. Otherwise the order leaves its queue; if the new
  price crosses the opposite best it trades as a GTC taker (own id, D, owner, stp mode) and
  the rest rests at the back of the queue at the new price (an iceberg stays one).
* ``order(order_id)`` -> ``(side, price, visible, hidden, display_qty or None, owner or None)``.

Validation, everything before any state changes (a call that raises changes nothing):

1. type / range of each integer argument in argument order (``TypeError`` for a
   non-integer, floats included; ``OverflowError`` for an order id or owner outside
   ``[0, 2**64)`` or a price / qty / display_qty outside int64); display_qty and owner
   only unless None;
2. ``ValueError``: side not 0/1, then qty <= 0, then tif not one of GTC/IOC/FOK (anything
   else, a non-str such as ``None`` or ``b"GTC"`` included, and case matters), then
   post_only with IOC/FOK, then display_qty < 1, then display_qty with IOC/FOK, then stp
   not one of the four modes (a non-str included);
3. ``lob.DuplicateOrderError`` (submit, market: the id is resting) /
   ``lob.UnknownOrderError`` (cancel, modify, order: the id is not resting).

Set ``ModelEngine.selfcheck = True`` (the default) to have every FOK decision checked
against a trial run of the matching loop on a copy of the model (the counting rule above
must agree with "what matching would trade").
"""

from __future__ import annotations

import copy
import math

import lob

try:
    from book_model import ASK, BID, ModelBook, _check_qty_positive, _check_side, _i64, _oid, _side_type
except ImportError:  # tests/ imported as a package
    from tests.book_model import ASK, BID, ModelBook, _check_qty_positive, _check_side, _i64, _oid, _side_type

__all__ = ["ModelEngine", "TIFS", "STP_MODES"]

TIFS = ("GTC", "IOC", "FOK")
STP_MODES = ("cancel_taker", "cancel_maker", "cancel_both", "decrement")


def _merge_passes(passes):
    """The fill rows of one level: the complete passes after the first summed
    per maker (in the order of the first of them), every other pass as it is."""
    out, merged, order = [], {}, []
    for rows, complete in passes:
        if complete:
            for taker, maker, price, q, left in rows:
                if maker not in merged:
                    order.append(maker)
                    merged[maker] = [taker, maker, price, 0, left]
                merged[maker][3] += q
                merged[maker][4] = left
            continue
        out += [tuple(merged.pop(m)) for m in order if m in merged]
        order = []
        out += rows
    out += [tuple(merged.pop(m)) for m in order if m in merged]
    return out


def _check_stp(stp):
    if not (isinstance(stp, str) and stp in STP_MODES):
        raise ValueError(f"stp must be one of {STP_MODES}, got {stp!r}")


class _Extra:
    """What the engine keeps beside the book for one resting order."""

    __slots__ = ("hidden", "display", "owner", "stp", "partly")

    def __init__(self, hidden, display, owner, stp):
        self.hidden = hidden      # reserve not in the book (0 for a plain order)
        self.display = display    # iceberg slice size, None for a plain order
        self.owner = owner        # 0: none
        self.stp = stp            # the mode it was submitted with (used if it modifies across)
        # the visible slice was partly taken by a fill since it was shown (so visible may be
        # below display while hidden > 0); for the test's invariant only
        self.partly = False

    def __repr__(self):  # pragma: no cover
        return (f"_Extra(hidden={self.hidden}, display={self.display}, owner={self.owner}, "
                f"stp={self.stp!r}, partly={self.partly})")


class ModelEngine:
    """Reference matching engine over a ModelBook (visible qty) plus per-order extras."""

    selfcheck = True

    def __init__(self):
        self.book = ModelBook(allow_cross=False)
        self._extra = {}  # order id -> _Extra, for every resting order

    # ------------------------------------------------------------------ internals
    def _crosses(self, side, limit):
        """Does an order of `side` with `limit` (None = market) trade against the best?"""
        if side == BID:
            best = self.book.best_ask
            return best is not None and (limit is None or best <= limit)
        best = self.book.best_bid
        return best is not None and (limit is None or best >= limit)

    def _crossing_prices(self, side, limit):
        """Opposite prices the order would trade at, best first."""
        other = 1 - side
        prices = [p for p in self.book._levels[other]
                  if limit is None or (p <= limit if side == BID else p >= limit)]
        return sorted(prices, reverse=(other == BID))

    def total(self, oid):
        """visible + hidden of a resting order."""
        return self.book._orders[oid][2] + self._extra[oid].hidden

    def _crossing_qty(self, side, limit, owner=0, stp="cancel_taker"):
        """What an order of `side` / `limit` / `owner` / `stp` could trade (the FOK rule).

        No owner: every crossing order's visible + hidden qty. "cancel_maker": every other
        owner's. Other modes: up to the first order of the same owner in matching order (its
        level: only the visible qty of the orders ahead of it)."""
        other = 1 - side
        total = 0
        for price in self._crossing_prices(side, limit):
            queue = self.book._levels[other][price]
            if owner and stp != "cancel_maker":
                for i, m in enumerate(queue):
                    if self._extra[m].owner == owner:
                        return total + sum(self.book._orders[a][2] for a in queue[:i])
            total += sum(self.total(m) for m in queue if not (owner and self._extra[m].owner == owner))
        return total

    def _drop(self, oid):
        """Take a resting order out of the book and forget it."""
        self.book._remove(oid)
        del self._extra[oid]

    def _match(self, taker, side, limit, qty, owner, stp):
        """Trade `qty` of an incoming order; returns (left, fills, self_trades, stopped).

        `stopped`: STP cancelled the taker's rest (cancel_taker / cancel_both).
        Fills are made one at a time, pass by pass through each level (the first
        pass through the orders resting there, then passes through the refilled
        icebergs); the rows of complete passes after the first are summed per
        maker (one row each, in queue order), as the engine reports them."""
        other = 1 - side
        fills, stps = [], []
        left = qty
        while left > 0 and self._crosses(side, limit):
            best = self.book.best_ask if side == BID else self.book.best_bid
            queue = list(self.book._levels[other][best])
            passes = []                 # fill rows per pass, and whether the pass was complete
            first = True
            while queue and left > 0:
                rows, complete = [], True
                for maker in queue:
                    if left == 0:
                        complete = False
                        break
                    if maker not in self._extra:        # STP took it earlier in this pass
                        continue
                    x = self._extra[maker]
                    visible = self.book._orders[maker][2]
                    if owner and x.owner == owner:
                        total = visible + x.hidden
                        if stp == "cancel_taker":
                            stps.append((taker, maker, left, 0, total))
                            passes.append((rows, False))
                            fills += self._merged(passes)
                            return 0, fills, stps, True
                        if stp == "cancel_both":
                            self._drop(maker)
                            stps.append((taker, maker, left, total, 0))
                            passes.append((rows, False))
                            fills += self._merged(passes)
                            return 0, fills, stps, True
                        if stp == "cancel_maker":
                            self._drop(maker)
                            stps.append((taker, maker, 0, total, 0))
                            continue
                        assert stp == "decrement", stp
                        d = min(left, total)
                        from_hidden = min(d, x.hidden)
                        x.hidden -= from_hidden
                        from_visible = d - from_hidden
                        if from_visible:
                            if self.book.reduce(maker, from_visible) == 0:  # removes it at 0
                                assert x.hidden == 0
                                del self._extra[maker]
                        stps.append((taker, maker, d, d, total - d))
                        left -= d
                        continue
                    q = min(left, visible)
                    if q < visible:
                        complete = False
                    visible_left = self.book.execute(maker, q)  # aggressor = the maker's other side
                    if visible_left == 0:
                        if x.hidden > 0:  # refill at the back of its queue, same id
                            shown = min(x.display, x.hidden)
                            x.hidden -= shown
                            x.partly = False
                            self.book._insert(maker, other, best, shown)
                            maker_left = shown + x.hidden
                        else:
                            del self._extra[maker]
                            maker_left = 0
                    else:
                        x.partly = x.display is not None
                        maker_left = visible_left + x.hidden
                    rows.append((taker, maker, best, q, maker_left))
                    left -= q
                passes.append((rows, complete and not first))
                first = False
                queue = list(self.book._levels[other].get(best, ()))
            fills += self._merged(passes)
        return left, fills, stps, False

    def _merged(self, passes):
        """_merge_passes, with the book's trade count following the rows (one trade a row)."""
        rows = _merge_passes(passes)
        self.book._trade_count -= sum(len(r) for r, _ in passes) - len(rows)
        return rows

    def _trial_fills_in_full(self, oid, side, limit, qty, owner, stp):
        """Run the matching loop on a copy: would it trade all of qty?"""
        trial = copy.deepcopy(self)
        left, fills, _stps, _stopped = trial._match(oid, side, limit, qty, owner, stp)
        return sum(f[3] for f in fills) == qty

    def _run(self, oid, side, limit, qty, tif, post_only, display, owner, stp):
        """The business logic of submit/market/modify once the arguments are valid.

        `limit` None means a market order (infinite limit); `display` None a plain order."""
        if post_only and self._crosses(side, limit):
            return ("rejected", 0, 0, [], [])
        if tif == "FOK":
            ok = self._crossing_qty(side, limit, owner, stp) >= qty
            if self.selfcheck:
                trial = self._trial_fills_in_full(oid, side, limit, qty, owner, stp)
                assert ok == trial, (
                    f"model: the FOK counting rule says {ok}, a trial match says {trial} "
                    f"for {(oid, side, limit, qty, owner, stp)}")
            if not ok:
                return ("rejected", 0, 0, [], [])
        left, fills, stps, stopped = self._match(oid, side, limit, qty, owner, stp)
        filled = sum(f[3] for f in fills)
        rest = 0
        if left > 0 and tif == "GTC" and not stopped:
            assert limit is not None and not self._crosses(side, limit)
            visible = left if display is None else min(display, left)
            self.book.add(oid, side, limit, visible)  # no longer crosses: cannot raise
            self._extra[oid] = _Extra(left - visible, display, owner, stp)
            rest = left
        if filled == qty:
            status = "filled"
        elif filled:
            status = "partial"
        elif rest:
            status = "resting"
        else:
            status = "cancelled"
        return (status, filled, rest, fills, stps)

    # ------------------------------------------------------------------ requests
    def submit(self, order_id, side, price, qty, tif="GTC", post_only=False, *, display_qty=None,
               owner=None, stp="cancel_taker"):
        oid = _oid(order_id)
        side = _side_type(side)
        price = _i64(price, "price")
        qty = _i64(qty, "qty")
        display = None if display_qty is None else _i64(display_qty, "display_qty")
        own = 0 if owner is None else _oid(owner, "owner")
        post_only = bool(post_only)
        _check_side(side)
        _check_qty_positive(qty)
        if tif not in TIFS:
            raise ValueError(f"tif must be one of {TIFS}, got {tif!r}")
        if post_only and tif != "GTC":
            raise ValueError(f"post_only needs tif='GTC', got {tif!r}")
        if display is not None and display < 1:
            raise ValueError(f"display_qty must be >= 1, got {display}")
        if display is not None and tif != "GTC":
            raise ValueError(f"display_qty needs tif='GTC', got {tif!r}")
        _check_stp(stp)
        if oid in self.book._orders:
            raise lob.DuplicateOrderError(oid)
        if display is not None and display >= qty:
            display = None  # not an iceberg: the display is forgotten
        return self._run(oid, side, price, qty, tif, post_only, display, own, stp)

    def market(self, order_id, side, qty, *, owner=None, stp="cancel_taker"):
        oid = _oid(order_id)
        side = _side_type(side)
        qty = _i64(qty, "qty")
        own = 0 if owner is None else _oid(owner, "owner")
        _check_side(side)
        _check_qty_positive(qty)
        _check_stp(stp)
        if oid in self.book._orders:
            raise lob.DuplicateOrderError(oid)
        return self._run(oid, side, None, qty, "IOC", False, None, own, stp)

    def cancel(self, order_id):
        oid = _oid(order_id)
        self.book._lookup(oid)  # UnknownOrderError
        total = self.total(oid)
        self._drop(oid)
        return total

    def modify(self, order_id, price, qty):
        oid = _oid(order_id)
        price = _i64(price, "price")
        qty = _i64(qty, "qty")
        _check_qty_positive(qty)
        order = self.book._lookup(oid)  # UnknownOrderError
        x = self._extra[oid]
        side, old_price, visible = order
        if price == old_price and qty <= visible + x.hidden:
            order[2] = min(visible, qty)  # in place, keeps its queue position
            x.hidden = qty - order[2]
            return ("resting", 0, qty, [], [])
        self._drop(oid)
        # an iceberg stays one (D for life), even when qty <= D now
        return self._run(oid, side, price, qty, "GTC", False, x.display, x.owner, x.stp)

    def order(self, order_id):
        oid = _oid(order_id)
        side, price, visible = self.book._lookup(oid)
        x = self._extra[oid]
        return (side, price, visible, x.hidden, x.display, x.owner or None)

    def __contains__(self, order_id):
        return order_id in self.book

    # ------------------------------------------------------------------ self-check
    def check(self):
        self.book.check()
        bb, ba = self.book.best_bid, self.book.best_ask
        assert bb is None or ba is None or bb < ba, "model engine left the book crossed"
        assert set(self._extra) == set(self.book._orders), "model: extras and book disagree"
        for oid, x in self._extra.items():
            visible = self.book._orders[oid][2]
            assert visible >= 1 and x.hidden >= 0, (oid, visible, x)
            assert x.owner >= 0 and x.stp in STP_MODES, (oid, x)
            if x.display is None:
                assert x.hidden == 0, (oid, x)
            else:
                assert x.display >= 1 and visible <= x.display, (oid, visible, x)
                if x.hidden and not x.partly:
                    assert visible == x.display, (oid, visible, x)


def _demo():  # pragma: no cover - a quick sanity run: python tests/engine_model.py
    e = ModelEngine()
    print(e.submit(1, ASK, 101, 5))
    print(e.submit(2, ASK, 101, 10, display_qty=3, owner=7))
    print(e.submit(3, ASK, 102, 4))
    print(e.submit(4, BID, 102, 10))
    print(e.order(2))
    print(e.market(5, BID, 10, owner=7, stp="decrement"))
    print(e.book.vwap, math.isnan(e.book.vwap))


if __name__ == "__main__":  # pragma: no cover
    _demo()
