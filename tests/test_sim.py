"""lob.Simulator on hand-worked streams: one scenario per rule of the
contract's "Execution simulation", the callbacks, and bad arguments."""
import math

import numpy as np
import pytest

import lob

BID, ASK = lob.BID, lob.ASK
A, R, C, X, T, M, CLR, AN = lob.ADD, lob.REDUCE, lob.CANCEL, lob.EXECUTE, lob.TRADE, lob.MODIFY, lob.CLEAR, lob.ANON


def stream(*rows):
    """Events from (ts, kind, side, order_id, price, qty) rows."""
    return np.array(list(rows), dtype=lob.EVENT_DTYPE)


def fills(sim):
    """sim.fills as plain tuples (ts, order_id, side, price, qty, liquidity, queue_ahead)."""
    return [tuple(row)[:7] for row in sim.fills.tolist()]


def conserved(sim, oid):
    o = sim.order(oid)
    return o.status == "pending" or o.filled + o.resting + o.cancelled == o.qty


# a two-sided book: bids 1000 (X1 100, X2 50), 999 (X5 70); asks 1001 (X3 10), 1002 (X4 20)
BOOK = [(10, A, BID, 1, 1000, 100), (10, A, BID, 2, 1000, 50), (10, A, ASK, 3, 1001, 10),
        (10, A, ASK, 4, 1002, 20), (10, A, BID, 5, 999, 70)]


def test_queue_drawn_down_by_cancels_ahead_then_filled_by_an_order_behind():
    ev = stream(*BOOK, (30, C, BID, 1, 1000, 100), (40, X, BID, 2, 1000, 50), (50, A, BID, 6, 1000, 40),
                (60, X, BID, 6, 1000, 40))
    sim = lob.Simulator(ev)
    oid = sim.submit(BID, 1000, 30, ts=20)
    sim.run(20)
    assert sim.order(oid).status == "resting" and sim.book.queue_ahead(oid) == 150   # joins the back (rule 3)
    sim.run(30)
    assert sim.book.queue_ahead(oid) == 50                                           # a cancel ahead draws it down
    sim.run(40)
    assert sim.book.queue_ahead(oid) == 0 and sim.fills.size == 0                    # the order ahead executed
    sim.run(50)
    assert sim.book.orders_at(BID, 1000) == [oid, 6]                                 # a later add queues behind
    sim.run()
    # the feed executed order 6, behind it: the own order fills first, by min(30, 40), at its price (rule 4)
    assert fills(sim) == [(60, oid, BID, 1000, 30, 0, 0)]
    assert sim.order(oid)[:5] == (BID, 1000, 30, 30, "filled") and sim.order(oid).end_ts == 60
    assert 6 not in sim.book and sim.reconciled == 0 and sim.rejected == {}
    sim.book.check()


def test_a_partial_fill_by_the_executed_qty():
    ev = stream(*BOOK, (30, C, BID, 1, 1000, 100), (31, C, BID, 2, 1000, 50), (40, A, BID, 6, 1000, 200),
                (50, X, BID, 6, 1000, 30))
    sim = lob.Simulator(ev)
    oid = sim.submit(BID, 1000, 100, ts=35)
    sim.run()
    assert fills(sim) == [(50, oid, BID, 1000, 30, 0, 0)]
    assert sim.order(oid).status == "resting" and sim.order(oid).resting == 70 and sim.book.order(6).qty == 170
    assert sim.book.orders_at(BID, 1000) == [oid, 6] and conserved(sim, oid)


def test_execution_at_a_worse_price_fills_the_better_own_order():
    # an own bid at 1000 with 150 ahead; the feed executes a bid at 999: the seller went through 1000
    ev = stream(*BOOK, (30, X, BID, 5, 999, 20))
    sim = lob.Simulator(ev)
    oid = sim.submit(BID, 1000, 15, ts=20)
    sim.run()
    assert fills(sim) == [(30, oid, BID, 1000, 15, 0, 150)]       # queue_ahead: 150 was still in front of it
    assert sim.book.order(5).qty == 50                            # then the event applies in full


def test_several_own_orders_share_an_execution_in_price_time_priority():
    ev = stream(*BOOK, (30, C, BID, 1, 1000, 100), (31, C, BID, 2, 1000, 50), (40, X, BID, 5, 999, 45))
    sim = lob.Simulator(ev)
    first = sim.submit(BID, 1000, 10, ts=20)
    second = sim.submit(BID, 1000, 20, ts=20)
    better = sim.submit(BID, 1000, 5, ts=21)       # same price, later: after the first two
    sim.run()
    assert [(f[1], f[4]) for f in fills(sim)] == [(first, 10), (second, 20), (better, 5)]
    # a better price goes first even when it arrived later
    ev = stream(*BOOK[:2], (10, A, ASK, 3, 1002, 10), (10, A, BID, 5, 999, 70), (40, X, BID, 5, 999, 12))
    sim = lob.Simulator(ev)
    low = sim.submit(BID, 1000, 10, ts=20)
    high = sim.submit(BID, 1001, 10, ts=21)
    sim.run()
    assert [(f[1], f[3], f[4], f[6]) for f in fills(sim)] == [(high, 1001, 10, 0), (low, 1000, 2, 150)]


