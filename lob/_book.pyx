# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The Python faces of the order-by-order book: OrderBook, BookView.

The core (src/lob_book.h) holds no Python objects and returns status codes
with the failure's context; these classes convert arguments, call it, and turn
a failure into the contract's exception through lob.errors (one table).
Readers live in BookReader, shared by OrderBook (yours, readable and
writable) and BookView (the read-only face of a book another object owns,
such as MatchingEngine.book).
"""
cimport cython
from libc.stdint cimport int64_t, uint64_t, uint32_t, INT64_MAX
from libc.math cimport NAN

from lob._core cimport *
from lob._events cimport ADD, REDUCE, CANCEL, EXECUTE, TRADE, MODIFY, CLEAR, ANON
from lob._convert cimport to_int64, to_uint64, to_side, to_valid_side, to_aggressor

cimport numpy as cnp
import numpy as np

cnp.import_array()

from lob.errors import error as _error
from lob.depth import Depth
from lob.orders import RestingOrder

# 2**53: below it an int64 converts to double exactly.
cdef int64_t EXACT_DOUBLE = 9007199254740992

# Python ints of the quantities the per-call methods return, made once: order
# sizes repeat (round lots), and a fresh int per call is an allocation and a
# free (~10 ns of a ~60 ns call).
cdef Py_ssize_t QTY_CACHE = 1 << 16
cdef list _qty_ints = [None] * QTY_CACHE


cdef inline object qty_int(int64_t qty):
    cdef object cached
    if 0 <= qty < QTY_CACHE:
        cached = _qty_ints[qty]
        if cached is None:
            cached = qty
            _qty_ints[qty] = cached
        return cached
    return qty


cdef inline object i128_int(const lob_i128 *a):
    if (<int64_t>a.lo >> 63) == a.hi:          # fits int64: hi is lo's sign
        return <int64_t>a.lo
    return (<object>a.hi << 64) + <object>a.lo


SNAPSHOT_DTYPE = np.dtype([("order_id", "<u8"), ("side", "i1"), ("price", "<i8"), ("qty", "<i8")])
ANON_DTYPE = np.dtype([("side", "i1"), ("price", "<i8"), ("qty", "<i8")])

_SIDE_NAME = ("bid", "ask")
_NO_SIDE = object()

apply_events = None   # lob._batch.apply_events, imported on first use (it cimports this module)


cdef int check_config(int64_t ofi_levels, int64_t vwap_window_ns, int64_t halflife_ns) except -1:
    if not 1 <= ofi_levels <= LOB_OFI_MAX:
        raise ValueError(f"ofi_levels must be 1 to {LOB_OFI_MAX}, got {ofi_levels}")
    if vwap_window_ns < 0:
        raise ValueError(f"vwap_window_ns must be >= 0 (0: the session vwap), got {vwap_window_ns}")
    if halflife_ns < 0:
        raise ValueError(f"halflife_ns must be >= 0 (0: no decay), got {halflife_ns}")
    return 0


cdef int refuse_read(lob_book *core) except -1:
    if core == NULL:
        raise RuntimeError("this book face is not attached to a book")
    raise RuntimeError("OrderBook is busy: another thread is running a batch on it")


cdef class BookReader:
    """Every reader of an order book (see OrderBook); no writer."""

    def __cinit__(self, *args, **kwargs):
        self.core = NULL
        self.owner = None

    cdef int guard(self) except -1:
        return can_read(self.core)

    # ------------------------------------------------------------------
    # top of book

    @property
    def best_bid(self):
        """Highest bid price (int), or None when there are no bids."""
        can_read(self.core)
        return lob_book_best(self.core, LOB_BID) if self.core.ladder[LOB_BID].n else None

    @property
    def best_ask(self):
        """Lowest ask price (int), or None when there are no asks."""
        can_read(self.core)
        return lob_book_best(self.core, LOB_ASK) if self.core.ladder[LOB_ASK].n else None

    @property
    def best_bid_qty(self):
        """Total qty at the best bid (0 when there are no bids)."""
        can_read(self.core)
        cdef int64_t price, qty
        lob_book_touch(self.core, LOB_BID, &price, &qty)
        return qty_int(qty)

    @property
    def best_ask_qty(self):
        """Total qty at the best ask (0 when there are no asks)."""
        can_read(self.core)
        cdef int64_t price, qty
        lob_book_touch(self.core, LOB_ASK, &price, &qty)
        return qty_int(qty)

    @property
    def spread(self):
        """best_ask - best_bid (int, price units), or None if a side is empty."""
        can_read(self.core)
        if self.core.ladder[LOB_BID].n == 0 or self.core.ladder[LOB_ASK].n == 0:
            return None
        return <object>lob_book_best(self.core, LOB_ASK) - <object>lob_book_best(self.core, LOB_BID)

    @property
    def mid(self):
        """(best_bid + best_ask) / 2 as a float, nan if a side is empty."""
        can_read(self.core)
        cdef int64_t b, a
        if self.core.ladder[LOB_BID].n == 0 or self.core.ladder[LOB_ASK].n == 0:
            return NAN
        b = lob_book_best(self.core, LOB_BID)
        a = lob_book_best(self.core, LOB_ASK)
        if -EXACT_DOUBLE < b < EXACT_DOUBLE and -EXACT_DOUBLE < a < EXACT_DOUBLE:
            return (<double>b + <double>a) * 0.5
        return (<object>b + <object>a) / 2   # exact ints, one rounding

    def microprice(self):
        """(bid*ask_qty + ask*bid_qty) / (bid_qty + ask_qty) at the best level,
        a float in price units; nan if a side is empty."""
        can_read(self.core)
        return lob_book_microprice(self.core)

    def imbalance(self, levels=1):
        """(B - A) / (B + A) over the total qty of the best `levels` (>= 1)
        levels of each side: +1 all bids, -1 all asks; nan when both sides are
        empty."""
        can_read(self.core)
        cdef int64_t n = to_int64(levels, "levels")
        if n < 1:
            raise ValueError(f"levels must be >= 1, got {levels!r}")
        return lob_book_imbalance(self.core, <size_t>n)

    def top(self):
        """The top of book and its signals in one call, for strategies that
        read them after every event: a tuple (best_bid, best_bid_qty,
        best_ask, best_ask_qty, microprice, imbalance), prices as int or None
        for an empty side, qtys as int (0 when empty), microprice() and
        imbalance() (top level) as floats (nan where undefined)."""
        can_read(self.core)
        cdef int64_t bid, bid_qty, ask, ask_qty
        lob_book_touch(self.core, LOB_BID, &bid, &bid_qty)
        lob_book_touch(self.core, LOB_ASK, &ask, &ask_qty)
        # a level's total is never 0, so qty 0 means an empty side
        return (bid if bid_qty else None, qty_int(bid_qty), ask if ask_qty else None, qty_int(ask_qty),
                lob_microprice_of(bid, bid_qty, ask, ask_qty), lob_imbalance_of(<double>bid_qty, <double>ask_qty))

    # ------------------------------------------------------------------
    # trade flow

    @property
    def volume_delta(self):
        """Buy-aggressor qty minus sell-aggressor qty since the last reset_flow() (shares)."""
        can_read(self.core)
        return self.core.flow_buy - self.core.flow_sell

    @property
    def buy_volume(self):
        """Qty traded with a buy aggressor since the last reset_flow() (shares)."""
        can_read(self.core)
        return self.core.flow_buy

    @property
    def sell_volume(self):
        """Qty traded with a sell aggressor since the last reset_flow() (shares)."""
        can_read(self.core)
        return self.core.flow_sell

    @property
    def cross_volume(self):
        """Qty traded with no aggressor (side NO_AGGRESSOR: auction crosses)
        since the last reset_flow() (shares)."""
        can_read(self.core)
        return self.core.flow_cross

    @property
    def trade_count(self):
        """Trades recorded (executes, trade prints, engine fill rows) since the last reset_flow()."""
        can_read(self.core)
        return self.core.flow_trades

    @property
    def vwap(self):
        """Volume-weighted average trade price (float, price units) since the
        last reset_flow(); nan before the first trade.  The notional is summed
        exactly in 128 bits."""
        can_read(self.core)
        return lob_book_vwap(self.core)

    @property
    def last_trade_price(self):
        """Price of the last trade (int), or None before one."""
        can_read(self.core)
        return self.core.flow_last_price if self.core.flow_has_last else None

    # ------------------------------------------------------------------
    # time and signals (the contract's "Time" and "Signals"; docs/signals.md)

    @property
    def ts(self):
        """The book's clock: the latest event ts it has seen (int, ns; 0
        before any).  An older ts leaves it where it is."""
        can_read(self.core)
        return self.core.sig.ts

    @property
    def ofi(self):
        """Order-flow imbalance at the best level (Cont, Kukanov, Stoikov
        2014): the sum of e(n) over every event since construction or
        reset_flow() (int, shares).  Seeding (from_depth, seed,
        set_anonymous, ANON events) is state, not flow: it adds nothing."""
        can_read(self.core)
        return i128_int(&self.core.sig.ofi[0])

    def ofi_levels(self):
        """Multi-level OFI (Xu, Gould, Howison): an int64 array of shape
        (ofi_levels,), element m the same sum as `ofi` at the (m+1)-th best
        occupied level of each side; element 0 equals `ofi` (saturated at
        the int64 bounds)."""
        can_read(self.core)
        cdef cnp.npy_intp m, M = self.core.sig.ofi_levels
        cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &M, cnp.NPY_INT64, 0)
        cdef int64_t *view = <int64_t *>cnp.PyArray_DATA(out)
        for m in range(M):
            view[m] = lob_i128_to_int64_sat(&self.core.sig.ofi[m])
        return out

    @property
    def trade_imbalance(self):
        """(buy_volume - sell_volume) / (buy_volume + sell_volume), a float in
        [-1, 1]; nan before a sided trade."""
        can_read(self.core)
        return lob_book_trade_imbalance(self.core)

    @property
    def volume_delta_ewm(self):
        """Volume delta with each sided trade's qty decayed by
        2 ** (-(ts - trade ts) / halflife_ns) (float, shares); equals
        volume_delta when halflife_ns is 0."""
        can_read(self.core)
        return lob_book_volume_delta_ewm(self.core)

    @property
    def rolling_vwap(self):
        """VWAP of the trades with ts in (ts - vwap_window_ns, ts] (float,
        price units; every trade vwap counts, NO_AGGRESSOR too); the
        session vwap when vwap_window_ns is 0; nan with no trade in the window."""
        can_read(self.core)
        return lob_book_rolling_vwap(self.core)

    @property
    def vwap_deviation_bps(self):
        """(mid - rolling_vwap) / rolling_vwap * 1e4 (float, basis points);
        nan when either is undefined.  mid here is (bid + ask) / 2 in doubles."""
        can_read(self.core)
        return lob_book_vwap_deviation_bps(self.core)

    @property
    def run_levels(self):
        """Distinct prices the latest aggressor run traded at (int; 0 before any).
        A run is the trades sharing one ts and one aggressor side, back to back
        among trades (non-trade events with that same ts may stand between)."""
        can_read(self.core)
        return self.core.sig.run_levels

    @property
    def run_qty(self):
        """Qty the latest aggressor run traded (int, shares; 0 before any)."""
        can_read(self.core)
        return self.core.sig.run_qty

    @property
    def run_side(self):
        """Aggressor side of the latest run: 0 buy, 1 sell, -1 before any."""
        can_read(self.core)
        return self.core.sig.run_side

    @property
    def sweeps(self):
        """Runs that reached run_levels >= 2 (liquidity sweeps) since the last reset_flow()."""
        can_read(self.core)
        return self.core.sig.sweeps

    @property
    def absorbed_bid(self):
        """Qty traded against the bid at the best bid price since that price
        became the best bid (shares); 0 again whenever the best bid price
        changes or the side empties."""
        can_read(self.core)
        return self.core.sig.absorbed[LOB_BID]

    @property
    def absorbed_ask(self):
        """Qty traded against the ask at the best ask price since that price
        became the best ask (shares)."""
        can_read(self.core)
        return self.core.sig.absorbed[LOB_ASK]

    def absorption(self, side):
        """absorbed qty / the best level's qty on `side` (0 BID, 1 ASK), a
        float; nan when that side is empty.  Above 1: the level has traded
        more than it now shows (it refills)."""
        can_read(self.core)
        return lob_book_absorption(self.core, to_valid_side(side))

    @property
    def vwap_window_ns(self):
        """The rolling VWAP's window (ns; 0: the session vwap)."""
        can_read(self.core)
        return self.core.sig.window_ns

    @property
    def halflife_ns(self):
        """The half-life of volume_delta_ewm (ns; 0: no decay)."""
        can_read(self.core)
        return self.core.sig.halflife_ns

    @property
    def allow_cross(self):
        """Whether adds and modifies may lock or cross the book."""
        can_read(self.core)
        return bool(self.core.allow_cross)

    # ------------------------------------------------------------------
    # inspection

    def __len__(self):
        can_read(self.core)
        return self.core.ids.count

    def __contains__(self, order_id):
        can_read(self.core)
        try:
            return lob_book_find(self.core, to_uint64(order_id, "order_id")) != LOB_NIL
        except (TypeError, OverflowError):
            return False

    cdef uint32_t _slot(self, object order_id) except? 0xFFFFFFFF:
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef uint32_t slot = lob_book_find(self.core, oid)
        if slot == LOB_NIL:
            raise _error(LOB_E_UNKNOWN, order_id=oid)
        return slot

    def order(self, order_id):
        """A resting order as lob.RestingOrder(side, price, qty) (a named tuple)."""
        can_read(self.core)
        cdef uint32_t slot = self._slot(order_id)
        cdef lob_level *lvl = &self.core.levels[self.core.orders[slot].level]
        return RestingOrder(<int>lvl.side, lvl.price, self.core.orders[slot].qty)

    def queue_ahead(self, order_id):
        """Total qty resting before this order at its price (shares),
        anonymous seeded qty included."""
        can_read(self.core)
        cdef uint32_t slot = self._slot(order_id)
        cdef int64_t ahead = self.core.levels[self.core.orders[slot].level].anon
        slot = self.core.orders[slot].prev
        while slot != LOB_NIL:
            ahead += self.core.orders[slot].qty
            slot = self.core.orders[slot].prev
        return ahead

    cdef int _side_then_price(self, object side, object price) except -1:
        """The side of (side, price) arguments, checked in the contract's
        order: type and range errors of either field first, then the value."""
        cdef int s = to_side(side)
        to_int64(price, "price")
        if s < 0:
            raise ValueError(f"side must be 0 (BID) or 1 (ASK), got {side!r}")
        return s

    def level_qty(self, side, price):
        """Total qty resting at (side, price) (shares); 0 if nothing rests there."""
        can_read(self.core)
        cdef int s = self._side_then_price(side, price)
        cdef uint32_t level = lob_book_level_of(self.core, s, to_int64(price, "price"))
        return self.core.levels[level].qty if level != LOB_NIL else 0

    def level_count(self, side):
        """Number of occupied price levels on `side`."""
        can_read(self.core)
        return self.core.ladder[to_valid_side(side)].n

    def orders_at(self, side, price):
        """Ids of the orders resting at (side, price), in FIFO order."""
        can_read(self.core)
        cdef int s = self._side_then_price(side, price)
        cdef uint32_t level = lob_book_level_of(self.core, s, to_int64(price, "price"))
        cdef uint32_t slot
        cdef list ids = []
        if level == LOB_NIL:
            return ids
        slot = self.core.levels[level].head
        while slot != LOB_NIL:
            ids.append(self.core.orders[slot].order_id)
            slot = self.core.orders[slot].next
        return ids

    def depth(self, levels=10):
        """The best `levels` (>= 0) levels of each side, best first, as
        lob.Depth(bid_price, bid_qty, ask_price, ask_qty): four int64 NumPy
        arrays with one row per occupied level (at most `levels`)."""
        can_read(self.core)
        cdef int64_t want = to_int64(levels, "levels")
        if want < 0:
            raise ValueError(f"levels must be >= 0, got {levels!r}")
        bid_price, bid_qty = self._side_depth(LOB_BID, want)
        ask_price, ask_qty = self._side_depth(LOB_ASK, want)
        # tuple.__new__ skips the namedtuple's Python-level __new__
        return tuple.__new__(Depth, (bid_price, bid_qty, ask_price, ask_qty))

    cdef tuple _side_depth(self, int side, Py_ssize_t want):
        cdef lob_ladder *lad = &self.core.ladder[side]
        cdef cnp.npy_intp n = min(want, <Py_ssize_t>lad.n), i
        cdef cnp.ndarray prices = cnp.PyArray_EMPTY(1, &n, cnp.NPY_INT64, 0)
        cdef cnp.ndarray qtys = cnp.PyArray_EMPTY(1, &n, cnp.NPY_INT64, 0)
        cdef int64_t *p = <int64_t *>cnp.PyArray_DATA(prices)
        cdef int64_t *q = <int64_t *>cnp.PyArray_DATA(qtys)
        cdef lob_level *lvl
        for i in range(n):
            lvl = &self.core.levels[lad.levels[lad.n - 1 - i]]
            p[i] = lvl.price
            q[i] = lvl.qty
        return (prices, qtys)

    def __repr__(self):
        can_read(self.core)
        return (f"<{type(self).__name__} orders={self.core.ids.count} bid={self.best_bid}x{self.best_bid_qty} "
                f"ask={self.best_ask}x{self.best_ask_qty}>")

    def memory_bytes(self):
        """Bytes of C memory the book holds (pools, id map, ladders, signal buffers)."""
        can_read(self.core)
        return lob_book_bytes(self.core)

    def snapshot(self):
        """Every resting order as a NumPy array of (order_id, side, price, qty),
        bids then asks, each side best level first and FIFO within a level."""
        can_read(self.core)
        cdef Py_ssize_t i = 0
        cdef int side
        cdef size_t pos
        cdef uint32_t slot
        cdef lob_level *lvl
        cdef Py_ssize_t n = self.core.ids.count
        id_arr = np.empty(n, dtype=np.uint64)
        side_arr = np.empty(n, dtype=np.int8)
        price_arr = np.empty(n, dtype=np.int64)
        qty_arr = np.empty(n, dtype=np.int64)
        cdef uint64_t[::1] ids = id_arr
        cdef signed char[::1] sides = side_arr
        cdef int64_t[::1] prices = price_arr
        cdef int64_t[::1] qtys = qty_arr
        for side in range(2):
            for pos in reversed(range(self.core.ladder[side].n)):
                lvl = &self.core.levels[self.core.ladder[side].levels[pos]]
                slot = lvl.head
                while slot != LOB_NIL and i < n:
                    ids[i] = self.core.orders[slot].order_id
                    sides[i] = side
                    prices[i] = lvl.price
                    qtys[i] = self.core.orders[slot].qty
                    i += 1
                    slot = self.core.orders[slot].next
        out = np.empty(n, dtype=SNAPSHOT_DTYPE)
        out["order_id"] = id_arr
        out["side"] = side_arr
        out["price"] = price_arr
        out["qty"] = qty_arr
        return out

    def anonymous_levels(self):
        """The anonymous (seeded, id-less) qty still resting, as a NumPy array
        of (side, price, qty): bids then asks, best level first."""
        can_read(self.core)
        cdef int side
        cdef size_t pos
        cdef lob_level *lvl
        rows = []
        for side in range(2):
            for pos in reversed(range(self.core.ladder[side].n)):
                lvl = &self.core.levels[self.core.ladder[side].levels[pos]]
                if lvl.anon:
                    rows.append((side, lvl.price, lvl.anon))
        return np.array(rows, dtype=ANON_DTYPE)

    # ------------------------------------------------------------------
    # invariants

    def check(self):
        """Verify every internal invariant: FIFO links, level totals and
        counts, ladder order and sides, best prices, the id map, the free
        lists, (unless allow_cross) an uncrossed book, and the signals'
        bookkeeping.  Raises AssertionError naming the first broken one;
        returns None."""
        can_read(self.core)
        cdef lob_book *b = self.core
        cdef int side
        cdef size_t pos
        cdef uint32_t level, slot, prev, nlive = 0, nfree = 0, nlevels = 0, count
        cdef int64_t qty_sum
        cdef lob_level *lvl
        cdef lob_ladder *lad
        for side in range(2):
            lad = &b.ladder[side]
            for pos in range(lad.n):
                if pos and lad.keys[pos - 1] >= lad.keys[pos]:
                    raise AssertionError(f"{_SIDE_NAME[side]} ladder not strictly sorted at {pos}")
                level = lad.levels[pos]
                if level >= b.levels_used:
                    raise AssertionError(f"{_SIDE_NAME[side]} ladder entry {pos} names level slot {level} "
                                         f"beyond {b.levels_used}")
                lvl = &b.levels[level]
                if lvl.side != <uint32_t>side:
                    raise AssertionError(f"level {lvl.price} on the {_SIDE_NAME[side]} ladder has side {lvl.side}")
                if lob_ladder_key(side, lvl.price) != lad.keys[pos]:
                    raise AssertionError(f"{_SIDE_NAME[side]} ladder key at {pos} does not match level price "
                                         f"{lvl.price}")
                if lob_pxmap_find(&b.pxmap[side], lvl.price) != level:
                    raise AssertionError(f"price map does not map {_SIDE_NAME[side]} {lvl.price} to its level")
                if lvl.anon < 0:
                    raise AssertionError(f"{_SIDE_NAME[side]} level {lvl.price} has anonymous qty {lvl.anon}")
                if lvl.count == 0 and lvl.anon == 0:
                    raise AssertionError(f"empty {_SIDE_NAME[side]} level {lvl.price} still on the ladder")
                if (lvl.count == 0) != (lvl.head == LOB_NIL):
                    raise AssertionError(f"{_SIDE_NAME[side]} level {lvl.price}: count {lvl.count} but head "
                                         f"{lvl.head}")
                nlevels += 1
                qty_sum = lvl.anon
                count = 0
                prev = LOB_NIL
                slot = lvl.head
                while slot != LOB_NIL:
                    if slot >= b.orders_used:
                        raise AssertionError(f"level {lvl.price} links to slot {slot} beyond the pool")
                    if b.orders[slot].prev != prev:
                        raise AssertionError(f"FIFO at {_SIDE_NAME[side]} {lvl.price}: prev link of order "
                                             f"{b.orders[slot].order_id} is broken")
                    if b.orders[slot].level != level:
                        raise AssertionError(f"order {b.orders[slot].order_id} sits at level {lvl.price} "
                                             f"but names another level")
                    if b.orders[slot].qty <= 0:
                        raise AssertionError(f"order {b.orders[slot].order_id} has qty {b.orders[slot].qty}")
                    if lob_book_find(b, b.orders[slot].order_id) != slot:
                        raise AssertionError(f"id map does not map order {b.orders[slot].order_id} to its slot")
                    if b.orders[slot].qty > INT64_MAX - qty_sum:
                        raise AssertionError(f"{_SIDE_NAME[side]} level {lvl.price}: orders sum past int64")
                    qty_sum += b.orders[slot].qty
                    count += 1
                    if count > b.orders_used:
                        raise AssertionError(f"FIFO at {_SIDE_NAME[side]} {lvl.price} has a cycle")
                    prev = slot
                    slot = b.orders[slot].next
                if prev != lvl.tail:
                    raise AssertionError(f"tail of {_SIDE_NAME[side]} level {lvl.price} is not its last order")
                if qty_sum != lvl.qty:
                    raise AssertionError(f"{_SIDE_NAME[side]} level {lvl.price} total {lvl.qty} != anonymous + "
                                         f"orders {qty_sum}")
                if count != lvl.count:
                    raise AssertionError(f"{_SIDE_NAME[side]} level {lvl.price} count {lvl.count} != orders {count}")
                nlive += count
        for side in range(2):
            if b.top_level[side] != (b.ladder[side].levels[b.ladder[side].n - 1] if b.ladder[side].n else LOB_NIL):
                raise AssertionError(f"the {_SIDE_NAME[side]} top level is not the ladder's best")
            if b.pxmap[side].count != b.ladder[side].n:
                raise AssertionError(f"{_SIDE_NAME[side]} price map holds {b.pxmap[side].count} prices "
                                     f"but the ladder {b.ladder[side].n} levels")
        if nlive != b.ids.count:
            raise AssertionError(f"id map holds {b.ids.count} ids but {nlive} orders rest")
        slot = b.free_order
        while slot != LOB_NIL:
            nfree += 1
            if nfree > b.orders_used:
                raise AssertionError("order free list has a cycle")
            slot = b.orders[slot].next
        if nlive + nfree != b.orders_used:
            raise AssertionError(f"order pool leaks: {nlive} live + {nfree} free != {b.orders_used} used")
        nfree = 0
        level = b.free_level
        while level != LOB_NIL:
            nfree += 1
            if nfree > b.levels_used:
                raise AssertionError("level free list has a cycle")
            level = b.levels[level].head
        if nlevels + nfree != b.levels_used:
            raise AssertionError(f"level pool leaks: {nlevels} live + {nfree} free != {b.levels_used} used")
        if not b.allow_cross and b.ladder[LOB_BID].n and b.ladder[LOB_ASK].n:
            if lob_book_best(b, LOB_BID) >= lob_book_best(b, LOB_ASK):
                raise AssertionError(f"book is crossed: bid {self.best_bid} >= ask {self.best_ask}")
        if b.flow_buy < 0 or b.flow_sell < 0 or b.flow_cross < 0 or b.flow_trades < 0:
            raise AssertionError("negative trade-flow counter")
        # the signals' baseline is the book itself
        for side in range(2):
            for pos in range(<size_t>b.sig.ofi_levels):
                lvl = <lob_level *>lob_book_level_at(b, side, pos)
                if (lvl.price if lvl != NULL else (-INT64_MAX - 1 if side == 0 else INT64_MAX)) != \
                        b.sig.top_price[side][pos] or (lvl.qty if lvl != NULL else 0) != b.sig.top_qty[side][pos]:
                    raise AssertionError(f"OFI baseline of {_SIDE_NAME[side]} level {pos + 1} is not the book's")
            if b.sig.absorbed[side] < 0:
                raise AssertionError(f"absorbed {_SIDE_NAME[side]} qty is negative")
        if b.sig.run_levels < 0 or b.sig.run_qty < 0 or b.sig.sweeps < 0:
            raise AssertionError("negative run counter")

    # ------------------------------------------------------------------
    # state for pickle and copy: a reader's state rebuilds an OrderBook

    def _flow_state(self):
        can_read(self.core)
        return (self.core.flow_buy, self.core.flow_sell, self.core.flow_trades, i128_int(&self.core.flow_notional),
                self.core.flow_last_price if self.core.flow_has_last else None, self.core.flow_cross)

    def _signal_state(self):
        """The clock and every signal accumulator, for pickling."""
        can_read(self.core)
        cdef lob_signals *s = &self.core.sig
        cdef size_t i
        ring = [(s.ring[(s.ring_head + i) % s.ring_cap].ts, s.ring[(s.ring_head + i) % s.ring_cap].price,
                 s.ring[(s.ring_head + i) % s.ring_cap].qty) for i in range(s.ring_n)]
        return {
            "config": (s.ofi_levels, s.window_ns, s.halflife_ns),
            "ts": s.ts,
            "ofi": [i128_int(&s.ofi[m]) for m in range(LOB_OFI_MAX)],
            "ewm": (s.ewm, s.ewm_ts),
            "ring": ring,
            "run": (s.run_open, s.run_side, s.run_ts, s.run_qty,
                    [s.run_prices[i] for i in range(<size_t>s.run_levels)], s.sweeps),
            "absorbed": (s.absorbed[0], s.absorbed[1]),
        }

    def _state(self):
        return (bool(self.core.allow_cross), self.snapshot(), self._flow_state(), self.anonymous_levels(),
                self._signal_state())

    def __reduce__(self):
        return (_rebuild_book, self._state())

    def __copy__(self):
        return _rebuild_book(*self._state())

    def __deepcopy__(self, memo):
        return _rebuild_book(*self._state())


