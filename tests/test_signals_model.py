"""The plain-Python signal model (tests/signals_model.py) on small streams worked out by hand.

Each value below is computed in the comments from the contract's definitions (API.md,
"Time" and "Signals"), so the model is checked against arithmetic a reader can redo, not
against itself. docs/signals.md walks through the first three streams.
"""
import math

import pytest

import lob
from signals_model import SignalModel, ofi_term

BID, ASK, NONE = lob.BID, lob.ASK, lob.NO_AGGRESSOR


def test_ofi_term_cases():
    inf = math.inf
    # bid queue grows at the same price: +(B1 - B0)
    assert ofi_term(100, 5, 101, 7, 100, 8, 101, 7) == 3
    # a better bid appears: +B1 (the old queue is not subtracted)
    assert ofi_term(100, 5, 102, 7, 101, 2, 102, 7) == 2
    # the best bid level empties and the next is worse: -B0
    assert ofi_term(100, 5, 102, 7, 99, 9, 102, 7) == -5
    # the ask side empties: +A0; an ask appears on an empty side: -A1
    assert ofi_term(100, 5, 102, 7, 100, 5, inf, 0) == 7
    assert ofi_term(100, 5, inf, 0, 100, 5, 103, 4) == -4
    # both sides empty before and after: 0
    assert ofi_term(-inf, 0, inf, 0, -inf, 0, inf, 0) == 0


def test_ofi_one_and_two_levels_by_hand():
    m = SignalModel(ofi_levels=2)
    # e1 at the best level, e2 at the second (empty: bid -inf qty 0, ask +inf qty 0)
    m.add(1, BID, 100, 5, ts=1)      # e1 = [100>=-inf]*5 = +5                 e2 = 0
    m.add(2, ASK, 102, 3, ts=2)      # e1 = -[102<=inf]*3 = -3                   e2 = 0
    m.add(3, BID, 100, 2, ts=3)      # e1 = 7 - 5 = +2 (same price)              e2 = 0
    assert m.ofi_levels() == [4, 0]
    m.cancel(1, ts=4)                # e1 = 2 - 7 = -5                           e2 = 0
    m.add(4, BID, 101, 4, ts=5)      # e1 = +4 (better bid); level 2 is now 100x2: e2 = +2
    m.execute(2, 3, ts=6)            # the ask empties: e1 = +[inf>=102]*3 = +3  e2 = 0
    m.add(5, ASK, 103, 6, ts=7)      # e1 = -6                                   e2 = 0
    # e1: 5 - 3 + 2 - 5 + 4 + 3 - 6 = 0;  e2: 2
    assert m.ofi == 0 and m.ofi_levels() == [0, 2]
    assert m.row()["ofi_levels"] == [0, 2]
    m.reset_flow()
    assert m.ofi_levels() == [0, 0]
    m.reduce(4, 1, ts=8)             # e1 = 3 - 4 = -1; e2 = 0
    assert m.ofi_levels() == [-1, 0]


def test_clear_is_flow_and_seeding_is_not():
    m = SignalModel.from_depth([100, 99], [5, 4], [101], [7])
    assert m.ofi == 0 and len(m) == 0 and m.best_bid_qty == 5      # seeding is state
    m.set_anonymous(BID, 100, 8, ts=1)                             # state: ofi stays 0
    assert m.ofi == 0 and m.best_bid_qty == 8
    m.cancel_anonymous(BID, 100, 3, ts=2)                          # flow: 5 - 8 = -3
    assert m.ofi == -3
    assert m.apply_event(lob.ANON, ASK, 0, 101, 0, 3)              # the ask goes, as state
    assert m.ofi == -3 and m.best_ask is None
    m.add(1, ASK, 102, 2, ts=4)                                    # -[102<=inf]*2 = -2
    assert m.ofi == -5
    # CLEAR: bid 100x5 -> -inf: -[−inf<=100]*5 = -5; ask 102x2 -> +inf: +[inf>=102]*2 = +2
    m.clear(ts=5)
    assert m.ofi == -8 and m.ts == 5


