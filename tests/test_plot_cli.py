"""`lob plot FILE`: a PNG for each format through the real command, and
careless input refused in one line with a non-zero exit."""
import pathlib

import numpy as np
import pytest

import lob
import lob.io
from cli_support import DBN_SAMPLE, SHARED, assert_refused, run_lob, write_itch_day, write_lobster_pair

pytest.importorskip("matplotlib")

AAPL = SHARED / "lobster" / "AAPL_2012-06-21_34200000_57600000_message_10.csv"
ITCH_SAMPLE = SHARED / "itch" / "sample.itch"
SMALL = ("--columns", "150", "--dpi", "40")          # bounded drawing time


def assert_png(proc, path):
    assert proc.returncode == 0, proc.stderr
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    assert proc.stdout.startswith(f"{path}: ") and "replayed and binned in" in proc.stdout
    assert proc.stderr == ""


def test_lobster_pair(tmp_path):
    _, msg, _ = write_lobster_pair(tmp_path)
    out = tmp_path / "lobster.png"
    proc = run_lob("plot", msg, "--out", out, *SMALL)
    assert_png(proc, out)
    assert "seeded from its orderbook file" in proc.stdout


def test_itch_busiest_stock_and_symbol(tmp_path):
    itch = tmp_path / "day.itch"
    write_itch_day(itch)
    out = tmp_path / "itch.png"
    proc = run_lob("plot", itch, "--out", out, *SMALL)
    assert_png(proc, out)
    assert "AAA (ITCH 5.0)" in proc.stdout and "2,000 events" in proc.stdout     # the busiest by default
    proc = run_lob("plot", itch, "--symbol", "BBB", "--out", out, *SMALL)
    assert_png(proc, out)
    assert "BBB (ITCH 5.0)" in proc.stdout


def test_dbn_written_and_window(tmp_path):
    start = 1_715_126_400_000_000_000
    events = lob.synth.generate(3_000, seed=8, start_ts=start, p_trade=0.05, mean_gap_ns=1_000_000)
    path = tmp_path / "day.dbn"
    lob.io.write_dbn(events, path)
    out = tmp_path / "dbn.png"
    proc = run_lob("plot", path, "--from", "00:00:01", "--to", "00:00:02", "--out", out, *SMALL)
    assert_png(proc, out)
    inside = np.count_nonzero((events["ts"] >= start + 10**9) & (events["ts"] < start + 2 * 10**9))
    assert f"{inside:,} events in the window" in proc.stdout


@pytest.mark.skipif(not AAPL.exists() or not DBN_SAMPLE.exists(), reason="../shared/data is not present")
def test_shared_samples(tmp_path):
    out = tmp_path / "aapl.png"
    proc = run_lob("plot", AAPL, "--out", out, "--from", "09:30:10", "--to", "09:30:20.5", *SMALL)
    assert_png(proc, out)
    assert "AAPL 2012-06-21 (LOBSTER" in proc.stdout
    out = tmp_path / "cme.png"
    proc = run_lob("plot", DBN_SAMPLE, "--out", out, *SMALL)
    assert_png(proc, out)
    assert "13,786 events" in proc.stdout
    # the shared ITCH sample holds no orders: refused, saying so
    assert_refused(run_lob("plot", ITCH_SAMPLE, "--out", tmp_path / "itch.png"), "sample.itch", "no order events")
    assert not (tmp_path / "itch.png").exists()


def test_default_output_name(tmp_path):
    _, msg, _ = write_lobster_pair(tmp_path)
    work = tmp_path / "here"
    work.mkdir()
    proc = run_lob("plot", msg, *SMALL, cwd=work)
    assert proc.returncode == 0 and proc.stdout.startswith("X_message_5.png: "), proc.stderr
    assert (work / "X_message_5.png").read_bytes()[:4] == b"\x89PNG"


def test_careless_inputs(tmp_path):
    _, msg, _ = write_lobster_pair(tmp_path, n=500)
    itch = tmp_path / "day.itch"
    write_itch_day(itch)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    letters = tmp_path / "letters.csv"
    letters.write_text("34200.1,1,5,100,5859400,1\n34200.2,1,x,100,5859400,1\n")
    out = tmp_path / "o.png"
    cases = [
        (("plot", tmp_path / "missing.csv"), ("missing.csv", "no such file")),
        (("plot", tmp_path), ("folder",)),
        (("plot", empty), ("empty.csv", "empty")),
        (("plot", letters, "--out", out), ("letters.csv", "line 2")),
        (("plot", msg, "--out", tmp_path / "o.txt"), ("--out must end in .png",)),
        (("plot", msg, "--out", tmp_path / "nowhere" / "o.png"), ("no such folder",)),
        (("plot", msg, "--out", tmp_path), ("folder",)),
        (("plot", msg, "--out", out, "--from", "09:31", "--to", "09:30"), ("--to 09:30 is not after --from 09:31",)),
        (("plot", msg, "--out", out, "--from", "15:00", "--to", "16:00"), ("no events between 15:00:00",)),
        (("plot", msg, "--out", out, "--format", "dbn"), ("not Databento DBN",)),
        (("plot", itch, "--out", out, "--symbol", "ZZZ"), ("no order events for symbol 'ZZZ'",)),
        (("plot", DBN_SAMPLE if DBN_SAMPLE.exists() else msg, "--out", out, "--format",
          "dbn" if DBN_SAMPLE.exists() else "lobster", "--symbol", "ES"),
         ("--symbol takes a numeric instrument_id",) if DBN_SAMPLE.exists() else ("",)),
    ]
    for args, fragments in cases:
        if fragments == ("",):
            continue
        line = assert_refused(run_lob(*args), *fragments)
        assert line.startswith("lob plot: "), line
    assert not out.exists()
    # malformed command lines: argparse's one line, exit 2
    for bad in (("--from", "9.30"), ("--to", "25:00:00"), ("--columns", "0"), ("--band", "-1")):
        assert_refused(run_lob("plot", msg, *bad), bad[0], status=2)


def test_without_matplotlib(tmp_path):
    """The [plot] extra missing: one line naming it, before reading the file."""
    import subprocess
    import sys

    _, msg, _ = write_lobster_pair(tmp_path, n=200)
    code = ("import sys; sys.modules['matplotlib'] = None; from lob.cli import main; "
            f"sys.exit(main(['plot', {str(msg)!r}, '--out', {str(tmp_path / 'o.png')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert_refused(proc, "lob plot:", "pip install 'lobcore[plot]'")


def test_readme_picture():
    """The README shows the CME sample's chart, made by the command beside it."""
    root = pathlib.Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    picture = root / "docs" / "session_cme.png"
    assert "![Session chart" in readme and "(docs/session_cme.png)" in readme
    assert "lob plot ../shared/data/dbn/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst" in readme
    assert "--out docs/session_cme.png" in readme
    data = picture.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and 20_000 < len(data) < 400_000
