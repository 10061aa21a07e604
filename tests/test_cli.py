"""The `lob` command: demo, replay, lobster-check, version."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import lob
from lob.cli import main


def test_demo(capsys):
    assert main(["demo", "--events", "20000"]) == 0
    out = capsys.readouterr().out
    assert "replayed 20,000 synthetic L3 events" in out and "events/s" in out and "same final book" in out
    assert "rejected      none" in out


def test_version(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == lob.__version__


def test_python_m_lob_and_broken_pipe():
    proc = subprocess.run([sys.executable, "-m", "lob", "version"], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == lob.__version__
    # `lob demo | head -1`: the reader leaves early, the command exits quietly
    proc = subprocess.run(f"{sys.executable} -m lob demo --events 5000 | head -1", shell=True,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr


def test_replay_lobster_seeded(tmp_path, capsys):
    events = lob.synth.generate(3000, seed=4, target_orders=300)
    msg, book = tmp_path / "X_message_5.csv", tmp_path / "X_orderbook_5.csv"
    lob.synth.write_lobster(events, msg, book, levels=5)
    out_file = tmp_path / "features.npy"
    assert main(["replay", str(msg), "--depth", "2", "--features", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "seeded from X_orderbook_5.csv row 0" in out and "rejected      none" in out
    features = np.load(out_file)
    assert len(features) == 2999 and features.dtype == lob.feature_dtype(2)
    reference = lob.OrderBook().apply(events, depth=2)
    assert features[-1]["bid_qty"].tolist() == reference[-1]["bid_qty"].tolist()


def test_replay_itch(tmp_path, capsys):
    streams = {"AAA": lob.synth.generate(2000, seed=1, target_orders=200),
               "BBB": lob.synth.generate(1000, seed=2, target_orders=200, first_id=10**6)}
    path = tmp_path / "day.itch"
    lob.synth.write_itch(streams, path)
    assert main(["replay", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 stocks" in out and "AAA: 2,000 events" in out and "BBB: 1,000 events" in out
    assert main(["replay", str(path), "--symbol", "BBB"]) == 0
    assert "AAA" not in capsys.readouterr().out.split("stocks", 1)[1]
    with pytest.raises(SystemExit, match="no order events for symbol"):
        main(["replay", str(path), "--symbol", "ZZZ"])


def test_replay_errors(tmp_path):
    with pytest.raises(SystemExit, match="no such file"):
        main(["replay", str(tmp_path / "missing.itch")])
    events = lob.synth.generate(100, seed=1)
    lob.synth.write_lobster(events, tmp_path / "m.csv", tmp_path / "o.csv")
    with pytest.raises(SystemExit, match=".npy or .parquet"):
        main(["replay", str(tmp_path / "m.csv"), "--features", str(tmp_path / "f.txt")])


DBN_SAMPLE = (pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "dbn"
              / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst")


@pytest.mark.skipif(not DBN_SAMPLE.exists(), reason="../shared/data/dbn is not present")
def test_replay_dbn(capsys):
    pytest.importorskip("databento_dbn")
    pytest.importorskip("zstandard")
    assert main(["replay", str(DBN_SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "Databento MBO, 13,786 events" in out   # 5 fills + their C/M are 5 EXECUTEs and "rejected      none" in out


def test_replay_features_parquet(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    events = lob.synth.generate(500, seed=4, target_orders=100)
    lob.synth.write_lobster(events, tmp_path / "m.csv", tmp_path / "o.csv")
    out = tmp_path / "f.parquet"
    assert main(["replay", str(tmp_path / "m.csv"), "--depth", "2", "--features", str(out)]) == 0
    table = pq.read_table(out)
    assert table.num_rows == 500 and table.column("bid_qty").type == pa.list_(pa.int64())
    reference = lob.OrderBook().apply(events, depth=2)
    assert table.column("volume_delta").to_pylist() == reference["volume_delta"].tolist()
    assert table.column("bid_qty").to_pylist()[-1] == reference[-1]["bid_qty"].tolist()
