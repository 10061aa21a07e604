"""A plain-Python simulator of the contract's "Execution simulation" rules,
for comparing lob.Simulator with, fill for fill.

Obvious rather than fast: the book is dicts and lists (per side, price ->
anonymous qty and a FIFO list of ids; id -> [side, price, qty, own]), own
actions wait in a sorted list, and every rule is written out where it
applies.  The decisions where the contract is silent are lob.Simulator's
(see its docstring); each is marked "decision" here.

    model = ModelSim(events, allow_cross=False, latency_ns=500, own_base=sim.own_ids[0])
    model.submit(...); model.run(...)
    model.fills, model.order(oid), model.reconciled, model.rejected
"""
from __future__ import annotations

import math

import lob

BID, ASK = 0, 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
STATUSES = ("pending", "resting", "filled", "cancelled", "rejected")


def reaches(side, price, resting):
    """Does an order of `side` at `price` lock or cross an opposite order at `resting`?"""
    return price >= resting if side == BID else price <= resting


def better(side, a, b):
    """Is a strictly better than b for a resting order of `side`?"""
    return a > b if side == BID else a < b


class Level:
    def __init__(self):
        self.anon = 0
        self.queue = []          # ids, FIFO

    def empty(self):
        return self.anon == 0 and not self.queue


