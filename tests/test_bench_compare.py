"""Smoke run of bench/compare.py (python -m lob bench): every implementation
once on a tiny stream, so the comparison cannot rot.  Figures are not
checked (noise); that every row ran and agreed on top of book is.

The peers from PyPI (NautilusTrader, bmoscon, hftbacktest, itch-book) live in
bench/.venv-peers; building it takes minutes, so this test uses it when it
exists and builds it only with LOB_BENCH_PEERS=1 (.ci/run sets it)."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMPARE = ROOT / "bench" / "compare.py"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    pytest.importorskip("sortedcontainers")
    if os.environ.get("LOB_BENCH_PEERS") == "1":
        sys.path.insert(0, str(ROOT / "bench"))
        from peers import venv
        python, reason = venv.peer_python()
        assert python is not None, reason
        assert reason is None, reason
    out = tmp_path_factory.mktemp("bench") / "RESULTS.md"
    proc = subprocess.run([sys.executable, "-m", "lob", "bench", "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out.read_text()


def rows(text, section):
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [line for line in body.splitlines() if line.startswith("| ") and not line.startswith("| implementation")
            and not line.startswith("| path") and not line.startswith("| target")]


def test_lobcore_and_the_cpp_reference_ran(report):
    replay = "\n".join(rows(report, "Book replay"))
    for name in ("lobcore batch", "lobcore per call", "C++ reference", "plain Python (sortedcontainers)"):
        line = next((r for r in rows(report, "Book replay") if name in r), None)
        assert line is not None, f"{name} missing:\n{replay}"
        assert "not timed" not in line, line
    assert "CPU:" in report and "Compiler:" in report


def test_every_peer_ran_or_says_why(report):
    venv_exists = (ROOT / "bench" / ".venv-peers" / "bin" / "python").exists()
    for name in ("NautilusTrader", "bmoscon", "hftbacktest"):
        line = next((r for r in rows(report, "Book replay") if name in r or name.lower() in r.lower()), None)
        if venv_exists:
            assert line is not None and "not timed" not in line, line
    itch = rows(report, "ITCH 5.0")
    assert any("lobcore" in r for r in itch)
    if venv_exists:
        assert any("itch-book" in r and "skipped" not in r for r in itch), itch


def test_latency_table(report):
    latency = rows(report, "Per-event latency")
    assert len(latency) == 4
