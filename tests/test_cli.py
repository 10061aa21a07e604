"""The `lob` command doing its work: demo, replay (ITCH, LOBSTER, DBN), features, version, bench, help."""
import subprocess
import sys

import numpy as np
import pytest

import lob
from cli_support import DBN_SAMPLE, run_lob, write_itch_day, write_lobster_pair


def test_demo_prints_what_it_measured_against_the_readme_table():
    proc = run_lob("demo", "--events", "20000")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "replayed 20,000 synthetic L3 events" in out and "events/s" in out and "same final book" in out
    assert "rejected      none" in out
    # every README table cell the demo measures is named, and what it measures besides is said to be outside it
    assert 'README table, lobcore "OrderBook.apply", column "apply"' in out
    assert 'README table, lobcore "OrderBook.apply", column "apply + read top of book, microprice, imbalance"' in out
    assert 'README table, lobcore "per call", column "apply + read top of book, microprice, imbalance"' in out
    assert out.count("not in the table") == 2
    timing = out.split("  timing", 1)[1].splitlines()[1:]
    assert len(timing) == 5 and all(float(line.split()[0]) > 0 for line in timing)


def test_version_and_python_m_lob_and_broken_pipe():
    assert run_lob("version").stdout.strip() == lob.__version__
    proc = subprocess.run([sys.executable, "-m", "lob", "version"], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == lob.__version__
    # `lob demo | head -1`: the reader leaves early, the command exits quietly
    proc = subprocess.run(f"{sys.executable} -m lob demo --events 5000 | head -1", shell=True,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr


def test_replay_lobster_seeded_with_features_in_dollars(tmp_path):
    events, msg, orderbook = write_lobster_pair(tmp_path)
    out_file = tmp_path / "features.npy"
    proc = run_lob("replay", msg, "--depth", "2", "--features", out_file)
    assert proc.returncode == 0, proc.stderr
    assert "seeded from X_orderbook_5.csv row 0" in proc.stdout and "rejected      none" in proc.stdout
    assert f"features      {out_file}" in proc.stdout
    features = np.load(out_file)
    assert len(features) == len(lob.io.read_lobster_stream(msg, orderbook).events) and features.dtype == lob.feature_dtype(2)
    reference = lob.OrderBook().apply(events, depth=2)
    assert features[-1]["bid_qty"].tolist() == reference[-1]["bid_qty"].tolist()
    # prices: LOBSTER's integers are dollars x 10,000; the summary shows dollars, the file the integers
    book = lob.OrderBook()
    book.apply(events, record=False)
    assert f"bid {book.best_bid / 10_000:.4f} x {book.best_bid_qty}" in proc.stdout
    assert "prices        dollars (LOBSTER prices / 10,000" in proc.stdout
    assert features[-1]["best_bid"] == book.best_bid


def test_replay_itch_summaries_in_dollars(tmp_path):
    path = tmp_path / "day.itch"
    streams = write_itch_day(path)
    proc = run_lob("replay", path)
    assert proc.returncode == 0, proc.stderr
    assert "2 stocks" in proc.stdout and "AAA: 2,000 events" in proc.stdout and "BBB: 1,000 events" in proc.stdout
    book = lob.OrderBook()
    book.apply(streams["AAA"], record=False)
    # ITCH prices are 1e-4 dollars; these synthetic prices have a 1e-4 tick, so four decimals show
    assert f"bid {book.best_bid / 10_000:.4f} x {book.best_bid_qty}" in proc.stdout
    proc = run_lob("replay", path, "--symbol", "BBB")
    assert proc.returncode == 0 and "AAA" not in proc.stdout.split("stocks", 1)[1]


def test_penny_prices_show_two_decimals(tmp_path):
    # a $58.53 stock quoted in cents: ITCH integers 585,300 with a tick of 100
    events = lob.synth.generate(500, seed=3, start_price=585_300, tick=100, target_orders=100)
    path = tmp_path / "penny.itch"
    lob.synth.write_itch({"PNY": events}, path)
    book = lob.OrderBook()
    book.apply(events, record=False)
    proc = run_lob("replay", path)
    assert proc.returncode == 0, proc.stderr
    assert f"bid {book.best_bid / 10_000:.2f} x" in proc.stdout and f"bid {book.best_bid / 10_000:.4f} x" not in proc.stdout


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_itch_features_without_symbol_hold_every_stock(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    path = tmp_path / "day.itch"
    streams = write_itch_day(path)
    out = tmp_path / f"all{suffix}"
    proc = run_lob("replay", path, "--depth", "3", "--features", out)
    assert proc.returncode == 0, proc.stderr
    assert "every stock's rows (2 stocks)" in proc.stdout and "'symbol' column" in proc.stdout
    if suffix == ".npy":
        rows = np.load(out)
        symbols = rows["symbol"].astype(str).tolist()
        columns = {name: rows[name] for name in lob.feature_dtype(3).names}
    else:
        import pyarrow.parquet as pq
        table = pq.read_table(out)
        symbols = table.column("symbol").to_pylist()
        columns = {name: np.array(table.column(name).to_pylist()) for name in lob.feature_dtype(3).names}
    assert symbols == ["AAA"] * 2000 + ["BBB"] * 1000        # stock by stock, in symbol order
    offset = 0
    for symbol in ("AAA", "BBB"):
        reference = lob.OrderBook().apply(streams[symbol], depth=3)
        part = slice(offset, offset + len(reference))
        for name in ("ts", "best_bid", "best_ask_qty", "volume_delta", "bid_qty", "ask_price"):
            assert columns[name][part].tolist() == reference[name].tolist(), (symbol, name)
        offset += len(reference)


def test_itch_features_with_symbol_keep_the_plain_row(tmp_path):
    path = tmp_path / "day.itch"
    streams = write_itch_day(path)
    out = tmp_path / "bbb.npy"
    assert run_lob("replay", path, "--symbol", "BBB", "--features", out).returncode == 0
    rows = np.load(out)
    assert rows.dtype == lob.feature_dtype(0)
    assert rows.tobytes() == lob.OrderBook().apply(streams["BBB"]).tobytes()


def test_itch_without_orders_still_writes_an_empty_features_file(tmp_path):
    # only a directory message: a real file can hold no order for a while
    path = tmp_path / "dir.itch"
    lob.synth.write_itch({"AAA": lob.synth.generate(0)}, path)
    out = tmp_path / "none.npy"
    proc = run_lob("replay", path, "--features", out)
    assert proc.returncode == 0 and "no order events" in proc.stdout, proc.stderr
    assert len(np.load(out)) == 0


@pytest.mark.skipif(not DBN_SAMPLE.exists(), reason="../shared/data/dbn is not present")
def test_replay_dbn_prices_in_the_instruments_units(tmp_path):
    pytest.importorskip("databento_dbn")
    pytest.importorskip("zstandard")
    out = tmp_path / "es.npy"
    proc = run_lob("replay", DBN_SAMPLE, "--features", out)
    assert proc.returncode == 0, proc.stderr
    assert "Databento MBO, 13,786 events" in proc.stdout and "rejected      none" in proc.stdout
    # ES trades in 0.25 index points; DBN carries 1e-9 units (0.25 = 250,000,000)
    rows = np.load(out)
    bid, ask = int(rows[-1]["best_bid"]), int(rows[-1]["best_ask"])
    assert bid % 250_000_000 == 0 and ask % 250_000_000 == 0
    assert f"bid {bid / 1e9:.2f} x" in proc.stdout and f"ask {ask / 1e9:.2f} x" in proc.stdout
    assert f"spread {(ask - bid) / 1e9:.2f}" in proc.stdout
    assert "prices        the instrument's units (DBN prices / 1e9" in proc.stdout
    assert str(bid) not in proc.stdout


@pytest.mark.skipif(not DBN_SAMPLE.exists(), reason="../shared/data/dbn is not present")
def test_replay_dbn_instrument_choice():
    pytest.importorskip("databento_dbn")
    pytest.importorskip("zstandard")
    assert run_lob("replay", DBN_SAMPLE, "--symbol", "5602").returncode == 0
    proc = run_lob("replay", DBN_SAMPLE, "--symbol", "1")
    assert proc.returncode == 1 and "instrument_id=1 is not in" in proc.stderr and "5602" in proc.stderr


def test_replay_features_parquet_lobster(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    events = lob.synth.generate(500, seed=4, target_orders=100)
    lob.synth.write_lobster(events, tmp_path / "m.csv", tmp_path / "o.csv")
    out = tmp_path / "f.parquet"
    assert run_lob("replay", tmp_path / "m.csv", "--depth", "2", "--features", out).returncode == 0
    table = pq.read_table(out)
    assert table.num_rows == 500 and table.column("bid_qty").type == pa.list_(pa.int64())
    reference = lob.OrderBook().apply(events, depth=2)
    assert table.column("volume_delta").to_pylist() == reference["volume_delta"].tolist()
    assert table.column("bid_qty").to_pylist()[-1] == reference[-1]["bid_qty"].tolist()


def test_replay_help_names_every_format():
    proc = run_lob("replay", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for word in ("LOBSTER", "ITCH", "DBN", "Databento", "--depth", "0 to 1,000", "'symbol' column"):
        assert word in text, word
    assert "DBN" in run_lob("--help").stdout


def test_bench_without_a_checkout_exits_non_zero(tmp_path):
    # lob imported from a folder with no lobcore checkout around it (what a wheel install looks like)
    fake = tmp_path / "site" / "lob" / "__init__.py"
    code = ("import sys, lob, lob.cli; lob.__file__ = sys.argv[1]; "
            "sys.exit(lob.cli.main(['bench', '--quick']))")
    proc = subprocess.run([sys.executable, "-c", code, str(fake)], capture_output=True, text=True)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and "needs a source checkout" in proc.stderr and "Traceback" not in proc.stderr


def test_bench_finds_this_checkout():
    import pathlib

    from lob.cli import _checkout_root
    assert _checkout_root() == pathlib.Path(__file__).resolve().parents[1]
