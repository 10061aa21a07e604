"""Running the real `lob` command in a subprocess, and the small files the CLI tests feed it."""
import os
import pathlib
import subprocess
import sys

import lob

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
DBN_SAMPLE = SHARED / "dbn" / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst"


def lob_command():
    """The `lob` console script of this venv (python -m lob when it is not installed)."""
    script = pathlib.Path(sys.executable).with_name("lob.exe" if os.name == "nt" else "lob")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lob"]


def run_lob(*args, cwd=None, timeout=300):
    """Run `lob ARGS...`; returns the CompletedProcess (text stdout / stderr)."""
    return subprocess.run(lob_command() + [str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def assert_refused(proc, *fragments, status=1):
    """A refusal: the exit status, no traceback, one line on stderr holding every fragment."""
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert str(fragment) in lines[0], (fragment, lines[0])
    return lines[0]


def write_itch_day(path, **streams):
    """An ITCH 5.0 file with one lob.synth stream per stock (default AAA 2,000 and BBB 1,000 events)."""
    streams = streams or {"AAA": lob.synth.generate(2000, seed=1, target_orders=200),
                          "BBB": lob.synth.generate(1000, seed=2, target_orders=200, first_id=10**6)}
    lob.synth.write_itch(streams, path)
    return streams


def write_lobster_pair(folder, n=3000, levels=5, seed=4):
    """A LOBSTER message / orderbook pair (X_message_5.csv, X_orderbook_5.csv); returns (events, message, book)."""
    events = lob.synth.generate(n, seed=seed, target_orders=300)
    msg, book = folder / f"X_message_{levels}.csv", folder / f"X_orderbook_{levels}.csv"
    lob.synth.write_lobster(events, msg, book, levels=levels)
    return events, msg, book
