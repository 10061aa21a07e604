"""`lob exec-sim` and `lob calc` through the `lob` command, and lob.sim.execute
/ value_recovery in Python."""
import importlib.util
import json
import math
import sys
import types

import numpy as np
import pytest

import lob
import lob.cli
import lob.sim
from cli_support import DBN_SAMPLE, SHARED, assert_refused, run_lob, write_itch_day, write_lobster_pair

AAPL = SHARED / "lobster" / "AAPL_2012-06-21_34200000_57600000_message_10.csv"
HAS_PLOT = importlib.util.find_spec("lob.plot") is not None


def test_execute_strategies_on_a_synthetic_day():
    events = lob.synth.generate(60_000, seed=21)
    start = int(events["ts"][20_000])
    reports = {name: lob.sim.execute(events, "buy", 2_000, start=start, horizon_ns=300_000_000, strategy=name,
                                     latency_ns=100_000) for name in lob.sim.STRATEGIES}
    market, passive, slices = reports["market"], reports["passive"], reports["slices"]
    for r in reports.values():
        assert r.filled == 2_000 and r.arrival_mid == market.arrival_mid
        fills = r.fills
        assert fills["qty"].sum() == r.filled
        assert r.avg_price == pytest.approx((fills["qty"] * fills["price"]).sum() / r.filled)
        assert r.slippage_bps == pytest.approx((r.avg_price - r.arrival_mid) / r.arrival_mid * 1e4)
        assert r.spread_captured == pytest.approx(1 - (r.avg_price - r.arrival_mid) / (r.arrival_spread / 2))
        assert r.maker_share == pytest.approx(fills["qty"][fills["liquidity"] == 0].sum() / r.filled)
        assert set(r.markout_bps) == {1, 10, 60}
    assert market.maker_share == 0 and len(market.orders) == 1
    assert (market.fills["ts"] == start + 100_000).all()
    assert passive.orders["price"][0] > 0 and len(slices.orders) >= 10
    # the passive limit sat at the best bid at start, below the mid
    assert passive.orders["price"][0] < market.arrival_mid
    assert (passive.fills["price"][passive.fills["liquidity"] == 0] == passive.orders["price"][0]).all()


def test_execute_sell_signs_and_markouts():
    events = lob.synth.generate(30_000, seed=22, mean_gap_ns=200_000_000)    # ~100 min of events
    start = int(events["ts"][5_000])
    r = lob.sim.execute(events, lob.ASK, 300, start=start, horizon_ns=0, strategy="market")
    assert r.side == lob.ASK and r.filled == 300
    assert r.slippage_bps == pytest.approx((r.arrival_mid - r.avg_price) / r.arrival_mid * 1e4)
    sim = lob.Simulator(events)
    sim.market(lob.ASK, 300, ts=start)
    sim.run(start + 10 * 10**9)
    assert r.markout_bps[10] == pytest.approx((r.avg_price - sim.book.mid) / r.avg_price * 1e4)
    assert all(not math.isnan(v) for v in r.markout_bps.values())


def test_execute_refuses_bad_arguments():
    events = lob.synth.generate(1_000, seed=1)
    start = int(events["ts"][500])
    with pytest.raises(ValueError, match="strategy"):
        lob.sim.execute(events, "buy", 5, start=start, horizon_ns=1, strategy="vwap")
    with pytest.raises(ValueError, match="side"):
        lob.sim.execute(events, "hold", 5, start=start, horizon_ns=1, strategy="market")
    with pytest.raises(ValueError, match="qty"):
        lob.sim.execute(events, "buy", 0, start=start, horizon_ns=1, strategy="market")
    with pytest.raises(ValueError, match="no two-sided book"):
        lob.sim.execute(events, "buy", 5, start=int(events["ts"][0]) - 1, horizon_ns=1, strategy="market")
    book = lob.OrderBook()
    lob.sim.execute(events, "buy", 5, start=start, horizon_ns=10, strategy="passive", book=book)
    assert len(book) == 0                                      # the caller's book is copied, not replayed into