class ModelBook:
    """An L3 book with anonymous qty per level (ahead of every known order)
    and the trade flow; methods return None or the refusal's reason name,
    and change nothing when they refuse (the batch semantics of
    OrderBook.apply with draws of anonymous qty for unknown ids)."""

    def __init__(self, allow_cross=False):
        self.allow_cross = allow_cross
        self.levels = ({}, {})
        self.orders = {}             # id -> [side, price, qty, own]
        self.buy = self.sell = self.cross = self.trades = self.notional = 0
        self.last = None

    # reading
    @property
    def best_bid(self):
        return self.best(BID)

    @property
    def best_ask(self):
        return self.best(ASK)

    def best(self, side):
        prices = self.levels[side]
        if not prices:
            return None
        return max(prices) if side == BID else min(prices)

    def mid(self):
        b, a = self.best(BID), self.best(ASK)
        return math.nan if b is None or a is None else (b + a) / 2

    def qty_of(self, side, price):
        lvl = self.levels[side].get(price)
        return 0 if lvl is None else lvl.anon + sum(self.orders[i][2] for i in lvl.queue)

    def ahead_of(self, oid):
        side, price = self.orders[oid][:2]
        lvl = self.levels[side][price]
        return lvl.anon + sum(self.orders[i][2] for i in lvl.queue[:lvl.queue.index(oid)])

    def snapshot(self):
        rows = []
        for side in (BID, ASK):
            for price in sorted(self.levels[side], reverse=side == BID):
                rows += [(i, side, price, self.orders[i][2]) for i in self.levels[side][price].queue]
        return rows

    def anonymous(self):
        return [(side, price, self.levels[side][price].anon) for side in (BID, ASK)
                for price in sorted(self.levels[side], reverse=side == BID) if self.levels[side][price].anon]

    def flow(self):
        return (self.buy, self.sell, self.trades, self.notional, self.last, self.cross)

    # changing
    def record_trade(self, aggressor, price, qty):
        if aggressor == BID:
            self.buy += qty
        elif aggressor == ASK:
            self.sell += qty
        else:
            self.cross += qty
        self.trades += 1
        self.notional += price * qty
        self.last = price

    def crosses(self, side, price):
        other = self.best(1 - side)
        return not self.allow_cross and other is not None and reaches(side, price, other)

    def level(self, side, price):
        return self.levels[side].setdefault(price, Level())

    def tidy(self, side, price):
        if self.levels[side][price].empty():
            del self.levels[side][price]

    def add(self, oid, side, price, qty, own=False):
        if side not in (BID, ASK):
            return "bad_side"
        if qty <= 0:
            return "bad_qty"
        if oid in self.orders:
            return "duplicate_id"
        if self.crosses(side, price):
            return "crossed"
        self.orders[oid] = [side, price, qty, own]
        self.level(side, price).queue.append(oid)
        return None

    def remove(self, oid):
        side, price = self.orders.pop(oid)[:2]
        self.levels[side][price].queue.remove(oid)
        self.tidy(side, price)

    def take(self, oid, qty):
        """qty leaves order oid (qty <= what rests)."""
        self.orders[oid][2] -= qty
        if self.orders[oid][2] == 0:
            self.remove(oid)

    def draw(self, side, price, qty, execute):
        lvl = self.levels[side].get(price) if side in (BID, ASK) else None
        if lvl is None or lvl.anon == 0:
            return "unknown_id"
        if qty <= 0:
            return "bad_qty"
        if qty > lvl.anon:
            return "qty_above_resting"
        if execute:
            self.record_trade(1 - side, price, qty)
        lvl.anon -= qty
        self.tidy(side, price)
        return None

    def set_anon(self, side, price, qty):
        if side not in (BID, ASK):
            return "bad_side"
        if qty < 0:
            return "bad_anonymous"
        lvl = self.levels[side].get(price)
        if lvl is None:
            if qty == 0:
                return None
            if self.crosses(side, price):
                return "crossed"
            lvl = self.level(side, price)
        lvl.anon = qty
        self.tidy(side, price)
        return None

    def modify(self, oid, price, qty):
        if qty <= 0:
            return "bad_qty"
        if oid not in self.orders:
            return "unknown_id"
        side, old, rest = self.orders[oid][:3]
        if price == old and qty <= rest:
            self.orders[oid][2] = qty
            return None
        if self.crosses(side, price):
            return "crossed"
        own = self.orders[oid][3]
        self.remove(oid)
        self.orders[oid] = [side, price, qty, own]
        self.level(side, price).queue.append(oid)
        return None

    def clear(self):
        self.levels = ({}, {})
        self.orders = {}

    def apply(self, ev):
        """One feed event as OrderBook.apply does it; None or the reason."""
        ts, kind, side, oid, price, qty = ev
        if kind == lob.ADD:
            return self.add(oid, side, price, qty)
        if kind in (lob.CANCEL, lob.REDUCE, lob.EXECUTE):
            if kind != lob.CANCEL and qty <= 0:
                return "bad_qty"
            if oid not in self.orders:
                return self.draw(side, price, qty, kind == lob.EXECUTE)
            rest = self.orders[oid][2]
            if kind == lob.CANCEL:
                self.remove(oid)
                return None
            if qty > rest:
                return "qty_above_resting"
            if kind == lob.EXECUTE:
                o_side, o_price = self.orders[oid][:2]
                self.record_trade(1 - o_side, o_price, qty)
            self.take(oid, qty)
            return None
        if kind == lob.MODIFY:
            return self.modify(oid, price, qty)
        if kind == lob.TRADE:
            if side not in (0, 1, 2):
                return "bad_side"
            if qty <= 0:
                return "bad_qty"
            self.record_trade(side, price, qty)
            return None
        if kind == lob.CLEAR:
            self.clear()
            return None
        if kind == lob.ANON:
            return self.set_anon(side, price, qty)
        return "bad_kind"


class Own:
    def __init__(self, side, price, qty, tif, market, post_only, sent):
        self.side, self.price, self.qty, self.tif = side, price, qty, tif
        self.market, self.post_only, self.sent = market, post_only, sent
        self.filled = self.cancelled = 0
        self.status = "pending"
        self.arrival = self.end = None


