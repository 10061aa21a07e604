"""Careless input to the real `lob` command: one line naming the file, the line or byte
offset and the problem, a non-zero exit, no traceback (one only with --debug), and no
half-written output."""
import argparse
import gzip

import numpy as np
import pytest

import lob
import lob.cli
from cli_support import DBN_SAMPLE, assert_refused, run_lob, write_itch_day, write_lobster_pair
from lob.errors import ParseError


@pytest.fixture
def files(tmp_path):
    """A good ITCH day and LOBSTER pair, and broken copies of them."""
    itch = tmp_path / "day.itch"
    write_itch_day(itch)
    data = itch.read_bytes()
    truncated = tmp_path / "cut.itch"
    truncated.write_bytes(data[: len(data) // 2 + 3])
    _, msg, book = write_lobster_pair(tmp_path)
    lines = msg.read_text().splitlines()
    wrong_columns = tmp_path / "columns.csv"
    wrong_columns.write_text("\n".join(line + ",7" for line in lines[:50]) + "\n")
    non_numeric = tmp_path / "letters.csv"
    broken = lines[:50]
    broken[10] = broken[10].replace(",", ",x", 1)
    non_numeric.write_text("\n".join(broken) + "\n")
    binary = tmp_path / "noise.bin"
    binary.write_bytes(bytes(range(256)) * 40)
    return argparse.Namespace(itch=itch, truncated=truncated, cut_at=len(data) // 2 + 3, msg=msg, book=book,
                              wrong_columns=wrong_columns, non_numeric=non_numeric, binary=binary, tmp=tmp_path)


def test_a_folder(tmp_path):
    assert_refused(run_lob("replay", tmp_path), str(tmp_path), "folder")


def test_a_missing_file(tmp_path):
    assert_refused(run_lob("replay", tmp_path / "nope.itch"), "nope.itch", "no such file")


def test_a_binary_file_read_as_itch(files):
    for command in (["replay"], ["plot"], ["exec-sim", "--side", "buy", "--qty", "5", "--start", "0"]):
        line = assert_refused(run_lob(*command[:1], files.binary, *command[1:]), "noise.bin", "byte offset 0",
                              "unknown message type")
        assert "<bytes>" not in line         # the parser is named after the file


def test_a_binary_file_read_as_lobster(files):
    assert_refused(run_lob("replay", files.binary, "--format", "lobster"), "noise.bin", "byte offset 0",
                   "binary data")


def test_a_truncated_itch_file(files):
    line = assert_refused(run_lob("replay", files.truncated), "cut.itch", "byte offset", "truncated")
    offset = int(line.split("byte offset ")[1].split(":")[0])
    assert files.cut_at - 64 < offset < files.cut_at


def test_a_truncated_gzip_itch_file(files):
    packed = gzip.compress(files.itch.read_bytes())
    cut = files.tmp / "cut.itch.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    assert_refused(run_lob("replay", cut), "cut.itch.gz")


def test_a_csv_with_the_wrong_columns(files):
    assert_refused(run_lob("replay", files.wrong_columns), "columns.csv", "line 1", "columns")


def test_a_csv_with_a_non_numeric_field(files):
    assert_refused(run_lob("replay", files.non_numeric), "letters.csv", "line 11", "is not an integer")


def test_format_itch_on_a_csv(files):
    assert_refused(run_lob("replay", files.msg, "--format", "itch"), "X_message_5.csv", "byte offset 0",
                   "not ITCH 5.0", "--format lobster")


def test_format_dbn_on_itch_and_on_noise(files):
    assert_refused(run_lob("replay", files.itch, "--format", "dbn"), "day.itch", "not Databento DBN")
    assert_refused(run_lob("replay", files.binary, "--format", "dbn"), "noise.bin", "not a DBN file")


@pytest.mark.parametrize("suffix", [".itch", ".csv", ".dbn.zst"])
def test_an_empty_file(tmp_path, suffix):
    empty = tmp_path / f"empty{suffix}"
    empty.touch()
    assert_refused(run_lob("replay", empty), f"empty{suffix}", "empty")


def test_an_empty_gzip_itch_file(tmp_path):
    path = tmp_path / "empty.itch.gz"
    path.write_bytes(gzip.compress(b""))
    assert_refused(run_lob("replay", path), "empty.itch.gz", "no ITCH 5.0 messages")


@pytest.mark.parametrize("depth", ["-1", "100000", "two"])
def test_depth_out_of_bounds(files, depth):
    assert_refused(run_lob("replay", files.itch, "--depth", depth), "--depth", depth, status=2)


def test_features_into_a_missing_folder(files):
    target = files.tmp / "no" / "such" / "f.npy"
    proc = run_lob("replay", files.msg, "--features", target)
    assert_refused(proc, str(target), "no such folder")
    assert proc.stdout == ""                     # refused before the replay


@pytest.mark.parametrize("name", ["f.txt", "f"])
def test_features_with_a_wrong_suffix(files, name):
    assert_refused(run_lob("replay", files.itch, "--features", files.tmp / name), name, ".npy or .parquet")


def test_features_onto_a_folder(files):
    folder = files.tmp / "out.npy"
    folder.mkdir()
    assert_refused(run_lob("replay", files.itch, "--features", folder), "out.npy", "folder")


def test_lobster_check_on_a_missing_file(files):
    assert_refused(run_lob("lobster-check", files.tmp / "gone.csv", files.book), "gone.csv", "no such file")
    assert_refused(run_lob("lobster-check", files.msg, files.tmp / "gone_book.csv"), "gone_book.csv",
                   "no such file")


def test_lobster_check_on_an_empty_file(files):
    empty = files.tmp / "empty_message_5.csv"
    empty.touch()
    assert_refused(run_lob("lobster-check", empty, files.book), "empty_message_5.csv", "empty")


@pytest.mark.parametrize("events", ["-5", "0", "many"])
def test_demo_with_a_bad_event_count(events):
    assert_refused(run_lob("demo", "--events", events), "--events", events, status=2)


def test_unknown_symbol(files):
    assert_refused(run_lob("replay", files.itch, "--symbol", "ZZZ"), "day.itch", "'ZZZ'", "not in the stock directory")


def test_a_malformed_command_line():
    assert_refused(run_lob("replay"), "file", status=2)
    assert_refused(run_lob("frobnicate"), "invalid choice", status=2)


def test_debug_shows_the_traceback(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.touch()
    for argv in (["--debug", "replay", empty], ["replay", empty, "--debug"]):
        proc = run_lob(*argv)
        assert proc.returncode == 1 and "Traceback" in proc.stderr and "ParseError" in proc.stderr


def test_a_failed_replay_leaves_no_features_file(files, monkeypatch):
    # the writer announces its rows; a run that ends early removes the file
    target = files.tmp / "half.npy"
    with pytest.raises(RuntimeError):
        with lob.replay.FeatureWriter(target, 0, 10) as writer:
            writer.write(lob.OrderBook().apply(lob.synth.generate(5)))
            raise RuntimeError("the replay stopped")
    assert not target.exists()
    with pytest.raises(ValueError, match="5 feature rows written, 10 announced"):
        with lob.replay.FeatureWriter(target, 0, 10) as writer:
            writer.write(lob.OrderBook().apply(lob.synth.generate(5)))
    assert not target.exists()


def test_features_larger_than_the_disk_are_refused_and_large_ones_announced(tmp_path, monkeypatch):
    import collections
    import shutil

    import lob.replay

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 0, 10**6))
    with pytest.raises(OSError, match=r"the features need .* GB \(100,000 rows x 32,064 bytes\)"):
        lob.replay.FeatureWriter(tmp_path / "big.npy", 1000, 100_000)
    assert not (tmp_path / "big.npy").exists()
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**13, 0, 10**13))
    with pytest.warns(UserWarning, match="will take 3.2 GB"):
        writer = lob.replay.FeatureWriter(tmp_path / "big.npy", 1000, 100_000)
    writer.discard()