def test_a_market_order_walks_three_levels_and_the_feed_later_cancels_what_it_consumed():
    ev = stream((10, A, ASK, 11, 1001, 10), (10, A, ASK, 12, 1002, 20), (10, A, ASK, 13, 1003, 30),
                (10, A, ASK, 14, 1003, 40), (10, A, BID, 15, 999, 10),
                (30, C, ASK, 13, 1003, 30),          # the feed still thinks 30 rest: 10 are left
                (31, C, ASK, 11, 1001, 10),          # consumed whole
                (32, X, ASK, 12, 1002, 20),          # consumed whole: the print proves nothing new
                (33, X, ASK, 14, 1003, 5))
    sim = lob.Simulator(ev, latency_ns=5)
    oid = sim.market(BID, 50, ts=15)
    sim.run(20)
    assert fills(sim) == [(20, oid, BID, 1001, 10, 1, 0), (20, oid, BID, 1002, 20, 1, 0),
                          (20, oid, BID, 1003, 20, 1, 0)]
    assert sim.book.order(13).qty == 10 and sim.book.best_ask == 1003 and sim.book.buy_volume == 50
    mids = sim.fills["mid"].tolist()
    assert mids == [1000.0, 1000.5, 1001.0]       # the mid just before each fill
    sim.run()
    assert sim.reconciled == 3 and sim.rejected == {}
    assert 13 not in sim.book and sim.book.order(14).qty == 35 and sim.book.buy_volume == 55
    assert sim.order(oid)[:5] == (BID, None, 50, 50, "filled")
    sim.book.check()


def test_a_feed_add_crossing_an_own_order_trades_with_it_first():
    ev = stream(*BOOK, (30, A, BID, 7, 1001, 80), (40, C, BID, 7, 1001, 80))
    assert lob.Simulator(ev).book.allow_cross       # the stream locks the book: the default book allows it
    sim = lob.Simulator(ev, book=lob.OrderBook())
    own = sim.submit(ASK, 1001, 50, ts=20)        # joins behind X3 (10) at 1001
    sim.run(30)
    # the feed's add meets the own ask: maker fill at its price, the buyer the aggressor (rule 5) ...
    assert fills(sim) == [(30, own, ASK, 1001, 50, 0, 10)]
    # ... and keeps the rest: 30 rest at 1001 (the feed's ask there, X3, is the feed's own business: a
    # book with allow_cross=False refuses the crossing rest)
    assert sim.rejected == {"crossed": 1} and 7 not in sim.book
    sim.run()
    assert sim.rejected == {"crossed": 1, "unknown_id": 1}

    ev = stream(*BOOK, (25, C, ASK, 3, 1001, 10), (30, A, BID, 7, 1001, 80), (40, C, BID, 7, 1001, 80))
    sim = lob.Simulator(ev)
    own = sim.submit(ASK, 1001, 50, ts=20)
    sim.run(30)
    assert fills(sim) == [(30, own, ASK, 1001, 50, 0, 0)] and sim.book.order(7) == (BID, 1001, 30)
    assert sim.book.buy_volume == 50 and sim.book.best_ask == 1002
    sim.run()
    assert sim.reconciled == 1 and 7 not in sim.book and sim.rejected == {}


def test_a_feed_modify_crossing_an_own_order_trades_with_it_first():
    ev = stream(*BOOK, (25, C, ASK, 3, 1001, 10), (30, M, BID, 5, 1001, 25), (40, X, BID, 5, 1001, 25))
    sim = lob.Simulator(ev)
    own = sim.submit(ASK, 1001, 10, ts=20)
    sim.run(30)
    assert fills(sim) == [(30, own, ASK, 1001, 10, 0, 0)]
    assert sim.book.order(5) == (BID, 1001, 15)
    sim.run()
    assert sim.reconciled == 1 and 5 not in sim.book