class ModelSim:
    """The contract's simulator, in plain Python (see the module docstring)."""

    def __init__(self, events, *, allow_cross=False, latency_ns=0, own_base):
        self.events = [tuple(int(x) for x in row) for row in events.tolist()]
        self.book = ModelBook(allow_cross)
        self.latency_ns = latency_ns
        self.base = own_base
        self.own = []                # index = id - base
        self.resting = set()         # own ids that rest in the book
        self.pending_actions = []    # [time, seq, kind, index], kept sorted
        self.sent = 0
        self.pos = 0
        self.debt = {}               # feed id -> [debt, side, price]
        self.anon_debt = {}          # (side, price) -> debt
        self.fills = []
        self.reconciled = 0
        self.rejected = {}
        self.clock = None
        self.stopping = False

    # ---- sending
    def _send(self, ts):
        if self.clock is not None and ts < self.clock:
            raise ValueError(f"ts={ts} is before the clock {self.clock}")
        return ts + self.latency_ns

    def submit(self, side, price, qty, *, ts, tif="GTC", post_only=False):
        arrival = self._send(ts)
        self.own.append(Own(side, price, qty, tif, False, post_only, ts))
        self._queue(arrival, "new", len(self.own) - 1)
        return self.base + len(self.own) - 1

    def market(self, side, qty, *, ts):
        arrival = self._send(ts)
        self.own.append(Own(side, 0, qty, "IOC", True, False, ts))
        self._queue(arrival, "new", len(self.own) - 1)
        return self.base + len(self.own) - 1

    def cancel(self, oid, *, ts):
        arrival = self._send(ts)
        if not 0 <= oid - self.base < len(self.own):
            raise lob.UnknownOrderError(oid)
        self._queue(arrival, "cancel", oid - self.base)

    def _queue(self, time, kind, index):
        self.pending_actions.append([time, self.sent, kind, index])
        self.sent += 1
        self.pending_actions.sort()

    def stop(self):
        self.stopping = True

    # ---- reading
    def order(self, oid):
        o = self.own[oid - self.base]
        resting = self.book.orders[oid][2] if o.status == "resting" else 0
        return (o.side, None if o.market else o.price, o.qty, o.filled, o.status, o.arrival, o.sent, o.end,
                resting, o.cancelled, "MARKET" if o.market else o.tif, o.post_only)

    @property
    def now(self):
        return self.clock

    # ---- fills
    def _fill(self, ts, index, price, qty, liquidity, ahead, mid):
        self.own[index].filled += qty
        self.fills.append((ts, self.base + index, self.own[index].side, price, qty, liquidity, ahead, mid))

    def _maker_fill(self, oid, qty, aggressor, ts):
        """Own order oid, resting, trades qty at its price with a feed aggressor."""
        side, price = self.book.orders[oid][:2]
        ahead, mid = self.book.ahead_of(oid), self.book.mid()
        self.book.record_trade(aggressor, price, qty)
        self._fill(ts, oid - self.base, price, qty, 0, ahead, mid)
        self.book.take(oid, qty)
        if oid not in self.book.orders:
            o = self.own[oid - self.base]
            o.status, o.end = "filled", ts
            self.resting.discard(oid)

    def _own_resting(self, side):
        """(price, id) of the own orders resting on `side`, in price-time
        priority: best price first, then their place in the level's queue."""
        rows = []
        for oid in self.resting:
            o_side, price = self.book.orders[oid][:2]
            if o_side == side:
                rows.append(((-price if side == BID else price), self.book.levels[side][price].queue.index(oid),
                             price, oid))
        return [(price, oid) for _, _, price, oid in sorted(rows)]

    def _rule4(self, side, price, qty, executed, ts):
        """A feed execution of qty at (side, price) fills the own orders ahead
        of it first: better prices, and at its price those queued ahead of the
        executed order (`executed`, when it rests in the book; anonymous qty,
        consumed and unknown orders are ahead of own orders at their price)."""
        if qty <= 0:
            return
        queue = self.book.levels[side][price].queue if executed is not None else []
        ahead = set(queue[:queue.index(executed)]) if executed is not None else set()
        left = qty
        for own_price, oid in self._own_resting(side):
            if left == 0:
                break
            if better(side, own_price, price) or (own_price == price and oid in ahead):
                f = min(left, self.book.orders[oid][2])
                self._maker_fill(oid, f, 1 - side, ts)
                left -= f

    def _rule5(self, side, price, qty, ts):
        """A feed order of `side` at `price` trades first with the own orders
        it reaches; returns the qty traded."""
        left = qty
        for own_price, oid in self._own_resting(1 - side):
            if left == 0 or not reaches(side, price, own_price):
                break
            f = min(left, self.book.orders[oid][2])
            self._maker_fill(oid, f, side, ts)
            left -= f
        return qty - left

    def _owe(self, oid, side, price, qty):
        entry = self.debt.setdefault(oid, [0, side, price])
        entry[0] += qty
        entry[1], entry[2] = side, price

    def _pay(self, oid, qty):
        self.debt[oid][0] -= qty
        if self.debt[oid][0] <= 0:
            del self.debt[oid]

    def _pay_anon(self, key, qty):
        self.anon_debt[key] -= qty
        if self.anon_debt[key] <= 0:
            del self.anon_debt[key]

    def _refused(self, reason):
        if reason is not None:
            self.rejected[reason] = self.rejected.get(reason, 0) + 1

    # ---- feed events
    def _feed(self, ev):
        ts, kind, side, oid, price, qty = ev
        book = self.book
        if kind == lob.ADD:
            own_side = 1 - side if side in (BID, ASK) else None
            crossing = own_side is not None and any(reaches(side, price, p) for p, _ in self._own_resting(own_side))
            if side not in (BID, ASK) or qty <= 0 or oid in book.orders or not crossing:
                reason = book.apply(ev)
                if reason is None:
                    self.debt.pop(oid, None)
                return self._refused(reason)
            self.debt.pop(oid, None)
            traded = self._rule5(side, price, qty, ts)                      # rule 5
            if traded == qty:
                self._owe(oid, side, price, traded)
                return None
            reason = book.add(oid, side, price, qty - traded)
            if reason is None and traded:
                self._owe(oid, side, price, traded)
            return self._refused(reason)
        if kind == lob.EXECUTE:
            if qty <= 0:
                return self._refused(book.apply(ev))
            if oid in book.orders:
                x_side, x_price, rest = book.orders[oid][:3]
                self._rule4(x_side, x_price, qty, oid, ts)                  # rule 4
                if qty > rest and oid in self.debt:                          # reconcile (rule 2)
                    book.apply((ts, lob.EXECUTE, side, oid, price, rest))
                    self.reconciled += 1
                    self._pay(oid, qty - rest)
                    return None
                return self._refused(book.apply(ev))
            if oid in self.debt:
                _, d_side, d_price = self.debt[oid]
                self._rule4(d_side, d_price, qty, None, ts)
                self.reconciled += 1
                self._pay(oid, qty)
                return None
            if side in (BID, ASK):                                           # decision: the print's own side/price
                self._rule4(side, price, qty, None, ts)
            return self._unknown(ev)
        if kind in (lob.CANCEL, lob.REDUCE):
            if kind == lob.REDUCE and qty <= 0:
                return self._refused(book.apply(ev))
            if oid in book.orders:
                if oid not in self.debt:
                    return self._refused(book.apply(ev))
                if kind == lob.CANCEL:
                    book.apply(ev)
                    self.reconciled += 1
                    del self.debt[oid]
                    return None
                rest = book.orders[oid][2]
                if qty <= rest:
                    return self._refused(book.apply(ev))
                book.apply((ts, lob.REDUCE, side, oid, price, rest))
                self.reconciled += 1
                self._pay(oid, qty - rest)
                return None
            if oid in self.debt:
                self.reconciled += 1
                if kind == lob.CANCEL:
                    del self.debt[oid]
                else:
                    self._pay(oid, qty)
                return None
            return self._unknown(ev)
        if kind == lob.MODIFY:
            if qty <= 0 or (oid not in book.orders and oid not in self.debt):
                return self._refused(book.apply(ev))
            x_side = book.orders[oid][0] if oid in book.orders else self.debt[oid][1]
            owed = self.debt[oid][0] if oid in self.debt else 0
            left = qty - owed                                                # decision: the new qty minus the debt
            if left <= 0:
                if oid in book.orders:
                    book.remove(oid)
                self.debt[oid][0], self.debt[oid][2] = qty, price
                self.reconciled += 1
                return None
            traded = self._rule5(x_side, price, left, ts)                    # rule 5
            left -= traded
            if left == 0:
                if oid in book.orders:
                    book.remove(oid)
                self._owe(oid, x_side, price, traded)
                return None
            if oid in book.orders:
                reason = book.modify(oid, price, left)
            else:
                reason = book.add(oid, x_side, price, left)
            if reason is not None:
                return self._refused(reason)
            if traded:
                self._owe(oid, x_side, price, traded)
            elif oid in self.debt:
                self.debt[oid][2] = price
            return None
        if kind == lob.CLEAR:
            for index, o in enumerate(self.own):
                if o.status == "resting":
                    o.cancelled += book.orders[self.base + index][2]
                    o.status, o.end = "cancelled", ts
            self.resting.clear()
            self.debt.clear()
            self.anon_debt.clear()
            return self._refused(book.apply(ev))
        if kind == lob.ANON and side in (BID, ASK) and qty >= 0 and (side, price) in self.anon_debt:
            owed = self.anon_debt[(side, price)]
            reason = book.set_anon(side, price, max(qty - owed, 0))       # decision: the new qty minus the debt
            if reason is None and qty < owed:
                self._pay_anon((side, price), owed - qty)
            return self._refused(reason)
        return self._refused(book.apply(ev))

    def _unknown(self, ev):
        """CANCEL / REDUCE / EXECUTE of an id neither the book nor the debts know."""
        ts, kind, side, oid, price, qty = ev
        key = (side, price)
        if side not in (BID, ASK) or key not in self.anon_debt or qty <= 0:
            return self._refused(self.book.apply(ev))
        lvl = self.book.levels[side].get(price)
        anon = lvl.anon if lvl is not None else 0
        if qty <= anon:
            return self._refused(self.book.apply(ev))
        if anon:
            self.book.apply((ts, kind, side, oid, price, anon))
        self.reconciled += 1
        self._pay_anon(key, qty - anon)
        return None

    # ---- own actions
    def _fok_room(self, o):
        opp, room = 1 - o.side, 0
        for price in sorted(self.book.levels[opp], reverse=opp == BID):
            if room >= o.qty or (not o.market and not reaches(o.side, o.price, price)):
                break
            lvl = self.book.levels[opp][price]
            room += min(lvl.anon, o.qty - room)
            for i in lvl.queue:
                if room >= o.qty:
                    break
                if self.book.orders[i][3]:
                    return room
                room += min(self.book.orders[i][2], o.qty - room)
        return room

    def _arrive(self, time, kind, index):
        o = self.own[index]
        oid = self.base + index
        book = self.book
        if kind == "cancel":
            if o.status == "resting":
                o.cancelled += book.orders[oid][2]
                book.remove(oid)
                o.status, o.end = "cancelled", time
                self.resting.discard(oid)
            return
        o.arrival = time
        opp = 1 - o.side
        best = book.best(opp)
        crossing = best is not None and (o.market or reaches(o.side, o.price, best))
        if (o.post_only and crossing) or (o.tif == "FOK" and self._fok_room(o) < o.qty):
            o.status, o.cancelled, o.end = "rejected", o.qty, time
            return
        left, stopped = o.qty, False
        while left > 0 and book.levels[opp]:                                 # rule 2
            price = book.best(opp)
            if not o.market and not reaches(o.side, o.price, price):
                break
            lvl = book.levels[opp][price]
            mid = book.mid()
            if lvl.anon:
                f = min(lvl.anon, left)
                book.record_trade(o.side, price, f)
                lvl.anon -= f
                book.tidy(opp, price)
                self.anon_debt[(opp, price)] = self.anon_debt.get((opp, price), 0) + f
            else:
                head = lvl.queue[0]
                if book.orders[head][3]:                                     # decision: self-trade, cancel newest
                    stopped = True
                    break
                f = min(book.orders[head][2], left)
                book.record_trade(o.side, price, f)
                self._owe(head, opp, price, f)
                book.take(head, f)
            self._fill(time, index, price, f, 1, 0, mid)
            left -= f
        if left == 0:
            o.status, o.end = "filled", time
        elif stopped or o.market or o.tif != "GTC":
            o.status, o.cancelled, o.end = "cancelled", left, time
        elif book.add(oid, o.side, o.price, left, own=True) is not None:
            o.status, o.cancelled, o.end = ("cancelled" if o.filled else "rejected"), left, time
        else:
            o.status = "resting"                                             # rule 3
            self.resting.add(oid)

    # ---- the loop (rule 1)
    def run(self, until=None, *, every_ns=None, on_timer=None, on_fill=None):
        limit = INT64_MAX if until is None else until
        events = self.events
        timer = None
        if on_timer is not None:
            timer = events[self.pos][0] if self.pos < len(events) else self.clock
            horizon = until if until is not None else max(e[0] for e in events)
        self.stopping = False

        def call_fills(start):
            if on_fill is not None:
                for fill in self.fills[start:]:
                    on_fill(self, fill)

        while not self.stopping:
            has_feed = self.pos < len(events) and events[self.pos][0] <= limit
            at = self.pending_actions[0][0] if self.pending_actions else None
            if has_feed:
                next_ts = events[self.pos][0]
                act = at is not None and at < next_ts and (timer is None or at <= timer)
                if not act and timer is not None and timer < next_ts:
                    self.clock = timer if self.clock is None else max(self.clock, timer)
                    due, timer = timer, timer + every_ns
                    on_timer(self, due)
                    continue
            else:
                act = at is not None and at <= limit and (timer is None or at <= timer or timer > horizon)
                if not act:
                    if timer is not None and timer <= horizon:
                        self.clock = timer if self.clock is None else max(self.clock, timer)
                        due, timer = timer, timer + every_ns
                        on_timer(self, due)
                        continue
                    if until is not None:
                        self.clock = until if self.clock is None else max(self.clock, until)
                    break
            start = len(self.fills)
            if act:
                time, _, kind, index = self.pending_actions.pop(0)
                self.clock = time if self.clock is None else max(self.clock, time)
                self._arrive(time, kind, index)
            else:
                ev = events[self.pos]
                self.pos += 1
                self.clock = ev[0] if self.clock is None else max(self.clock, ev[0])
                self._feed(ev)
            call_fills(start)
        self.stopping = False