@cython.final
cdef class OrderBook(BookReader):
    """An order-by-order (L3) limit order book with price-time priority.

    Prices are int64 in the caller's own integer unit (ticks, LOBSTER's
    dollars x 10000, ITCH's 1e-4 dollars); quantities are int64 > 0; order ids
    are integers in [0, 2**64); ts is int64 ns.  The book never matches:
    ``add`` refuses an order that would lock or cross the book unless
    ``allow_cross=True`` (for replaying venue feeds that are momentarily
    crossed).

    Signals (docs/signals.md) are kept per event: ``ofi_levels`` (1 to 10)
    levels of order-flow imbalance, a rolling VWAP over ``vwap_window_ns``
    (0: the session vwap) and a volume delta decayed with ``halflife_ns``
    (0: none).

    Every call that raises leaves the book exactly as it was.
    """

    def __cinit__(self, allow_cross=False, *, ofi_levels=1, vwap_window_ns=0, halflife_ns=0):
        cdef int64_t m = to_int64(ofi_levels, "ofi_levels")
        cdef int64_t w = to_int64(vwap_window_ns, "vwap_window_ns")
        cdef int64_t h = to_int64(halflife_ns, "halflife_ns")
        lob_book_zero(&self.book)
        check_config(m, w, h)
        if lob_book_init(&self.book, bool(allow_cross), <int>m, w, h) != LOB_OK:
            lob_book_free(&self.book)
            raise MemoryError("OrderBook: cannot allocate its maps")
        self.core = &self.book
        self.owner = None
        self.last_rejected = {}

    def __init__(self, allow_cross=False, *, ofi_levels=1, vwap_window_ns=0, halflife_ns=0):
        """Make an empty book.

        allow_cross: accept adds and modifies that lock or cross the book
        (bid >= best ask or ask <= best bid) instead of raising
        ``CrossedBookError``.
        ofi_levels: levels of multi-level OFI kept (1 to 10).
        vwap_window_ns: the rolling VWAP's window in ns (0: session vwap).
        halflife_ns: the half-life of volume_delta_ewm in ns (0: no decay).
        """

    def __dealloc__(self):
        lob_book_free(&self.book)

    cdef int fail(self, object side=_NO_SIDE) except -1:
        """Raise the core's last failure; `side`: the caller's argument, for
        the message (the core only saw it as an int)."""
        context = failure_context(&self.book.fail)
        if side is not _NO_SIDE:
            context["side"] = side
        raise _error(self.book.fail.code, **context)

    cdef int64_t clock(self, object ts) except? -1:
        return self.book.sig.ts if ts is None else to_int64(ts, "ts")

    @property
    def draw_unknown(self):
        """True: in apply(), a CANCEL, REDUCE or EXECUTE of an id the book
        does not know takes its qty from the anonymous qty at the event's
        (side, price) when some rests there (every book, since ANON events)."""
        return True

    # ------------------------------------------------------------------
    # events

    def add(self, order_id, side, price, qty, *, ts=None):
        """Rest a new order at the back of the queue at `price`.

        order_id: int in [0, 2**64), not already resting.
        side: 0 (BID) or 1 (ASK).
        price: int64 in the caller's price unit.
        qty: int64 > 0, shares or contracts.
        ts: the event's time (int64 ns; default: the book's clock).
        Raises DuplicateOrderError, CrossedBookError (unless allow_cross), or
        ValueError / TypeError / OverflowError naming the bad field.
        """
        can_read(self.core)
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int s = to_side(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t t = self.clock(ts)
        cdef int64_t out
        if lob_book_call(&self.book, ADD, oid, s, p, q, t, &out):
            self.fail(side)

    def cancel(self, order_id, *, ts=None):
        """Delete a resting order; returns the qty it had resting (shares)."""
        can_read(self.core)
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t t = self.clock(ts)
        cdef int64_t left = 0
        if lob_book_call(&self.book, CANCEL, oid, 0, 0, 0, t, &left):
            self.fail()
        return qty_int(left)

    def reduce(self, order_id, qty, *, ts=None):
        """Cancel `qty` shares of a resting order (partial cancel, keeps its
        queue place); returns the qty left.  Reducing by all of it removes the
        order and returns 0.  qty must be in (0, resting qty]."""
        can_read(self.core)
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t t = self.clock(ts)
        cdef int64_t left = 0
        if lob_book_call(&self.book, REDUCE, oid, 0, 0, q, t, &left):
            self.fail()
        return qty_int(left)

    def execute(self, order_id, qty, *, ts=None):
        """A resting visible order trades `qty` shares at its own price;
        returns the qty left (0 removes it).  Recorded as a trade whose
        aggressor is the other side (a resting ask executed is a buy)."""
        can_read(self.core)
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t t = self.clock(ts)
        cdef int64_t left = 0
        if lob_book_call(&self.book, EXECUTE, oid, 0, 0, q, t, &left):
            self.fail()
        return qty_int(left)

    def modify(self, order_id, price, qty, *, ts=None):
        """Cancel-replace a resting order to `price` and `qty` (> 0).

        The order keeps its queue place only when the price is unchanged and
        qty does not grow; otherwise it goes to the back of the queue at its
        (new) price.  The cross check applies to the new price."""
        can_read(self.core)
        cdef uint64_t oid = to_uint64(order_id, "order_id")
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t t = self.clock(ts)
        cdef int64_t out
        if lob_book_call(&self.book, MODIFY, oid, 0, p, q, t, &out):
            self.fail()

    def trade(self, side, price, qty, *, ts=None):
        """Record a trade print that touches no visible order (hidden
        liquidity, auction cross).  side is the AGGRESSOR's side: 0 (BID, a
        buy), 1 (ASK, a sell), or lob.NO_AGGRESSOR (2) for a trade without
        one, such as an auction cross: it counts in trade_count, vwap,
        last_trade_price and cross_volume, not in buy/sell volume or
        volume_delta."""
        can_read(self.core)
        cdef int s = to_aggressor(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t t = self.clock(ts)
        cdef int64_t out
        if lob_book_call(&self.book, TRADE, 0, s, p, q, t, &out):
            self.fail(side)

    def clear(self, *, ts=None):
        """Remove every resting order (a venue's book clear).  Trade-flow
        counters are kept; reset_flow() zeroes them."""
        can_read(self.core)
        cdef int64_t out
        lob_book_call(&self.book, CLEAR, 0, 0, 0, 0, self.clock(ts), &out)

    def reset_flow(self):
        """Zero the trade-flow counters (volume delta, buy/sell volume, trade
        count, vwap, last trade price) and every signal (ofi, ofi_levels,
        the decayed volume delta, the rolling VWAP's window, runs, sweeps,
        absorption); the book and its clock are untouched."""
        can_read(self.core)
        lob_book_reset_flow(&self.book)

    def reserve(self, orders):
        """Pre-size the order pool and the id map for `orders` resting orders,
        so that no growth (a copy of the pool, a rehash of the id map) happens
        while a stream is being replayed.  Never shrinks anything."""
        can_read(self.core)
        cdef int64_t n = to_int64(orders, "orders")
        cdef int status
        if n < 0:
            raise ValueError(f"orders must be >= 0, got {orders!r}")
        status = lob_book_grow_orders(&self.book, <uint64_t>n)
        if status == LOB_OK and lob_idmap_reserve_total(&self.book.ids, <uint64_t>n) != 0:
            status = LOB_E_NOMEM
        if status:
            raise _error(status)

    @classmethod
    def from_depth(cls, bid_price, bid_qty, ask_price, ask_qty, allow_cross=False, *, ofi_levels=1,
                   vwap_window_ns=0, halflife_ns=0):
        """A book seeded from a level snapshot (prices and total qtys in any
        order), for replaying a feed that starts mid-day, as LOBSTER files do.

        Each level's qty rests as anonymous qty: ahead of every order added
        later at that price, with no order id.  In apply(), a CANCEL, REDUCE
        or EXECUTE of an id the book does not know takes its qty from the
        anonymous qty at the event's (side, price); the per-call equivalents
        are cancel_anonymous / execute_anonymous.  Levels with qty 0 are
        skipped.  Seeding is the book's starting state: the signals count
        from it.  The keywords are OrderBook's.
        """
        book = cls(allow_cross, ofi_levels=ofi_levels, vwap_window_ns=vwap_window_ns, halflife_ns=halflife_ns)
        for side, prices, qtys in ((0, bid_price, bid_qty), (1, ask_price, ask_qty)):
            prices = np.asarray(prices).ravel().tolist()
            qtys = np.asarray(qtys).ravel().tolist()
            if len(prices) != len(qtys):
                raise ValueError(f"{_SIDE_NAME[side]}_price has {len(prices)} levels but "
                                 f"{_SIDE_NAME[side]}_qty {len(qtys)}")
            for price, qty in zip(prices, qtys):
                if qty != 0:
                    book.seed(side, price, qty)
        return book

    def seed(self, side, price, qty, *, ts=None):
        """Rest `qty` (> 0) anonymous shares at (side, price): qty known to
        rest there whose orders are unknown.  It queues ahead of every known
        order at that price and counts in every level total and signal;
        seeding is state, not flow (it adds nothing to ofi)."""
        can_read(self.core)
        cdef int s = to_side(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t out
        if lob_book_call(&self.book, LOB_OP_SEED, 0, s, p, q, self.clock(ts), &out):
            self.fail(side)

    def set_anonymous(self, side, price, qty, *, ts=None):
        """Make the anonymous qty at (side, price) `qty` (>= 0 shares): what
        an ANON event does (a snapshot's size for a level whose orders are
        unknown).  0 removes it (the level goes if no known order rests
        there).  State, not flow: it adds nothing to ofi."""
        can_read(self.core)
        cdef int s = to_side(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t out
        if lob_book_call(&self.book, ANON, 0, s, p, q, self.clock(ts), &out):
            self.fail(side)

    def cancel_anonymous(self, side, price, qty, *, ts=None):
        """Cancel `qty` of the anonymous qty at (side, price); returns the
        anonymous qty left there.  UnknownOrderError if none rests there."""
        can_read(self.core)
        cdef int s = to_side(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t left = 0
        if lob_book_call(&self.book, LOB_OP_DRAW, 0, s, p, q, self.clock(ts), &left):
            self.fail(side)
        return left

    def execute_anonymous(self, side, price, qty, *, ts=None):
        """Execute `qty` of the anonymous qty at (side, price), recorded as a
        trade at that price whose aggressor is the other side; returns the
        anonymous qty left there."""
        can_read(self.core)
        cdef int s = to_side(side)
        cdef int64_t p = to_int64(price, "price")
        cdef int64_t q = to_int64(qty, "qty")
        cdef int64_t left = 0
        if lob_book_call(&self.book, LOB_OP_DRAW_EXECUTE, 0, s, p, q, self.clock(ts), &left):
            self.fail(side)
        return left

    def apply(self, events, depth=0, record=True, on_error="raise", out=None, *, signals=False):
        """Apply an array of lob.EVENT_DTYPE events in order, in C, with the
        GIL released; returns one row of lob.feature_dtype(depth, signals,
        ofi_levels) per event (top of book, microprice, top-level imbalance,
        volume delta, `depth` levels a side padded with 0, and with
        signals=True every signal of the contract) or None if record is
        false.  Each event's ts moves the clock (unless older).

        The result equals the same events applied one call at a time.
        on_error="raise": a bad event raises lob.EventError whose .index is its
        position (every event before it applied, none from it on; .features
        holds the rows before it) and whose __cause__ is the call's error.
        on_error="skip": bad events are left out (their rows still show the
        unchanged book) and counted by reason in book.last_rejected.
        out: an array of the row dtype with at least len(events) rows to
        write the features into (returned as out[:len(events)]), so a stream
        replayed in chunks reuses one buffer.
        While the batch runs, other threads calling this book get RuntimeError.
        """
        global apply_events
        if apply_events is None:
            from lob._batch import apply_events
        return apply_events(self, events, to_int64(depth, "depth"), record, on_error, out, signals)

    # ------------------------------------------------------------------
    # pickle: restore into a new book

    def _restore(self, orders, flow, anonymous, signals=None):
        """Load anonymous_levels(), snapshot(), _flow_state() and
        _signal_state() output into an empty book."""
        can_read(self.core)
        cdef bint allow = self.book.allow_cross
        cdef lob_signals *s = &self.book.sig
        cdef int status = 0
        cdef Py_ssize_t i
        if self.book.ids.count or self.book.ladder[0].n or self.book.ladder[1].n:
            raise ValueError("_restore needs an empty book")
        self.book.allow_cross = True   # a crossed book pickles and comes back crossed
        try:
            for side, price, qty in anonymous.tolist():
                if lob_book_seed(&self.book, side, price, qty):
                    lob_book_clear(&self.book)
                    self.fail()
            for oid, side, price, qty in zip(orders["order_id"].tolist(), orders["side"].tolist(),
                                             orders["price"].tolist(), orders["qty"].tolist()):
                if lob_book_add(&self.book, oid, side, price, qty):
                    lob_book_clear(&self.book)
                    self.fail()
        finally:
            self.book.allow_cross = allow
        buy, sell, trades, notional, last = flow[:5]
        self.book.flow_cross = flow[5] if len(flow) > 5 else 0
        self.book.flow_buy = buy
        self.book.flow_sell = sell
        self.book.flow_trades = trades
        self.book.flow_notional.lo = notional & 0xFFFFFFFFFFFFFFFF
        self.book.flow_notional.hi = notional >> 64
        self.book.flow_has_last = last is not None
        self.book.flow_last_price = last if last is not None else 0
        lob_book_sync_signals(&self.book)               # the signals' baseline is the restored book
        if not isinstance(signals, dict):
            return
        s.ts = signals["ts"]
        for i, value in enumerate(signals["ofi"]):
            s.ofi[i].lo = value & 0xFFFFFFFFFFFFFFFF
            s.ofi[i].hi = value >> 64
        s.ewm, s.ewm_ts = signals["ewm"]
        ring = signals["ring"]
        run_open, run_side, run_ts, run_qty, run_prices, sweeps = signals["run"]
        if lob_sig_reserve(s, len(ring), len(run_prices)):
            raise MemoryError("OrderBook: out of memory restoring its signals")
        s.ring_head = 0
        s.ring_n = 0
        s.run_levels = 0
        for ts, price, qty in ring:
            s.ring[s.ring_n].ts = ts
            s.ring[s.ring_n].price = price
            s.ring[s.ring_n].qty = qty
            s.ring_n += 1
            lob_i128_add_mul(&s.win_notional, price, qty)
            lob_i128_add_mul(&s.win_qty, 1, qty)
        s.run_open, s.run_side, s.run_ts, s.run_qty = run_open, run_side, run_ts, run_qty
        for price in run_prices:
            s.run_prices[s.run_levels] = price
            s.run_levels += 1
        s.sweeps = sweeps
        s.absorbed[0], s.absorbed[1] = signals["absorbed"]


@cython.final
cdef class BookView(BookReader):
    """A read-only face of a book another object owns (MatchingEngine.book):
    every reader of OrderBook, no writer, so nothing outside the owner can
    break its invariants.  Pickle and copy give an OrderBook of the same
    state (the visible book: an engine's hidden reserves are not in it)."""

    def __init__(self):
        raise TypeError("BookView is made by its owner (MatchingEngine.book), not directly")


cdef BookView view_of(lob_book *core, object owner):
    cdef BookView view = BookView.__new__(BookView)
    view.core = core
    view.owner = owner
    return view


def _rebuild_book(allow_cross, orders, flow, anonymous=None, signals=None):
    config = signals["config"] if isinstance(signals, dict) else (1, 0, 0)
    book = OrderBook(allow_cross, ofi_levels=config[0], vwap_window_ns=config[1], halflife_ns=config[2])
    book._restore(orders, flow, np.zeros(0, ANON_DTYPE) if anonymous is None else anonymous, signals)
    return book
