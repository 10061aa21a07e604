"""bench/peers protocol: run_peer.py drives the plain-Python sortedcontainers peer in
this interpreter (no peer venv), checks its top of book against lobcore's, times
it, and reports a disagreement or an error as JSON instead of crashing."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import lob

pytest.importorskip("sortedcontainers")

BENCH = pathlib.Path(__file__).resolve().parent.parent / "bench"
RUN_PEER = BENCH / "peers" / "run_peer.py"
N = 3000


def run_peer(*args):
    out = subprocess.run([sys.executable, str(RUN_PEER), *map(str, args)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    path = tmp_path_factory.mktemp("peers") / "events.npy"
    events = lob.synth.generate(N, seed=7)
    np.save(path, events)
    rows = lob.OrderBook().apply(events)
    tob = np.stack([rows["best_bid"], rows["best_bid_qty"], rows["best_ask"], rows["best_ask_qty"]], axis=1)
    np.save(str(path) + ".tob.npy", tob.astype(np.int64))
    return path, tob


@pytest.mark.parametrize("mode", ["apply", "signals"])
def test_sortedbook_checked_and_timed(stream, mode):
    path, _ = stream
    result = run_peer("sortedbook", path, "--mode", mode, "--repeat", 2, "--check", N)
    assert result["ok"], result
    assert result["peer"] == "plain Python (sortedcontainers)"
    assert result["python"] == sys.version.split()[0]
    assert result["mode"] == mode and result["events"] == N and result["checked"] == N
    assert len(result["ns_per_event"]) == 2 and all(t > 0 for t in result["ns_per_event"])
    assert result["peak_rss_mib"] > 0 and result["version"]


def test_disagreement_is_reported_not_timed(stream, tmp_path):
    path, tob = stream
    bad = tmp_path / "events.npy"
    np.save(bad, np.load(path))
    wrong = tob.astype(np.int64).copy()
    wrong[100, 1] += 1
    np.save(str(bad) + ".tob.npy", wrong)
    result = run_peer("sortedbook", bad, "--mode", "apply", "--repeat", 1, "--check", 500)
    assert result["ok"] is False and "ns_per_event" not in result
    assert result["mismatch"]["index"] == 100
    assert result["mismatch"]["expected"] == wrong[100].tolist()
    assert result["mismatch"]["got"] == tob[100].tolist()


def test_without_expected_rows_the_peer_rows_are_printed(stream, tmp_path):
    path, tob = stream
    bare = tmp_path / "bare.npy"
    np.save(bare, np.load(path)[:50])
    result = run_peer("sortedbook", bare, "--mode", "signals", "--repeat", 1, "--check", 50)
    assert result["ok"], result
    assert result["tob"] == tob[:50].tolist()


def test_errors_are_json(stream):
    path, _ = stream
    result = run_peer("no_such_peer", path, "--mode", "apply", "--repeat", 1)
    assert result["ok"] is False and "no_such_peer" in result["error"]
    result = run_peer("sortedbook", path, "--mode", "sideways", "--repeat", 1)
    assert result["ok"] is False and "--mode" in result["error"]


def test_every_peer_module_pins_its_requirements():
    sys.path.insert(0, str(BENCH))
    try:
        from peers import venv
    finally:
        sys.path.remove(str(BENCH))
    requires = venv.all_requires()
    assert {"nautilus", "sortedbook"} <= set(requires)
    for module, reqs in requires.items():
        assert reqs and all("==" in req for req in reqs), (module, reqs)