def test_clock_vwap_window_and_decayed_delta_by_hand():
    m = SignalModel(vwap_window_ns=10, halflife_ns=10)
    assert m.ts == 0 and math.isnan(m.rolling_vwap) and m.volume_delta_ewm == 0.0
    m.trade(BID, 100, 2, ts=10)
    # window (0, 10]: 100x2 -> 100.0; ewm = +2
    assert (m.ts, m.rolling_vwap, m.volume_delta_ewm) == (10, 100.0, 2.0)
    m.trade(ASK, 110, 1, ts=15)
    # window (5, 15]: (200 + 110) / 3; ewm = 2 * 2**(-5/10) - 1 = sqrt(2) - 1
    assert m.rolling_vwap == 310 / 3
    assert m.volume_delta_ewm == pytest.approx(math.sqrt(2) - 1, rel=1e-15)
    m.trade(BID, 104, 1, ts=12)     # late: the clock stays 15 and the trade counts at 15
    assert m.ts == 15
    # window (5, 15]: (200 + 110 + 104) / 4 = 103.5; ewm = sqrt(2) - 1 + 1 = sqrt(2)
    assert m.rolling_vwap == 103.5
    assert m.volume_delta_ewm == pytest.approx(math.sqrt(2), rel=1e-15)
    m.add(1, BID, 99, 1, ts=20)
    # window (10, 20]: the trade at 10 has left (the window is open on the left):
    # (110 + 104) / 2 = 107.0; ewm = 2 * 2**-1 - 2**-0.5 + 2**-0.5 = 1.0
    assert m.rolling_vwap == 107.0 and m.volume_delta_ewm == 1.0
    assert math.isnan(m.vwap_deviation_bps)          # no ask: mid undefined
    m.add(2, ASK, 101, 1, ts=20)
    # mid 100.0: (100 - 107) / 107 * 1e4 = -654.2056...
    assert m.vwap_deviation_bps == (100.0 - 107.0) / 107.0 * 1e4
    assert m.vwap_deviation_bps == pytest.approx(-654.2056074766355)
    # buy 3, sell 1: (3 - 1) / 4
    assert m.trade_imbalance == 0.5
    assert m.vwap == 414 / 4                          # the session VWAP keeps every trade
    m.add(3, BID, 98, 1, ts=31)
    # window (21, 31]: empty
    assert math.isnan(m.rolling_vwap) and math.isnan(m.vwap_deviation_bps)
    # ewm at 31: 2*2**-2.1 - 2**-1.6 + 2**-1.6 = 2**-1.1
    assert m.volume_delta_ewm == pytest.approx(2 ** -1.1, rel=1e-15)
    m.reset_flow()
    assert m.ts == 31                                # the clock is not flow
    assert math.isnan(m.trade_imbalance) and m.volume_delta_ewm == 0.0 and math.isnan(m.rolling_vwap)


def test_window_zero_is_session_vwap_and_halflife_zero_is_volume_delta():
    m = SignalModel()
    m.trade(BID, 100, 3, ts=1)
    m.trade(ASK, 97, 1, ts=10**12)
    m.trade(NONE, 103, 2, ts=10**12)               # no aggressor: VWAP only
    assert m.rolling_vwap == m.vwap == (300 + 97 + 206) / 6
    assert m.volume_delta_ewm == float(m.volume_delta) == 2.0
    assert m.trade_imbalance == (3 - 1) / 4


def test_no_aggressor_trades_are_not_sided():
    m = SignalModel(halflife_ns=5)
    m.trade(NONE, 100, 4, ts=1)
    assert math.isnan(m.trade_imbalance) and m.volume_delta_ewm == 0.0
    assert m.rolling_vwap == 100.0 and m.run_side == -1 and m.row()["run_qty"] == 0


def stream_for_runs():
    m = SignalModel()
    m.add(1, ASK, 101, 2, ts=1)
    m.add(2, ASK, 102, 3, ts=1)
    m.add(3, BID, 99, 5, ts=1)
    m.add(9, BID, 98, 1, ts=1)
    return m


def test_runs_and_sweeps_by_hand():
    m = stream_for_runs()
    assert (m.run_levels, m.run_qty, m.run_side, m.sweeps) == (0, 0, -1, 0)
    m.execute(1, 2, ts=5)            # a buy of 2 at 101: run (BID, ts 5) levels {101}, qty 2
    assert (m.run_levels, m.run_qty, m.run_side) == (1, 2, BID) and m.row()["run_qty"] == 2
    m.add(7, BID, 97, 1, ts=5)       # not a trade, same ts: may stand between; its row says 0
    assert (m.row()["run_levels"], m.row()["run_qty"]) == (0, 0) and m.run_qty == 2
    m.execute(2, 1, ts=5)            # same ts, same side: levels {101, 102}, qty 3: a sweep
    assert (m.run_levels, m.run_qty, m.sweeps) == (2, 3, 1)
    m.trade(NONE, 102, 4, ts=5)      # no aggressor: not a trade for runs
    assert (m.row()["run_levels"], m.row()["run_qty"]) == (0, 0)
    m.execute(2, 1, ts=5)            # the run goes on: {101, 102}, qty 4; still one sweep
    assert (m.run_levels, m.run_qty, m.sweeps) == (2, 4, 1)
    m.execute(3, 1, ts=5)            # a sell: another aggressor side starts a run
    assert (m.run_levels, m.run_qty, m.run_side) == (1, 1, ASK)
    m.trade(ASK, 99, 1, ts=6)        # another ts: a new run, {99}, qty 1
    assert (m.run_levels, m.run_qty) == (1, 1)
    m.trade(ASK, 98, 2, ts=3)        # late: counts at the clock (6), same run: {99, 98}, qty 3
    assert (m.run_levels, m.run_qty, m.sweeps) == (2, 3, 2)
    m.reset_flow()
    assert (m.run_levels, m.run_qty, m.run_side, m.sweeps) == (0, 0, -1, 0)
    m.trade(ASK, 98, 1, ts=6)        # after reset_flow a trade starts a new run
    assert (m.run_levels, m.run_qty, m.run_side, m.sweeps) == (1, 1, ASK, 0)


