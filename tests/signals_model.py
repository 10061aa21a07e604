"""A plain-Python reference of the book's clock and micro-signals, straight from the contract.

Sections "Time" and "Signals" of the API contract (../shared/spec/API.md), written to be
obvious rather than fast: every signal is recomputed from its definition when it is read
(OFI is the one running sum, since its definition is a sum over events). It is built on the
plain-Python book of tests/book_model.py, extended with the anonymous (id-less) qty that
seeding (``from_depth``, ``seed``, ``set_anonymous``, the ANON event) puts ahead of known
orders, and driven by the same events as the C book: ADD 1, REDUCE 2, CANCEL 3, EXECUTE 4,
TRADE 5 (side = aggressor, 2 = NO_AGGRESSOR), MODIFY 6, CLEAR 7, ANON 8.

The rules, as the contract and the lead's decisions give them (``docs/signals.md`` explains each):

* Clock: ``ts`` is the latest event time seen, 0 before any; an event older than the clock
  leaves it where it is; an event's time is the clock after it. A call without ``ts=``
  happens at the clock. A refused event (it raises, or a batch skips it) changes nothing,
  the clock included. ``reset_flow()`` does not touch the clock (time is not flow).
* Seeding is state, not flow: ``from_depth``, ``seed``, ``set_anonymous`` and ANON events add
  0 to OFI, and the next event's "before" is the book after them. Every other accepted event
  is flow (CLEAR included; a CANCEL / REDUCE / EXECUTE of an unknown id drawn from the
  anonymous qty too).
* OFI (Cont, Kukanov, Stoikov 2014) per event, at level m = 1..M with b, B, a, A the m-th best
  occupied bid / ask price and its qty (empty: bid -inf qty 0, ask +inf qty 0):
  ``[b1 >= b0]*B1 - [b1 <= b0]*B0 - [a1 <= a0]*A1 + [a1 >= a0]*A0``.
* Trades: EXECUTE (aggressor: the other side of the resting order, anonymous qty included),
  TRADE (its side), engine fills (the taker). NO_AGGRESSOR trades count in the VWAPs only.
* Runs: consecutive sided trades with the same time and aggressor side (non-trade events,
  NO_AGGRESSOR trades included, may stand between); every engine taker starts its own run;
  ``reset_flow()`` ends the run (the next trade starts a new one).
* Absorption: the qty traded against a side at its best price (the best before the trade's
  event) since that price became the best; 0 again whenever the best price changes or the
  side empties, checked after every accepted event.

Integers are exact Python ints; each float is one correctly rounded division of exact ints
where the contract's formula allows it (trade imbalance, VWAPs, absorption), and follows the
formula's own operation order elsewhere (VWAP deviation). The time-decayed volume delta is the
contract's sum of decayed terms (``math.fsum``), which an incremental implementation cannot
reproduce to the bit: ``volume_delta_ewm_scale`` bounds the rounding the harness allows there.
"""

from __future__ import annotations

import math

import lob

from book_model import BID, ASK, ModelBook, _check_side, _i64, _side_type

__all__ = ["AnonModelBook", "SignalModel", "ofi_term", "MAX_OFI_LEVELS"]

NO_AGGRESSOR = 2
MAX_OFI_LEVELS = 10
NEG_INF = -math.inf
POS_INF = math.inf


def ofi_term(b0, B0, a0, A0, b1, B1, a1, A1):
    """e(n) of Cont, Kukanov and Stoikov (2014) from the level before (0) and after (1)."""
    return ((B1 if b1 >= b0 else 0) - (B0 if b1 <= b0 else 0)
            - (A1 if a1 <= a0 else 0) + (A0 if a1 >= a0 else 0))