def test_value_recovery():
    v = lob.sim.value_recovery(50_000_000, 1.5, fill_value=20_000)
    assert (v.monthly, v.annual, v.per_fill) == (7_500.0, 90_000.0, 3.0)
    assert lob.sim.value_recovery(1e6, 2).per_fill is None
    with pytest.raises(ValueError):
        lob.sim.value_recovery(-1, 2)
    with pytest.raises(ValueError):
        lob.sim.value_recovery(1e6, float("nan"))


@pytest.mark.skipif(not AAPL.exists(), reason="../shared/data/lobster is not present")
def test_exec_sim_lobster_pair_and_calc(tmp_path):
    proc = run_lob("exec-sim", AAPL, "--side", "buy", "--qty", "500", "--start", "09:30:05", "--horizon", "30s",
                   "--latency", "500us")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "with AAPL_2012-06-21_34200000_57600000_orderbook_10.csv" in lines[0]
    assert lines[2].split() == ["market", "passive", "slices"]
    assert lines[3].split() == ["filled", "500", "500", "500"]
    assert any(line.split()[:2] == ["markout", "60s"] for line in lines)
    proc = run_lob("exec-sim", AAPL, "--side", "buy", "--qty", "500", "--start", "09:30:05", "--horizon", "30s",
                   "--latency", "500us", "--json")
    report = json.loads(proc.stdout)
    strategies = report["strategies"]
    assert set(strategies) == {"market", "passive", "slices"} and report["price_scale"] == 10_000
    assert strategies["market"]["filled"] == 500 and strategies["market"]["maker_share"] == 0
    path = tmp_path / "report.json"
    path.write_text(proc.stdout)
    saved = strategies["market"]["slippage_bps"] - min(v["slippage_bps"] for k, v in strategies.items()
                                                       if k != "market")
    proc = run_lob("calc", "--monthly-volume", "50000000", "--from-sim", path)
    assert proc.returncode == 0, proc.stderr
    assert f"${50_000_000 * 12 * saved / 10_000:,.2f}" in proc.stdout
    assert f"{saved:,.2f} bps saved" in proc.stdout