def test_absorption_by_hand():
    m = stream_for_runs()            # asks 101x2, 102x3; bids 99x5, 98x1
    m.execute(1, 2, ts=5)            # at the best ask 101: +2, but 101 empties: best 102, restart 0
    assert m.absorbed_ask == 0 and m.absorption(ASK) == 0.0
    m.execute(2, 1, ts=5)            # at the best ask 102: 1; 102 has 2 left: 1/2
    assert m.absorbed_ask == 1 and m.absorption(ASK) == 0.5
    m.execute(2, 1, ts=5)            # 2 absorbed, 1 left: 2/1
    assert m.absorbed_ask == 2 and m.absorption(ASK) == 2.0
    m.execute(3, 1, ts=5)            # sell at the best bid 99: 1; 4 left there
    m.trade(ASK, 99, 1, ts=6)        # a sell print at 99 too: 2
    m.trade(ASK, 98, 2, ts=6)        # a print below the best bid: not at the best price
    m.trade(BID, 99, 2, ts=6)        # a buy print at 99 is not against the bid
    assert m.absorbed_bid == 2 and m.absorption(BID) == 2 / 4
    m.add(4, BID, 99, 6, ts=7)       # the best price stays 99: the count stays
    assert m.absorbed_bid == 2 and m.absorption(BID) == 2 / 10
    m.cancel(3, ts=8)
    m.cancel(4, ts=8)                # best bid 99 -> 98: restart
    assert m.absorbed_bid == 0 and m.best_bid == 98
    m.execute(9, 1, ts=9)            # 98 empties: the bid side is empty
    assert m.absorbed_bid == 0 and math.isnan(m.absorption(BID))
    m.reset_flow()
    assert (m.absorbed_bid, m.absorbed_ask) == (0, 0)


def test_absorption_of_anonymous_qty():
    m = SignalModel.from_depth([100], [10], [101], [10])
    m.execute_anonymous(BID, 100, 4, ts=1)     # an EXECUTE of a resting (anonymous) bid: a sell
    assert m.absorbed_bid == 4 and m.absorption(BID) == 4 / 6 and m.sell_volume == 4
    assert m.row()["run_qty"] == 4 and m.run_side == ASK
    m.set_anonymous(BID, 100, 9, ts=2)         # the level grows, the price stays: 4 stays
    assert m.absorbed_bid == 4
    m.set_anonymous(BID, 100, 0, ts=3)         # the bid side empties: 0
    assert m.absorbed_bid == 0


def test_refused_events_change_nothing():
    m = stream_for_runs()
    m.execute(1, 1, ts=5)
    state = (m.ts, m.ofi, m.run_qty, m.absorbed_ask, m.row())
    for bad in (lambda: m.cancel(77, ts=50), lambda: m.execute(2, 99, ts=50),
                lambda: m.add(3, BID, 90, 1, ts=50), lambda: m.add(8, BID, 101, 1, ts=50),
                lambda: m.trade(3, 100, 1, ts=50), lambda: m.cancel_anonymous(BID, 99, 1, ts=50)):
        with pytest.raises((lob.LobError, ValueError, KeyError)):
            bad()
        assert (m.ts, m.ofi, m.run_qty, m.absorbed_ask, m.row()) == state
    assert not m.apply_event(9, BID, 1, 100, 1, 60)                 # bad kind
    assert not m.apply_event(lob.REDUCE, BID, 1, 101, 0, 60)        # qty 0
    assert m.ts == 5 and m.row()["run_qty"] == 0                    # a refused row shows no trade