def test_post_only_fok_ioc_and_self_trade_prevention():
    sim = lob.Simulator(stream(*BOOK, (100, T, BID, 0, 1001, 5)))
    post = sim.submit(BID, 1001, 10, ts=20, post_only=True)
    fok = sim.submit(BID, 1002, 40, ts=20, tif="FOK")          # 30 offered up to 1002: not enough
    ioc = sim.submit(BID, 1001, 40, ts=20, tif="IOC")
    sim.run(20)
    assert sim.order(post)[4:] == ("rejected", 20, 20, 20, 0, 10, "GTC", True)
    assert sim.order(fok).status == "rejected" and sim.order(fok).cancelled == 40
    assert sim.order(ioc)[3:5] == (10, "cancelled") and sim.order(ioc).cancelled == 30
    snapshot = sim.book.snapshot().tolist()
    own_ask = sim.submit(ASK, 1003, 5, ts=21)
    taker = sim.submit(BID, 1003, 30, ts=21)       # meets 20 at 1002, then its own ask at 1003
    sim.run(21)
    assert [f[4] for f in fills(sim) if f[1] == taker] == [20]
    assert sim.order(taker).status == "cancelled" and sim.order(taker).cancelled == 10
    assert sim.order(own_ask).status == "resting"
    assert snapshot[:3] == sim.book.snapshot().tolist()[:3]
    sim.run()
    assert fills(sim)[-1][1] != own_ask                          # a TRADE print fills nothing


def test_latency_and_the_order_of_arrivals():
    ev = stream(*BOOK, (20, C, ASK, 3, 1001, 10), (25, A, ASK, 9, 1001, 5), (30, A, ASK, 8, 1001, 5))
    sim = lob.Simulator(ev, latency_ns=10)
    first = sim.market(BID, 5, ts=15)              # arrives at 25: after the add at 25, before the one at 30
    second = sim.market(BID, 5, ts=15)             # same arrival: after the first
    sim.run()
    assert [(f[0], f[1], f[3]) for f in fills(sim)] == [(25, first, 1001), (25, second, 1002)]
    assert sim.order(first).arrival_ts == 25 and sim.order(first).sent_ts == 15
    assert sim.book.order(8).qty == 5


def test_clear_cancels_own_orders_and_own_ids_never_clash():
    ev = stream(*BOOK, (30, CLR, 0, 0, 0, 0), (40, A, BID, 10**6, 1000, 5))
    sim = lob.Simulator(ev)
    first, end = sim.own_ids
    assert first == 10**7 and end > first
    oid = sim.submit(BID, 998, 7, ts=20)
    assert oid == first
    sim.run()
    assert sim.order(oid)[3:5] == (0, "cancelled") and sim.order(oid).cancelled == 7 and len(sim.book) == 1


def test_refused_execution_still_fills_and_unknown_ids_are_counted():
    ev = stream(*BOOK, (30, X, BID, 5, 999, 500),     # more than rests: refused, the print proves 999 traded
                (31, X, BID, 77, 998, 5),             # an id the book never saw, at 998
                (32, X, -1, 78, 0, 5))                # no side known (ITCH's unknown references): no fill
    sim = lob.Simulator(ev)
    oid = sim.submit(BID, 1000, 30, ts=20)
    sim.run()
    assert [(f[4], f[6]) for f in fills(sim)] == [(30, 150)]
    assert sim.rejected == {"qty_above_resting": 1, "unknown_id": 2}


def test_anonymous_qty_is_ahead_and_taken_first():
    ev = stream((10, AN, ASK, 0, 1001, 30), (10, AN, BID, 0, 1000, 40), (10, A, ASK, 3, 1001, 10),
                (30, X, ASK, 99, 1001, 30),     # the feed executes the anonymous 30: 10 are left of it
                (40, AN, ASK, 0, 1001, 50),     # a snapshot sets it to 50 (nothing is owed any more)
                (60, AN, ASK, 0, 1001, 45))     # 45, while 20 are owed: 25
    sim = lob.Simulator(ev)
    oid = sim.market(BID, 20, ts=20)
    sim.run(20)
    assert fills(sim) == [(20, oid, BID, 1001, 20, 1, 0)]
    assert sim.book.anonymous_levels().tolist() == [(0, 1000, 40), (1, 1001, 10)]
    sim.run(30)
    assert sim.reconciled == 1 and sim.book.anonymous_levels().tolist() == [(0, 1000, 40)]
    sim.run(40)
    assert sim.book.anonymous_levels().tolist() == [(0, 1000, 40), (1, 1001, 50)]
    own = sim.submit(BID, 1000, 5, ts=50)
    taker = sim.market(BID, 20, ts=50)
    sim.run()
    assert sim.book.queue_ahead(own) == 40 and sim.order(taker).filled == 20
    assert sim.book.anonymous_levels().tolist() == [(0, 1000, 40), (1, 1001, 25)]


