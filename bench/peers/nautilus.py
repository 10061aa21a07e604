"""Peer: NautilusTrader's OrderBook (Rust core behind Cython) in L3_MBO mode.

prepare (untimed) turns every event into a ready OrderBookDelta: ADD -> ADD;
CANCEL -> DELETE; EXECUTE (or REDUCE) -> UPDATE with the size left, or DELETE
when nothing is left (the size left per id is tracked here, not in the timed
loop).  run calls book.apply_delta once per event: measured faster than
book.add/update/delete with BookOrder objects and than one apply_deltas call
with all of them.  Prices and sizes are precision-0 Price/Quantity.

Level sizes: in an L3_MBO book best_bid_size()/best_ask_size() return the size
of the FIRST ORDER at the best price, not the level's total (two asks of 200
and 250 at the best price: best_ask_size() is 200).  The level total comes
from get_quantity_at_level(best price, aggressor side, 0) (a Quantity; note
the side is the aggressor's: BUY reads the asks) or get_quantity_for_price
(a float, the quantity at or better than a price; measured ~20% slower per
event on this stream).  Signals read best_bid_price and best_ask_price (Price
objects, None when the side is empty), the two level totals that way, and
compute microprice and imbalance in Python: the book has no microprice or
imbalance of its own.
"""
from importlib.metadata import version as _dist_version

from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder, OrderBookDelta
from nautilus_trader.model.enums import BookAction, BookType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

NAME = "NautilusTrader OrderBook (L3_MBO)"
REQUIRES = ["nautilus_trader==1.231.0"]

ADD, REDUCE, CANCEL, EXECUTE = 1, 2, 3, 4
INSTRUMENT = "SYN.SIM"


def version():
    return _dist_version("nautilus_trader")


def prepare(events):
    """A list of OrderBookDelta, one per event."""
    instrument = InstrumentId.from_str(INSTRUMENT)
    sides = (OrderSide.BUY, OrderSide.SELL)
    left = {}          # order id -> size resting
    deltas = []
    for ts, kind, side, order_id, price, qty in zip(
            events["ts"].tolist(), events["kind"].tolist(), events["side"].tolist(),
            events["order_id"].tolist(), events["price"].tolist(), events["qty"].tolist()):
        if kind == ADD:
            left[order_id] = qty
            action, size = BookAction.ADD, qty
        elif kind == CANCEL:
            action, size = BookAction.DELETE, left.pop(order_id)
        elif kind in (EXECUTE, REDUCE):
            size = left[order_id] - qty
            if size < 0:
                raise ValueError(f"event {len(deltas)}: qty {qty} above the {left[order_id]} resting")
            if size:
                left[order_id] = size
                action = BookAction.UPDATE
            else:
                del left[order_id]
                action = BookAction.DELETE
        else:
            raise ValueError(f"event {len(deltas)}: kind {kind} not supported")
        order = BookOrder(sides[side], Price(price, 0), Quantity(size, 0), order_id)
        ts = max(ts, 0)
        deltas.append(OrderBookDelta(instrument, action, order, 0, 0, ts, ts))
    return instrument, deltas


def run(prepared, signals):
    instrument, deltas = prepared
    book = OrderBook(instrument, BookType.L3_MBO)
    apply = book.apply_delta
    if not signals:
        for delta in deltas:
            apply(delta)
        return book
    best_bid, best_ask = book.best_bid_price, book.best_ask_price
    level_qty = book.get_quantity_at_level
    buy, sell = OrderSide.BUY, OrderSide.SELL
    micro_sum = imbalance_sum = 0.0
    for delta in deltas:
        apply(delta)
        bid = best_bid()
        ask = best_ask()
        if bid is not None and ask is not None:
            bid_qty = float(level_qty(bid, sell, 0))    # the bid level's total
            ask_qty = float(level_qty(ask, buy, 0))
            total = bid_qty + ask_qty
            micro_sum += (float(bid) * ask_qty + float(ask) * bid_qty) / total   # microprice
            imbalance_sum += (bid_qty - ask_qty) / total                        # top-level imbalance
        elif bid is not None or ask is not None:
            imbalance_sum += 1.0 if bid is not None else -1.0                   # microprice undefined
    return book, micro_sum, imbalance_sum


def top_of_book(prepared, n):
    """The level totals through get_quantity_at_level, as run's signals read them,
    taken exactly with int(): float(Quantity) / float(Price) (what signals use,
    the cheapest) can be 1 ulp off (65489 reads 65488.99999999999, 999989 reads
    999989.0000000001; nautilus stores fixed point with 16 decimals)."""
    instrument, deltas = prepared
    book = OrderBook(instrument, BookType.L3_MBO)
    buy, sell = OrderSide.BUY, OrderSide.SELL     # a level is read from the aggressor's side
    rows = []
    for delta in deltas[:n]:
        book.apply_delta(delta)
        bid, ask = book.best_bid_price(), book.best_ask_price()
        bid_row = (0, 0) if bid is None else (int(bid), int(book.get_quantity_at_level(bid, sell, 0)))
        ask_row = (0, 0) if ask is None else (int(ask), int(book.get_quantity_at_level(ask, buy, 0)))
        rows.append(bid_row + ask_row)
    return rows