def test_calc_from_the_command_line(tmp_path):
    proc = run_lob("calc", "--monthly-volume", "50000000", "--bps", "1.5", "--fill-size", "20000")
    assert proc.returncode == 0
    assert "$90,000.00" in proc.stdout and "$7,500.00" in proc.stdout and "$3.0000" in proc.stdout
    assert_refused(run_lob("calc", "--monthly-volume", "5e7", "--from-sim", tmp_path / "nope.json"), "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert_refused(run_lob("calc", "--monthly-volume", "5e7", "--from-sim", bad), "bad.json", "line 1")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"{\xac\x00\xff")
    assert_refused(run_lob("calc", "--monthly-volume", "5e7", "--from-sim", binary), "binary.json",
                   "byte offset 1", "not UTF-8")
    alone = tmp_path / "alone.json"
    alone.write_text(json.dumps({"strategies": {"market": {"slippage_bps": 1.0}}}))
    assert_refused(run_lob("calc", "--monthly-volume", "5e7", "--from-sim", alone), "besides 'market'")
    assert_refused(run_lob("calc", "--monthly-volume", "-5", "--bps", "1"), "--monthly-volume")
    assert_refused(run_lob("calc", "--monthly-volume", "5"), "--bps", status=2)


@pytest.mark.skipif(not DBN_SAMPLE.exists(), reason="../shared/data/dbn is not present")
def test_exec_sim_dbn():
    pytest.importorskip("databento_dbn")
    proc = run_lob("exec-sim", DBN_SAMPLE, "--side", "sell", "--qty", "20", "--start", "+0.5s", "--horizon", "1s",
                   "--latency", "100us", "--strategies", "market,passive")
    assert proc.returncode == 0, proc.stderr
    assert "2024-05-08 00:00:00.500000000" in proc.stdout
    assert proc.stdout.splitlines()[2].split() == ["market", "passive"]


def test_exec_sim_itch_needs_a_symbol(tmp_path):
    path = tmp_path / "day.itch"
    streams = write_itch_day(path)
    assert_refused(run_lob("exec-sim", path, "--side", "buy", "--qty", "300", "--start", "+0.5s"),
                   "--symbol", "AAA")
    start = str(int(streams["AAA"]["ts"][1_000]))
    proc = run_lob("exec-sim", path, "--symbol", "AAA", "--side", "buy", "--qty", "300", "--start", start,
                   "--horizon", "2s", "--strategies", "slices", "--slices", "4")
    assert proc.returncode == 0, proc.stderr
    assert "ITCH day.itch AAA" in proc.stdout and proc.stdout.splitlines()[2].split() == ["slices"]
    assert_refused(run_lob("exec-sim", path, "--symbol", "ZZZ", "--side", "buy", "--qty", "1", "--start", start),
                   "ZZZ")


def test_exec_sim_refusals(tmp_path):
    events, msg, book = write_lobster_pair(tmp_path)
    book.unlink()
    assert_refused(run_lob("exec-sim", msg, "--side", "buy", "--qty", "5", "--start", "+1s"),
                   "faithful stream of its pair", "--orderbook")
    events, msg, book = write_lobster_pair(tmp_path)
    common = [msg, "--side", "buy", "--qty", "5"]
    assert_refused(run_lob("exec-sim", *common, "--start", "soon"), "--start")
    assert_refused(run_lob("exec-sim", *common, "--start", "+1s", "--strategies", "market,twap"), "twap")
    assert_refused(run_lob("exec-sim", *common, "--start", "0"), "no two-sided book")
    assert_refused(run_lob("exec-sim", *common, "--start", "+1s", "--latency", "fast"), "--latency", status=2)
    assert_refused(run_lob("exec-sim", tmp_path / "missing.csv", "--side", "buy", "--qty", "5", "--start", "0"),
                   "missing.csv")
    if not HAS_PLOT:
        assert_refused(run_lob("exec-sim", *common, "--start", "+1s", "--plot", tmp_path / "x.png"), "--plot")


def test_exec_sim_plot_draws_a_png(tmp_path):
    """--plot with the real lob.plot (matplotlib is in the test extra): the
    chart of every strategy's orders, fills and markouts is a PNG."""
    pytest.importorskip("matplotlib")
    events, msg, book = write_lobster_pair(tmp_path)
    out = tmp_path / "exec.png"
    proc = run_lob("exec-sim", msg, "--side", "sell", "--qty", "300", "--start", "+1s", "--horizon", "1s",
                   "--plot", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert str(out) in proc.stdout


def test_exec_sim_plot_calls_lob_plot_session(tmp_path, monkeypatch, capsys):
    """--plot hands the events, the own orders, fills and markouts to
    lob.plot.session (a stand-in records the call here)."""
    calls = []
    fake = types.ModuleType("lob.plot")
    fake.session = lambda events, **kw: calls.append((events, kw))
    monkeypatch.setitem(sys.modules, "lob.plot", fake)
    monkeypatch.setattr(lob, "plot", fake, raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "lob.plot" else None)
    events, msg, book = write_lobster_pair(tmp_path)
    out = tmp_path / "x.png"
    status = lob.cli.main(["exec-sim", str(msg), "--side", "sell", "--qty", "300", "--start", "+1s",
                           "--horizon", "1s", "--plot", str(out)])
    assert status == 0, capsys.readouterr().err
    (drawn, kw), = calls
    assert drawn.dtype == lob.EVENT_DTYPE and kw["out"] == str(out) and kw["price_scale"] == 10_000
    assert kw["own_fills"].dtype == lob.SIM_FILL_DTYPE and len(kw["own_fills"]) > 0
    assert {"order_id", "side", "price", "qty", "ts_submit", "ts_end"} <= set(kw["own_orders"].dtype.names)
    assert set(kw["markouts"]) == {"market", "passive", "slices"} and kw["t0"] < kw["t1"]
