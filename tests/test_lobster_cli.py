"""`lob lobster-check` and `lob replay` on LOBSTER files, through the real
command: every row of both shared pairs, messages alone, and careless input
answered in one line with a non-zero exit."""
import pathlib
import subprocess
import sys

import pytest

import lob
import lob.io

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"
GOOG = (SHARED / "GOOG_2012-06-21_34200000_57600000_message_1.csv",
        SHARED / "GOOG_2012-06-21_34200000_57600000_orderbook_1.csv")
AAPL = (SHARED / "AAPL_2012-06-21_34200000_57600000_message_10.csv",
        SHARED / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv")
needs_shared = pytest.mark.skipif(not GOOG[0].exists() or not AAPL[0].exists(),
                                  reason="../shared/data/lobster is not present")


def lob_command(*args):
    return subprocess.run([sys.executable, "-m", "lob", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def refused_in_one_line(proc, *words):
    assert proc.returncode == 1, proc       # the CLI's refusal status (2 is a malformed command line)
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@needs_shared
@pytest.mark.parametrize("pair,rows,resynced", [(GOOG, 49_482, 6_169), (AAPL, 999, 14)])
def test_lobster_check_matches_every_row(pair, rows, resynced):
    proc = lob_command("lobster-check", *pair)
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == f"matched {rows}/{rows} rows, {resynced} resynced"
    assert f"{rows:,} rows" in lines[0]


@needs_shared
@pytest.mark.parametrize("pair,rows,levels", [(GOOG, 49_482, 1), (AAPL, 999, 10)])
def test_replay_with_the_orderbook_beside_it_reproduces_every_row(pair, rows, levels):
    proc = lob_command("replay", pair[0])
    assert proc.returncode == 0 and proc.stderr == ""
    out = proc.stdout
    assert f"seeded from {pair[1].name} row 0" in out and "rejected      none" in out
    assert (f"reproduced    every row: every level (levels a side: {levels}) equals {pair[1].name} after each of "
            f"the {rows:,} message rows (top of book checked: {rows:,}/{rows:,})") in out


@needs_shared
def test_replay_of_messages_alone_says_what_it_cannot_know():
    proc = lob_command("replay", GOOG[0], "--orderbook", "none")
    assert proc.returncode == 0 and proc.stderr == ""
    out = proc.stdout
    assert "the message file alone (--orderbook none)" in out and "rejected      none" in out
    assert "unknown ids   4,476 messages named orders the file never added" in out
    assert "stale levels  " in out and "levels dropped (a message proved them gone)" in out
    touch = next(line for line in out.splitlines() if line.startswith("  touch"))
    rate = float(touch.split("(")[1].split("%")[0])
    assert rate > 90 and "visible executions found our best price at their price" in touch
    assert "vs orderbook  best bid and ask equal" in out
    assert "a message file alone cannot reproduce the levels outside its top-K window" in out


def test_replay_of_a_message_file_without_its_pair(tmp_path):
    events = lob.synth.generate(2000, seed=3, target_orders=200)
    msg = tmp_path / "lonely.csv"
    lob.io.write_lobster(events, msg, tmp_path / "book.csv")
    proc = lob_command("replay", msg)
    assert proc.returncode == 0 and "(no orderbook file beside it)" in proc.stdout
    assert "unknown ids   0 messages" in proc.stdout and "stale levels  0 levels dropped" in proc.stdout


def test_a_wrong_row_fails_the_check_and_the_replay_says_so(tmp_path):
    events = lob.synth.generate(400, seed=8, target_orders=100)
    msg, book = tmp_path / "Z_message_10.csv", tmp_path / "Z_orderbook_10.csv"
    lob.io.write_lobster(events, msg, book)
    lines = book.read_text().splitlines()
    cells = lines[200].split(",")
    cells[1] = str(int(cells[1]) + 5)
    lines[200] = ",".join(cells)
    book.write_text("\n".join(lines) + "\n")
    proc = lob_command("lobster-check", msg, book)
    assert proc.returncode == 1 and "row 200 ask: book" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].startswith("matched 398/400 rows")
    proc = lob_command("replay", msg)
    assert proc.returncode == 1 and "NOT REPRODUCED 2 of 400 rows differ" in proc.stdout


def test_careless_input_is_refused_in_one_line(tmp_path):
    events = lob.synth.generate(100, seed=1, target_orders=30)
    msg, book = tmp_path / "Y_message_2.csv", tmp_path / "Y_orderbook_2.csv"
    lob.io.write_lobster(events, msg, book, levels=2)
    refused_in_one_line(lob_command("lobster-check", tmp_path / "missing.csv", book), "lob lobster-check:",
                        "missing.csv: no such file")
    refused_in_one_line(lob_command("lobster-check", tmp_path, book), "is a folder, not a file")
    refused_in_one_line(lob_command("lobster-check", book, msg), "Y_orderbook_2.csv: line 1: 8 comma-separated "
                                                                 "columns; a row here has 6")
    empty = tmp_path / "E_message_2.csv"
    empty.write_text("")
    refused_in_one_line(lob_command("lobster-check", empty, book), "E_message_2.csv", "the file is empty")
    refused_in_one_line(lob_command("replay", empty), "lob replay:", "the file is empty")
    bad = tmp_path / "B_message_2.csv"
    bad.write_text("34200.1,1,5,100,5000,1\n34200.2,1,6,1x0,5000,1\n")
    refused_in_one_line(lob_command("replay", bad, "--orderbook", "none"),
                        "B_message_2.csv: line 2: column 4 (size): '1x0' is not an integer")
    short = tmp_path / "S_orderbook_2.csv"
    short.write_text("\n".join(book.read_text().splitlines()[:-1]) + "\n")
    refused_in_one_line(lob_command("lobster-check", msg, short), "S_orderbook_2.csv: 99 rows, but",
                        "has 100: not a LOBSTER pair")
    refused_in_one_line(lob_command("replay", msg, "--orderbook", tmp_path / "nope.csv"), "nope.csv: no such file")
    late = tmp_path / "T_message_2.csv"
    late.write_text("9300000000.5,1,5,100,5000,1\n")
    refused_in_one_line(lob_command("replay", late), "line 1: column 1 (time): '9300000000.5' seconds is beyond "
                                                     "int64 nanoseconds")