def test_callbacks_timers_fills_and_stop():
    events = lob.synth.generate(3000, seed=3)
    calls, seen = [], []

    def on_timer(sim, ts):
        calls.append(ts)
        assert sim.now == ts
        if len(calls) % 3 == 1 and sim.book.best_bid is not None:
            sim.submit(BID, sim.book.best_bid, 300, ts=ts)

    def on_fill(sim, fill):
        seen.append(fill)
        assert isinstance(fill, lob.sim.SimFill) and fill.ts <= sim.now
        sim.book.check()

    sim = lob.Simulator(events, latency_ns=1_000)
    sim.run(every_ns=5_000_000, on_timer=on_timer, on_fill=on_fill)
    t0 = int(events["ts"][0])
    assert calls == list(range(t0, int(events["ts"].max()) + 1, 5_000_000))
    assert len(seen) == len(sim.fills) > 0
    assert [tuple(f)[:7] for f in seen] == fills(sim)
    # stop() from a callback: the run returns after that event, the next one goes on
    sim = lob.Simulator(events)
    sim.submit(BID, int(events["price"][0]) + 10, 10_000, ts=0)
    sim.run(on_fill=lambda s, f: s.stop())
    stopped_at = sim.position
    assert 0 < stopped_at < len(events) and len(sim.fills) >= 1
    sim.run()
    assert sim.position == len(events)


def test_conservation_after_every_event():
    events = lob.synth.generate(2000, seed=5, p_modify=0.1, p_reduce=0.1)
    sim = lob.Simulator(events, latency_ns=2_000)
    oids = []
    rng = np.random.default_rng(0)
    for ts in np.unique(events["ts"])[::7].tolist():
        sim.run(ts)
        book = sim.book
        side = int(rng.integers(2))
        touch = book.best_bid if side == BID else book.best_ask
        if touch is not None and rng.random() < 0.5:
            oids.append(sim.submit(side, touch + int(rng.integers(-2, 3)) * (1 if side == BID else -1),
                                   int(rng.integers(1, 5)) * 100, ts=ts))
        elif oids and rng.random() < 0.3:
            sim.cancel(oids[int(rng.integers(len(oids)))], ts=ts)
        book.check()
        assert all(conserved(sim, oid) for oid in oids)
    sim.run()
    assert all(conserved(sim, oid) for oid in oids) and len(sim.fills) > 10


def test_default_book_fits_the_stream():
    ev = stream((10, A, BID, 1, 1000, 5), (11, A, ASK, 2, 999, 5))       # crossed, as DBN can be
    assert lob.Simulator(ev).book.allow_cross
    assert not lob.Simulator(stream(*BOOK)).book.allow_cross
    book = lob.OrderBook()
    sim = lob.Simulator(stream(*BOOK), book=book)
    sim.run()
    assert len(book) == 5 and sim.book.best_bid == 1000
    with pytest.raises(AttributeError):
        sim.book.add(9, BID, 1, 1)                                     # the view has no writer


def test_bad_arguments():
    ev = stream(*BOOK)
    with pytest.raises(TypeError, match="EVENT_DTYPE"):
        lob.Simulator(np.zeros(3))
    with pytest.raises(ValueError, match="latency_ns"):
        lob.Simulator(ev, latency_ns=-1)
    with pytest.raises(TypeError, match="OrderBook"):
        lob.Simulator(ev, book="book")
    sim = lob.Simulator(ev)
    with pytest.raises(RuntimeError, match="once"):
        sim.__init__(ev)
    with pytest.raises(ValueError, match="side"):
        sim.submit(2, 1000, 5, ts=0)
    with pytest.raises(ValueError, match="qty"):
        sim.submit(BID, 1000, 0, ts=0)
    with pytest.raises(TypeError, match="price"):
        sim.submit(BID, 1000.0, 5, ts=0)
    with pytest.raises(ValueError, match="tif"):
        sim.submit(BID, 1000, 5, ts=0, tif="DAY")
    with pytest.raises(ValueError, match="post_only"):
        sim.submit(BID, 1000, 5, ts=0, tif="IOC", post_only=True)
    with pytest.raises(lob.UnknownOrderError):
        sim.cancel(5, ts=0)
    with pytest.raises(lob.UnknownOrderError):
        sim.order(3)
    with pytest.raises(ValueError, match="every_ns and on_timer"):
        sim.run(every_ns=10)
    with pytest.raises(ValueError, match="every_ns"):
        sim.run(every_ns=0, on_timer=lambda s, t: None)
    assert sim.pending == 0 and sim.now is None
    sim.run(50)
    assert sim.now == 50
    with pytest.raises(ValueError, match="into the past"):
        sim.market(BID, 5, ts=49)

    def reenter(s, ts):
        s.run()

    with pytest.raises(RuntimeError, match="already running"):
        lob.Simulator(ev).run(every_ns=1, on_timer=reenter)


def test_the_book_changed_behind_its_back_is_refused():
    book = lob.OrderBook()
    sim = lob.Simulator(stream(*BOOK, (50, A, BID, 9, 990, 5)), book=book)
    oid = sim.submit(BID, 995, 5, ts=20)
    sim.run(20)
    book.cancel(oid)
    with pytest.raises(RuntimeError, match="changed outside the simulator"):
        sim.run()