class AnonModelBook(ModelBook):
    """ModelBook plus anonymous qty: per (side, price), qty with no order id that queues ahead
    of every known order there and counts in every level total. A level lives while it has
    known orders or anonymous qty."""

    def __init__(self, allow_cross=False):
        self._anon = ({}, {})       # per side: price -> anonymous qty (> 0)
        # each side's occupied prices, best first, recomputed after any change of the set of
        # prices (every place that may add or remove a price calls _note)
        self._shape = 0
        self._sorted_cache = [(-1, None), (-1, None)]
        super().__init__(allow_cross)

    # -- the book's shape, anonymous qty included
    def _prices(self, side):
        return set(self._levels[side]) | set(self._anon[side])

    def _level_total(self, side, price):
        return super()._level_total(side, price) + self._anon[side].get(price, 0)

    def _sorted_prices(self, side):
        version, prices = self._sorted_cache[side]
        if version != self._shape:
            prices = sorted(self._prices(side), reverse=(side == BID))
            self._sorted_cache[side] = (self._shape, prices)
        return list(prices)

    def _occupied(self, side, price):
        return price in self._levels[side] or price in self._anon[side]

    def _note(self, side, price, was_occupied):
        if self._occupied(side, price) != was_occupied:
            self._shape += 1

    def _insert(self, oid, side, price, qty):
        was = self._occupied(side, price)
        super()._insert(oid, side, price, qty)
        self._note(side, price, was)

    def _remove(self, oid):
        side, price, _ = self._orders[oid]
        was = self._occupied(side, price)
        super()._remove(oid)
        self._note(side, price, was)

    @property
    def best_bid(self):
        prices = self._sorted_prices(BID)
        return prices[0] if prices else None

    @property
    def best_ask(self):
        prices = self._sorted_prices(ASK)
        return prices[0] if prices else None

    def level_count(self, side):
        side = _side_type(side)
        _check_side(side)
        return len(self._prices(side))

    def queue_ahead(self, order_id):
        ahead = super().queue_ahead(order_id)
        side, price, _ = self._orders[order_id]
        return ahead + self._anon[side].get(price, 0)

    def anonymous_levels(self):
        return [(side, price, qty) for side in (BID, ASK)
                for price, qty in sorted(self._anon[side].items(), reverse=(side == BID))]

    def clear(self):
        self._shape += 1
        super().clear()
        self._anon[BID].clear()
        self._anon[ASK].clear()

    # -- seeding and drawing on the anonymous qty
    def seed(self, side, price, qty):
        """Rest `qty` (> 0) more anonymous qty at (side, price)."""
        side = _side_type(side)
        price = _i64(price, "price")
        qty = _i64(qty, "qty")
        _check_side(side)
        if qty <= 0:
            raise ValueError(f"qty must be > 0, got {qty}")
        self._check_cross(side, price)
        was = self._occupied(side, price)
        self._anon[side][price] = self._anon[side].get(price, 0) + qty
        self._note(side, price, was)

    def set_anonymous(self, side, price, qty):
        """The anonymous qty at (side, price) becomes `qty` (>= 0): the ANON event."""
        side = _side_type(side)
        price = _i64(price, "price")
        qty = _i64(qty, "qty")
        _check_side(side)
        if qty < 0:
            raise ValueError(f"qty must be >= 0, got {qty}")
        current = self._anon[side].get(price, 0)
        was = self._occupied(side, price)
        if qty > current:
            self._check_cross(side, price)
            self._anon[side][price] = qty
        elif qty < current:
            if qty:
                self._anon[side][price] = qty
            else:
                del self._anon[side][price]
        self._note(side, price, was)

    def _draw(self, side, price, qty, execute):
        side = _side_type(side)
        price = _i64(price, "price")
        qty = _i64(qty, "qty")
        _check_side(side)
        if qty <= 0:
            raise ValueError(f"qty must be > 0, got {qty}")
        anon = self._anon[side].get(price, 0)
        if anon == 0:
            raise lob.UnknownOrderError(f"no anonymous qty rests at side={side} price={price}")
        if qty > anon:
            raise ValueError(f"qty={qty} is above the anonymous qty at side={side} price={price}")
        was = self._occupied(side, price)
        if anon == qty:
            del self._anon[side][price]
        else:
            self._anon[side][price] = anon - qty
        self._note(side, price, was)
        if execute:
            self._record_trade(1 - side, price, qty)
        return anon - qty

    def cancel_anonymous(self, side, price, qty):
        return self._draw(side, price, qty, False)

    def execute_anonymous(self, side, price, qty):
        return self._draw(side, price, qty, True)

    def check(self):
        for side in (BID, ASK):
            for price, qty in self._anon[side].items():
                assert qty > 0, f"anonymous qty {qty} at {side}/{price}"
        # ModelBook.check's cross test reads best_bid/best_ask, which count anonymous levels
        super().check()