def random_stream(rng, n, *, start_ts=1_000_000, mid=1_000, seeds=3, p_odd=0.05):
    """A random feed stream (lob.EVENT_DTYPE) around `mid` that own orders
    meet: ANON seeds at `seeds` levels a side, then adds near the touch,
    cancels, partial cancels, executions (mostly of the head at the touch,
    some deeper in a queue or of anonymous qty), modifies, trade prints, a
    rare CLEAR, and with probability `p_odd` an event the book refuses (an
    unknown id, qty above what rests, a crossing add).  `rng`: a
    random.Random.  The generator keeps its own view of the feed's book,
    without own orders, as a venue's feed would."""
    import numpy as np

    rows, ts, next_id = [], start_ts, 1
    levels = ({}, {})                # side -> price -> [anon, [ids]]
    orders = {}                      # id -> [side, price, qty]

    def best(side):
        prices = [p for p, lvl in levels[side].items() if lvl[0] or lvl[1]]
        if not prices:
            return None
        return max(prices) if side == BID else min(prices)

    def drop(side, price):
        lvl = levels[side].get(price)
        if lvl is not None and not lvl[0] and not lvl[1]:
            del levels[side][price]

    for k in range(seeds):
        for side, price in ((BID, mid - 1 - k), (ASK, mid + 1 + k)):
            qty = rng.randint(1, 4) * 10
            levels[side][price] = [qty, []]
            rows.append((ts, lob.ANON, side, 0, price, qty))
    for _ in range(n):
        ts += rng.choice((0, 0, 100, 250, 1000))
        r = rng.random()
        if r < p_odd:
            what = rng.randrange(4)
            if what == 0:
                rows.append((ts, rng.choice((lob.CANCEL, lob.EXECUTE, lob.REDUCE)), rng.randrange(2),
                             10**6 + rng.randrange(10**6), mid + rng.randint(-3, 3), rng.randint(1, 30)))
            elif what == 1 and orders:
                oid = rng.choice(sorted(orders))
                rows.append((ts, lob.EXECUTE, orders[oid][0], oid, orders[oid][1], orders[oid][2] + rng.randint(1, 9)))
            elif what == 2:
                side = rng.randrange(2)
                other = best(1 - side)
                if other is not None:
                    rows.append((ts, lob.ADD, side, next_id, other + (1 if side == BID else -1) * rng.randint(0, 1),
                                 rng.randint(1, 5) * 10))
                    next_id += 1
            else:
                rows.append((ts, lob.TRADE, rng.randrange(3), 0, mid + rng.randint(-2, 2), rng.randint(1, 20)))
            continue
        if r < 0.42 or not orders:
            side = rng.randrange(2)
            other, own = best(1 - side), best(side)
            ref = own if own is not None else (other - (1 if side == BID else -1) * 2 if other is not None else mid)
            price = ref + (-1 if side == BID else 1) * rng.choice((0, 0, 0, 1, 1, 2, 3)) + (
                (1 if side == BID else -1) * rng.choice((0, 0, 0, 1)))
            if other is not None and reaches(side, price, other):
                price = other - 1 if side == BID else other + 1
            qty = rng.randint(1, 6) * 10
            orders[next_id] = [side, price, qty]
            levels[side].setdefault(price, [0, []])[1].append(next_id)
            rows.append((ts, lob.ADD, side, next_id, price, qty))
            mid = (best(BID) + best(ASK)) // 2 if best(BID) is not None and best(ASK) is not None else mid
            next_id += 1
        elif r < 0.60:
            oid = rng.choice(sorted(orders))
            side, price, qty = orders.pop(oid)
            levels[side][price][1].remove(oid)
            drop(side, price)
            rows.append((ts, lob.CANCEL, side, oid, price, qty))
        elif r < 0.68:
            oid = rng.choice(sorted(orders))
            side, price, qty = orders[oid]
            cut = rng.randint(1, qty)
            rows.append((ts, lob.REDUCE, side, oid, price, cut))
            orders[oid][2] -= cut
            if orders[oid][2] == 0:
                del orders[oid]
                levels[side][price][1].remove(oid)
                drop(side, price)
        elif r < 0.90:
            side = rng.randrange(2)
            price = best(side)
            if price is None:
                continue
            lvl = levels[side][price]
            if lvl[0] and rng.random() < 0.7:              # anonymous qty first, as FIFO says
                qty = rng.randint(1, lvl[0])
                lvl[0] -= qty
                rows.append((ts, lob.EXECUTE, side, 10**7 + rng.randrange(10**6), price, qty))
                drop(side, price)
                continue
            if not lvl[1]:
                continue
            oid = lvl[1][0] if rng.random() < 0.8 else rng.choice(lvl[1])   # sometimes out of FIFO
            qty = orders[oid][2] if rng.random() < 0.6 else rng.randint(1, orders[oid][2])
            rows.append((ts, lob.EXECUTE, side, oid, price, qty))
            orders[oid][2] -= qty
            if orders[oid][2] == 0:
                del orders[oid]
                lvl[1].remove(oid)
                drop(side, price)
        elif r < 0.97:
            oid = rng.choice(sorted(orders))
            side, price, qty = orders[oid]
            other = best(1 - side)
            new_price = price + rng.randint(-2, 2)
            if other is not None and reaches(side, new_price, other):
                new_price = price
            new_qty = rng.randint(1, 6) * 10
            rows.append((ts, lob.MODIFY, side, oid, new_price, new_qty))
            if new_price == price and new_qty <= qty:
                orders[oid][2] = new_qty
            else:
                levels[side][price][1].remove(oid)
                drop(side, price)
                orders[oid] = [side, new_price, new_qty]
                levels[side].setdefault(new_price, [0, []])[1].append(oid)
        elif r < 0.985:
            rows.append((ts, lob.TRADE, rng.randrange(2), 0, mid + rng.randint(-2, 2), rng.randint(1, 20)))
        elif r < 0.998:                               # a snapshot resizes a level's anonymous qty
            side = rng.randrange(2)
            touch, other = best(side), best(1 - side)
            price = (touch if touch is not None else mid) + (-1 if side == BID else 1) * rng.randint(0, 2)
            if other is not None and reaches(side, price, other):
                continue
            qty = rng.choice((0, 10, 20, 40))
            levels[side].setdefault(price, [0, []])[0] = qty
            drop(side, price)
            rows.append((ts, lob.ANON, side, 0, price, qty))
        else:
            rows.append((ts, lob.CLEAR, 0, 0, 0, 0))
            levels, orders = ({}, {}), {}
    return np.array(rows, dtype=lob.EVENT_DTYPE)
