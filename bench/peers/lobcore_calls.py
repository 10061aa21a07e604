"""lobcore from a Python loop: one OrderBook call per event (the per-call API).

With signals, after every event: book.top(), one call giving best_bid,
best_bid_qty, best_ask, best_ask_qty, microprice and imbalance (the
cheapest way the API gives all six).
Runs in the main interpreter (REQUIRES is empty: lobcore is the checkout).
"""
import lob

NAME = "lobcore per call (Python loop)"
REQUIRES = []

ADD, CANCEL, EXECUTE = 1, 3, 4


def version():
    return lob.__version__


def prepare(events):
    """(kind, side, order_id, price, qty) tuples of Python ints."""
    kinds = set(events["kind"].tolist())
    if not kinds <= {ADD, CANCEL, EXECUTE}:
        raise ValueError(f"event kinds {sorted(kinds - {ADD, CANCEL, EXECUTE})} not supported by this loop")
    return list(zip(events["kind"].tolist(), events["side"].tolist(), events["order_id"].tolist(),
                    events["price"].tolist(), events["qty"].tolist()))


def run(prepared, signals):
    book = lob.OrderBook()
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
    top = book.top
    micro_sum = imbalance_sum = 0.0
    for kind, side, order_id, price, qty in prepared:
        if kind == ADD:
            add(order_id, side, price, qty)
        elif kind == CANCEL:
            cancel(order_id)
        else:
            execute(order_id, qty)
        bid, bid_qty, ask, ask_qty, micro, imbalance = top()
        if micro == micro:                     # nan while a side is empty
            micro_sum += micro
        imbalance_sum += imbalance
    return book, micro_sum, imbalance_sum


def top_of_book(prepared, n):
    book = lob.OrderBook()
    rows = []
    for kind, side, order_id, price, qty in prepared[:n]:
        if kind == ADD:
            book.add(order_id, side, price, qty)
        elif kind == CANCEL:
            book.cancel(order_id)
        else:
            book.execute(order_id, qty)
        rows.append((book.best_bid or 0, book.best_bid_qty, book.best_ask or 0, book.best_ask_qty))
    return rows