def test_every_command_answers_in_one_line(monkeypatch, capsys):
    """A command added later only raises; main()'s handler answers for it."""
    build = lob.cli.build_parser

    def with_extra_command():
        parser = build()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for name, exc in (("parse", ParseError("f.csv: line 7: bad price", source="f.csv", line=7)),
                          ("value", ValueError("qty must be > 0")),
                          ("missing", FileNotFoundError(2, "No such file or directory", "gone.bin")),
                          ("module", ImportError("reading DBN needs databento-dbn: pip install 'lobcore[dbn]'"))):
            extra = sub.add_parser(name)
            extra.add_argument("file")
            extra.set_defaults(func=lambda args, exc=exc: (_ for _ in ()).throw(exc))
        return parser

    monkeypatch.setattr(lob.cli, "build_parser", with_extra_command)
    monkeypatch.setattr(lob.cli, "_check_input", lambda path: None)
    expected = {"parse": "lob parse: f.csv: line 7: bad price",
                "value": "lob value: in.dat: qty must be > 0",
                "missing": "lob missing: gone.bin: no such file or directory",
                "module": "lob module: in.dat: reading DBN needs databento-dbn: pip install 'lobcore[dbn]'"}
    for name, line in expected.items():
        assert lob.cli.main([name, "in.dat"]) == 1
        err = capsys.readouterr().err
        assert err == line + "\n"
    with pytest.raises(ParseError):
        lob.cli.main(["parse", "in.dat", "--debug"])


@pytest.mark.skipif(not DBN_SAMPLE.exists(), reason="../shared/data/dbn is not present")
def test_a_truncated_dbn_file(tmp_path):
    pytest.importorskip("databento_dbn")
    pytest.importorskip("zstandard")
    cut = tmp_path / "cut.dbn.zst"
    cut.write_bytes(DBN_SAMPLE.read_bytes()[:5000])
    proc = run_lob("replay", cut)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert_refused(proc, "cut.dbn.zst")


def test_good_input_still_exits_zero(files):
    proc = run_lob("replay", files.itch, "--depth", "1000")
    assert proc.returncode == 0 and proc.stderr == ""
    assert np.all([line for line in proc.stdout.splitlines()])