def test_engine_takers_start_their_own_runs():
    m = SignalModel()
    m.add(1, ASK, 101, 1, ts=1)
    m.add(2, ASK, 102, 1, ts=1)
    m.add(3, ASK, 103, 5, ts=1)
    m.taker(BID, [(1, 1), (2, 1)], ts=2)       # one taker, two levels: a sweep
    assert (m.run_levels, m.run_qty, m.sweeps) == (2, 2, 1)
    m.taker(BID, [(3, 2)], ts=2)               # same ts and side, but its own run
    assert (m.run_levels, m.run_qty, m.sweeps) == (1, 2, 1)
    # OFI per fill: ask 101x1 empties (+1), 102x1 empties (+1), 103 5 -> 3 (+2)
    assert m.ofi == (-1) + 1 + 1 + 2   # the three adds gave -1 (101x1 on an empty side), 0, 0


def test_apply_event_draws_unknown_ids_on_anonymous_qty():
    m = SignalModel.from_depth([100], [10], [101], [10])
    assert m.apply_event(lob.CANCEL, BID, 555, 100, 3, 1)      # 10 -> 7 at the bid: e = -3
    assert m.apply_event(lob.EXECUTE, ASK, 556, 101, 4, 2)     # a buy of 4: ask 10 -> 6: e = +4
    assert not m.apply_event(lob.REDUCE, BID, 557, 99, 1, 3)   # nothing rests at 99
    assert m.ofi == 1 and m.buy_volume == 4 and m.ts == 2
    assert m.anonymous_levels() == [(BID, 100, 7), (ASK, 101, 6)]


def test_configuration_is_checked():
    for bad in ({"ofi_levels": 0}, {"ofi_levels": 11}, {"vwap_window_ns": -1}, {"halflife_ns": -1}):
        with pytest.raises(ValueError):
            SignalModel(**bad)


# --------------------------------------------------------------------------- the model's book is the C book
# The signals are only as right as the book under them: the model's book (anonymous qty, unknown
# ids drawn from it, which events are refused) must be the C book's, event by event.
from hypothesis import given, settings, strategies as st  # noqa: E402
import numpy as np  # noqa: E402

EVENTS = st.lists(st.tuples(
    st.sampled_from([lob.ADD] * 5 + [lob.CANCEL, lob.CANCEL, lob.REDUCE, lob.EXECUTE, lob.EXECUTE, lob.TRADE,
                     lob.MODIFY, lob.CLEAR, lob.ANON, 0, 9]),
    st.sampled_from([0, 0, 1, 1, 2, -1]), st.integers(0, 12), st.integers(95, 105), st.integers(-1, 6)),
    max_size=120)


@settings(max_examples=300, deadline=None)
@given(rows=EVENTS, allow_cross=st.booleans(), seeded=st.booleans())
def test_model_book_is_the_c_book(rows, allow_cross, seeded):
    ev = np.zeros(len(rows), dtype=lob.EVENT_DTYPE)
    for i, (kind, side, oid, price, qty) in enumerate(rows):
        ev[i] = (i, kind, side, oid, price, max(qty, 0) if kind == lob.ANON else qty)
    snapshot = ([100, 99], [5, 3], [101, 103], [4, 2])
    if seeded:
        book = lob.OrderBook.from_depth(*snapshot, allow_cross=allow_cross)
        model = SignalModel.from_depth(*snapshot, allow_cross=allow_cross)
    else:
        book, model = lob.OrderBook(allow_cross), SignalModel(allow_cross)
    feats = book.apply(ev, depth=3, on_error="skip")
    refused = 0
    for i, e in enumerate(ev.tolist()):
        ts, kind, side, oid, price, qty = e
        refused += not model.apply_event(kind, side, oid, price, qty, ts)
        row = feats[i]
        bids, bid_qtys, asks, ask_qtys = model.depth(3)
        assert (int(row["best_bid"]), int(row["best_bid_qty"]), int(row["best_ask"]), int(row["best_ask_qty"])) == (
            model.best_bid or 0, model.best_bid_qty, model.best_ask or 0, model.best_ask_qty), f"event {i}"
        assert row["bid_price"].tolist() == bids + [0] * (3 - len(bids)), f"event {i}"
        assert row["ask_qty"].tolist() == ask_qtys + [0] * (3 - len(ask_qtys)), f"event {i}"
        assert int(row["volume_delta"]) == model.volume_delta, f"event {i}"
    assert sum(book.last_rejected.values()) == refused
    assert [tuple(x) for x in book.anonymous_levels().tolist()] == model.anonymous_levels()
    assert (book.buy_volume, book.sell_volume, book.cross_volume, book.trade_count) == (
        model.buy_volume, model.sell_volume, model.cross_volume, model.trade_count)
    assert len(book) == len(model)
    for oid in range(13):
        assert (oid in book) == (oid in model)
        if oid in model:
            assert book.order(oid) == model.order(oid) and book.queue_ahead(oid) == model.queue_ahead(oid)
    model.check()