class SignalModel(AnonModelBook):
    """The reference book with the contract's clock and signals.

    Every method that changes the book takes ``ts=`` (int64 ns, optional). ``apply_event``
    runs one batch event (``draw_unknown`` semantics, as every C book has) and returns
    whether the book accepted it; ``row()`` is then the signal part of its feature row.
    """

    def __init__(self, allow_cross=False, *, ofi_levels=1, vwap_window_ns=0, halflife_ns=0):
        ofi_levels = _i64(ofi_levels, "ofi_levels")
        if not 1 <= ofi_levels <= MAX_OFI_LEVELS:
            raise ValueError(f"ofi_levels must be in 1..{MAX_OFI_LEVELS}, got {ofi_levels}")
        self.ofi_level_count = ofi_levels
        self.vwap_window_ns = _i64(vwap_window_ns, "vwap_window_ns")
        self.halflife_ns = _i64(halflife_ns, "halflife_ns")
        if self.vwap_window_ns < 0:
            raise ValueError(f"vwap_window_ns must be >= 0, got {self.vwap_window_ns}")
        if self.halflife_ns < 0:
            raise ValueError(f"halflife_ns must be >= 0, got {self.halflife_ns}")
        self.ts = 0
        self._pending = []          # trades recorded by the event being applied
        self._abs_price = [None, None]
        self._row_run = (0, 0)
        super().__init__(allow_cross)

    @classmethod
    def from_depth(cls, bid_price, bid_qty, ask_price, ask_qty, allow_cross=False, **signals):
        """A book seeded from a level snapshot (qty 0 levels skipped): state, not flow."""
        book = cls(allow_cross, **signals)
        for side, prices, qtys in ((BID, bid_price, bid_qty), (ASK, ask_price, ask_qty)):
            prices, qtys = [int(p) for p in prices], [int(q) for q in qtys]
            if len(prices) != len(qtys):
                raise ValueError("price and qty lists differ in length")
            for price, qty in zip(prices, qtys):
                if qty:
                    book.seed(side, price, qty)
        return book

    # ------------------------------------------------------------------ flow state
    def _reset_flow_state(self):
        super()._reset_flow_state()
        self._ofi = [0] * self.ofi_level_count
        self._trades = []           # every trade since reset_flow: (time, aggressor, price, qty)
        self._run_side = -1
        self._run_time = None
        self._run_prices = set()
        self._run_qty = 0
        self._run_is_sweep = False
        self._sweeps = 0
        self._absorbed = [0, 0]
        self._row_run = (0, 0)

    def _record_trade(self, aggressor, price, qty):
        super()._record_trade(aggressor, price, qty)
        self._pending.append((aggressor, price, qty))

    def _levels_m(self, side):
        """The first M occupied levels of a side, best first, padded with the empty level."""
        prices = self._sorted_prices(side)[: self.ofi_level_count]
        levels = [(p, self._level_total(side, p)) for p in prices]
        empty = (NEG_INF, 0) if side == BID else (POS_INF, 0)
        return levels + [empty] * (self.ofi_level_count - len(levels))

    def _event(self, op, ts, *, flow=True, new_run=False):
        """Apply `op` as one event at `ts`: on success update the clock and every signal; on
        an exception change nothing and re-raise."""
        if ts is not None:
            ts = _i64(ts, "ts")
        before = (self._levels_m(BID), self._levels_m(ASK))
        best_before = (self.best_bid, self.best_ask)
        self._pending = []
        try:
            result = op()
        except BaseException:
            self._pending = []
            raise
        trades, self._pending = self._pending, []
        if ts is not None and ts > self.ts:
            self.ts = ts
        if flow:
            after = (self._levels_m(BID), self._levels_m(ASK))
            for m in range(self.ofi_level_count):
                (b0, B0), (a0, A0) = before[0][m], before[1][m]
                (b1, B1), (a1, A1) = after[0][m], after[1][m]
                self._ofi[m] += ofi_term(b0, B0, a0, A0, b1, B1, a1, A1)
        row_run = (0, 0)
        for aggressor, price, qty in trades:
            self._trades.append((self.ts, aggressor, price, qty))
            if aggressor == NO_AGGRESSOR:
                continue
            # absorption: traded against the other side at its best price (before the event)
            hit = 1 - aggressor
            if best_before[hit] is not None and price == best_before[hit]:
                self._absorbed[hit] += qty
            # runs
            if new_run or self._run_side != aggressor or self._run_time != self.ts:
                self._run_side, self._run_time = aggressor, self.ts
                self._run_prices, self._run_qty, self._run_is_sweep = set(), 0, False
                new_run = False
            self._run_prices.add(price)
            self._run_qty += qty
            if len(self._run_prices) >= 2 and not self._run_is_sweep:
                self._run_is_sweep = True
                self._sweeps += 1
            row_run = (len(self._run_prices), self._run_qty)
        self._row_run = row_run
        self._refresh_absorption()
        return result

    def _refresh_absorption(self):
        for side, best in ((BID, self.best_bid), (ASK, self.best_ask)):
            if best != self._abs_price[side]:
                self._abs_price[side] = best
                self._absorbed[side] = 0

    # ------------------------------------------------------------------ events
    def add(self, order_id, side, price, qty, *, ts=None):
        return self._event(lambda: super(SignalModel, self).add(order_id, side, price, qty), ts)

    def cancel(self, order_id, *, ts=None):
        return self._event(lambda: super(SignalModel, self).cancel(order_id), ts)

    def reduce(self, order_id, qty, *, ts=None):
        return self._event(lambda: super(SignalModel, self).reduce(order_id, qty), ts)

    def execute(self, order_id, qty, *, ts=None, new_run=False):
        return self._event(lambda: super(SignalModel, self).execute(order_id, qty), ts, new_run=new_run)

    def modify(self, order_id, price, qty, *, ts=None):
        return self._event(lambda: super(SignalModel, self).modify(order_id, price, qty), ts)

    def trade(self, side, price, qty, *, ts=None):
        return self._event(lambda: super(SignalModel, self).trade(side, price, qty), ts)

    def clear(self, *, ts=None):
        return self._event(lambda: super(SignalModel, self).clear(), ts)

    def cancel_anonymous(self, side, price, qty, *, ts=None):
        return self._event(lambda: self._draw(side, price, qty, False), ts)

    def execute_anonymous(self, side, price, qty, *, ts=None):
        return self._event(lambda: self._draw(side, price, qty, True), ts)

    def seed(self, side, price, qty, *, ts=None):
        return self._event(lambda: super(SignalModel, self).seed(side, price, qty), ts, flow=False)

    def set_anonymous(self, side, price, qty, *, ts=None):
        return self._event(lambda: super(SignalModel, self).set_anonymous(side, price, qty), ts, flow=False)

    def taker(self, side, fills, *, ts=None):
        """An engine taker on `side`: its fills, (maker_id, qty) each in execution order,
        are executions of the resting makers; the first starts a new run."""
        for i, (maker_id, qty) in enumerate(fills):
            assert self._orders[maker_id][0] == 1 - side, "a taker fills the other side"
            self.execute(maker_id, qty, ts=ts, new_run=(i == 0))

    def reset_flow(self):
        super().reset_flow()
        self._refresh_absorption()

    def apply_event(self, kind, side, order_id, price, qty, ts):
        """One batch event (lob.EVENT_DTYPE fields); True if the book accepted it. An
        unknown id of a CANCEL / REDUCE / EXECUTE draws on the anonymous qty. A refused
        event changes nothing; its row shows no trade."""
        try:
            accepted = self._apply_event(kind, side, order_id, price, qty, ts)
        except (lob.LobError, ValueError, KeyError, OverflowError, TypeError):
            accepted = False
        if not accepted:
            self._row_run = (0, 0)
        return accepted

    def _apply_event(self, kind, side, order_id, price, qty, ts):
        if kind == lob.ADD:
            self.add(order_id, side, price, qty, ts=ts)
        elif kind in (lob.CANCEL, lob.REDUCE, lob.EXECUTE):
            if kind != lob.CANCEL and qty <= 0:
                return False               # the C book checks qty before the id
            if order_id in self._orders:
                if kind == lob.CANCEL:
                    self.cancel(order_id, ts=ts)
                elif kind == lob.REDUCE:
                    self.reduce(order_id, qty, ts=ts)
                else:
                    self.execute(order_id, qty, ts=ts)
            elif kind == lob.EXECUTE:
                self.execute_anonymous(side, price, qty, ts=ts)
            else:
                self.cancel_anonymous(side, price, qty, ts=ts)
        elif kind == lob.MODIFY:
            self.modify(order_id, price, qty, ts=ts)
        elif kind == lob.TRADE:
            self.trade(side, price, qty, ts=ts)
        elif kind == lob.CLEAR:
            self.clear(ts=ts)
        elif kind == lob.ANON:
            self.set_anonymous(side, price, qty, ts=ts)
        else:
            return False
        return True

    # ------------------------------------------------------------------ signals
    @property
    def ofi(self):
        return self._ofi[0]

    def ofi_levels(self):
        return list(self._ofi)

    @property
    def trade_imbalance(self):
        total = self._buy_volume + self._sell_volume
        if total == 0:
            return math.nan
        return (self._buy_volume - self._sell_volume) / total

    def _decayed_terms(self):
        """+-q * 2**(-(ts - t)/h) of every sided trade since reset_flow, newest first; the
        older ones are left out once the weight is below 2**-1100, where it is 0.0 anyway
        (trade times never decrease, so every older term is 0.0 too)."""
        h = self.halflife_ns
        terms = []
        for t, a, _, q in reversed(self._trades):
            if (self.ts - t) / h > 1100:
                break
            if a != NO_AGGRESSOR:
                terms.append((1 if a == BID else -1) * q * 2.0 ** (-(self.ts - t) / h))
        return terms

    @property
    def volume_delta_ewm(self):
        if self.halflife_ns == 0:
            return float(self._volume_delta)
        return math.fsum(self._decayed_terms())

    @property
    def volume_delta_ewm_scale(self):
        """sum |term| of volume_delta_ewm: the size its float rounding is relative to."""
        if self.halflife_ns == 0:
            return 0.0
        return math.fsum(abs(x) for x in self._decayed_terms())

    def _window(self):
        """(notional, qty) of the trades in the rolling window, exact."""
        if self.vwap_window_ns == 0:
            return self._notional, self._traded_qty
        start = self.ts - self.vwap_window_ns
        inside = []
        for t, _, p, q in reversed(self._trades):   # trade times never decrease
            if t <= start:
                break
            inside.append((p, q))
        return sum(p * q for p, q in inside), sum(q for _, q in inside)

    @property
    def rolling_notional(self):
        return self._window()[0]

    @property
    def rolling_vwap(self):
        notional, qty = self._window()
        if qty == 0:
            return math.nan
        return notional / qty

    @property
    def vwap_deviation_bps(self):
        mid, vwap = self.mid, self.rolling_vwap
        if math.isnan(mid) or math.isnan(vwap) or vwap == 0:
            return math.nan
        return (mid - vwap) / vwap * 1e4

    @property
    def run_levels(self):
        return len(self._run_prices)

    @property
    def run_qty(self):
        return self._run_qty

    @property
    def run_side(self):
        return self._run_side

    @property
    def sweeps(self):
        return self._sweeps

    @property
    def absorbed_bid(self):
        return self._absorbed[BID]

    @property
    def absorbed_ask(self):
        return self._absorbed[ASK]

    def absorption(self, side):
        side = _side_type(side)
        _check_side(side)
        best = self.best_bid if side == BID else self.best_ask
        if best is None:
            return math.nan
        return self._absorbed[side] / self._level_total(side, best)

    def row(self):
        """The signal fields of the feature row written after the latest event."""
        run_levels, run_qty = self._row_run
        fields = {
            "ofi": self.ofi,
            "trade_imbalance": self.trade_imbalance,
            "volume_delta_ewm": self.volume_delta_ewm,
            "rolling_vwap": self.rolling_vwap,
            "vwap_deviation_bps": self.vwap_deviation_bps,
            "run_levels": run_levels,
            "run_qty": run_qty,
            "absorbed_bid": self.absorbed_bid,
            "absorbed_ask": self.absorbed_ask,
        }
        if self.ofi_level_count > 1:
            fields["ofi_levels"] = self.ofi_levels()
        return fields
