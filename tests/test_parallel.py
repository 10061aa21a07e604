"""lob.parallel.replay_many and `lob replay-many` on a LocalCluster of 2 worker
processes (loopback): each Parquet output holds, byte for byte, the data of
`lob replay FILE [--symbol S] --features OUT.parquet` (the shared samples and
generated LOBSTER, multi-stock ITCH and DBN files); a corrupt input fails its
own rows and the others finish; a worker killed mid-task has its task run
again on another worker."""
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import lob
import lob.io
import lob.parallel
from lob.cli import main as lob_main

distributed = pytest.importorskip("distributed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from lob.parallel import local_cluster, output_names, replay_many  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from cli_support import lob_command, run_lob  # noqa: E402

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
AAPL = SHARED / "lobster" / "AAPL_2012-06-21_34200000_57600000_message_10.csv"
GOOG = SHARED / "lobster" / "GOOG_2012-06-21_34200000_57600000_message_1.csv"
DBN_SAMPLE = SHARED / "dbn" / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst"
ITCH_SAMPLE = SHARED / "itch" / "sample.itch"


def parquet_data(path):
    """The schema's (name, type) pairs, the row count and {column: bytes of its
    values (list columns: lengths, then values)}: the data, not the file's
    metadata; bytes, so nan equals nan and every bit counts."""
    table = pq.read_table(path)
    data = {}
    for name in table.column_names:
        column = table.column(name)
        column = column.combine_chunks() if column.num_chunks else pa.array([], type=column.type)
        assert column.null_count == 0, (path, name)
        if pa.types.is_list(column.type):
            data[name] = (np.asarray(column.value_lengths()).tobytes(), np.asarray(column.flatten()).tobytes())
        else:
            data[name] = np.asarray(column).tobytes()
    return [(f.name, str(f.type)) for f in table.schema], table.num_rows, data


def assert_same_data(ours, reference):
    schema, rows, data = parquet_data(ours)
    ref_schema, ref_rows, ref_data = parquet_data(reference)
    assert (schema, rows) == (ref_schema, ref_rows), ours
    for name in data:
        assert data[name] == ref_data[name], (ours, name)


def serial(tmp_path, path, *options, symbol=None):
    """The features of `lob replay PATH [--symbol S] OPTIONS --features REF.parquet` (the command's main(),
    in this process)."""
    folder = tmp_path / "serial"
    folder.mkdir(exist_ok=True)
    ref = folder / f"{pathlib.Path(path).name}.{symbol or 'all'}.{len(list(folder.iterdir()))}.parquet"
    argv = ["replay", str(path), *options, "--features", str(ref)] + (["--symbol", symbol] if symbol else [])
    assert lob_main(argv) in (0, 1)          # 1: a LOBSTER pair not reproduced; the features are written
    assert ref.exists()
    return ref


def options_of(depth, signals):
    return (["--depth", str(depth)] if depth else []) + (["--signals"] if signals else [])


@pytest.fixture(scope="module")
def cluster():
    cluster = local_cluster(2)
    client = distributed.Client(cluster)
    try:
        yield cluster, client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Two LOBSTER pairs, a 3-stock ITCH day (one stock past a 65,536-event batch), a DBN file and a DBN
    file of two instruments."""
    folder = tmp_path_factory.mktemp("inputs")
    for i, ticker in enumerate(("XA", "XB")):
        events = lob.synth.generate(2_500 + 1_000 * i, seed=10 + i, target_orders=300)
        lob.synth.write_lobster(events, folder / f"{ticker}_2024-01-02_34200000_57600000_message_5.csv",
                                folder / f"{ticker}_2024-01-02_34200000_57600000_orderbook_5.csv", levels=5)
    streams = {"AAA": lob.synth.generate(70_000, seed=1, target_orders=500),
               "BBB": lob.synth.generate(3_000, seed=2, target_orders=200, first_id=10**8),
               "CCC": lob.synth.generate(800, seed=3, target_orders=60, first_id=2 * 10**8)}
    lob.synth.write_itch(streams, folder / "day.itch")
    lob.io.write_dbn(lob.synth.generate(5_000, seed=7, target_orders=300), folder / "one.dbn.zst")
    # two instruments in one plain DBN file: the second file's records after the first file's
    lob.io.write_dbn(lob.synth.generate(3_000, seed=8), folder / "i1.dbn", instrument_id=11, compression="none")
    lob.io.write_dbn(lob.synth.generate(2_000, seed=9), folder / "i2.dbn", instrument_id=22, compression="none")
    second = (folder / "i2.dbn").read_bytes()
    from lob.io.dbn import _header
    start = _header(second, "i2.dbn", False)[3]
    (folder / "two.dbn").write_bytes((folder / "i1.dbn").read_bytes() + second[start:])
    return folder


@pytest.mark.parametrize("depth,signals", [(0, False), (3, True)])
def test_generated_files_equal_serial_replays(cluster, generated, tmp_path, monkeypatch, depth, signals):
    _, client = cluster
    if signals:     # the ITCH day in 2 sets of stocks (a task each; one parse each) rather than 1
        monkeypatch.setattr(lob.parallel, "EVENTS_PER_TASK", 1000)
    inputs = [generated / "XA_2024-01-02_34200000_57600000_message_5.csv",
              generated / "XB_2024-01-02_34200000_57600000_message_5.csv",
              generated / "day.itch", generated / "one.dbn.zst", generated / "two.dbn"]
    table = replay_many(inputs, tmp_path / "out", depth=depth, signals=signals, client=client)
    assert table.ok, table.summary()
    got = {(pathlib.Path(r.file).name, r.symbol): r for r in table}
    assert sorted(got) == sorted([("XA_2024-01-02_34200000_57600000_message_5.csv", "XA"),
                                  ("XB_2024-01-02_34200000_57600000_message_5.csv", "XB"),
                                  ("day.itch", "AAA"), ("day.itch", "BBB"), ("day.itch", "CCC"),
                                  ("one.dbn.zst", "1"), ("two.dbn", "11"), ("two.dbn", "22")])
    itch = lob.io.read_itch(generated / "day.itch")
    for (name, symbol), row in got.items():
        assert row.error is None and os.path.exists(row.output)
        assert pathlib.Path(row.output).parent == tmp_path / "out"
        if name == "day.itch":
            reference = serial(tmp_path, generated / name, *options_of(depth, signals), symbol=symbol)
            assert row.events == len(itch[symbol])
        elif name == "two.dbn":
            reference = serial(tmp_path, generated / name, *options_of(depth, signals), symbol=symbol)
        else:
            reference = serial(tmp_path, generated / name, *options_of(depth, signals))
        assert_same_data(row.output, reference)
        assert row.events == pq.read_metadata(row.output).num_rows > 0
    # ITCH stocks in their own books: the rows of one OrderBook.apply over the stock's events
    aaa = lob.replay.BookConfig().new_book().apply(itch["AAA"], depth=depth, signals=signals, on_error="skip")
    assert np.asarray(pq.read_table(got[("day.itch", "AAA")].output).column("best_bid")).tolist() == \
        aaa["best_bid"].tolist()
    assert sorted(os.listdir(tmp_path / "out")) == sorted(os.path.basename(r.output) for r in table)
    itch_tasks = {r.task for r in table if r.format == "itch"}
    assert len(itch_tasks) == (2 if signals else 1)
    # every other file is replayed by its first task; the two instruments of two.dbn by a task each
    assert len({r.task for r in table}) == len(itch_tasks) + 5


@pytest.mark.skipif(not AAPL.exists(), reason="../shared/data is absent")
def test_shared_samples_equal_the_lob_replay_command(cluster, tmp_path):
    scheduler, _ = cluster
    inputs = [AAPL, GOOG, DBN_SAMPLE, ITCH_SAMPLE]
    # address=: connect to a running scheduler (here the test cluster's)
    table = replay_many(inputs, tmp_path / "out", depth=5, signals=True, address=scheduler.scheduler_address)
    assert table.ok, table.summary()
    assert [(pathlib.Path(r.file).name, r.symbol) for r in table] == [
        (AAPL.name, "AAPL"), (GOOG.name, "GOOG"), (DBN_SAMPLE.name, "5602"), (ITCH_SAMPLE.name, "")]
    # the ITCH sample has a directory and no order event: a row, no output (lob replay: an empty file)
    assert table[3].output is None and table[3].events == 0 and "nothing to replay" in table.summary()
    for row, path in zip(table[:3], inputs):
        reference = tmp_path / f"{path.name}.ref.parquet"
        proc = run_lob("replay", path, "--depth", "5", "--signals", "--features", reference)   # the real command
        assert proc.returncode == 0, proc.stderr
        assert_same_data(row.output, reference)
        assert row.events == pq.read_metadata(reference).num_rows


def test_a_corrupt_input_fails_its_own_rows(cluster, generated, tmp_path):
    _, client = cluster
    bad = tmp_path / "bad"
    bad.mkdir()
    data = (generated / "day.itch").read_bytes()
    (bad / "cut.itch").write_bytes(data[: len(data) // 2] + b"\x00\x05Z\x00\x00\x00\x00")   # a bad message
    (bad / "junk.csv").write_bytes(b"34200.1,1,5,100,1000000,1\nnot,a,lobster,row\n")
    # a pair whose orderbook file is cut short: refused by the replay task itself (the plan only sniffs)
    good_csv = generated / "XA_2024-01-02_34200000_57600000_message_5.csv"
    (bad / "YY_2024_message_5.csv").write_bytes(good_csv.read_bytes())
    book = (generated / "XA_2024-01-02_34200000_57600000_orderbook_5.csv").read_bytes().splitlines(True)
    (bad / "YY_2024_orderbook_5.csv").write_bytes(b"".join(book[:-10]))
    inputs = [bad / "cut.itch", good_csv, bad / "junk.csv", bad / "missing.itch", bad / "YY_2024_message_5.csv",
              generated / "one.dbn.zst"]
    table = replay_many(inputs, tmp_path / "out", client=client)
    assert not table.ok
    by_file = {pathlib.Path(r.file).name: r for r in table}
    for name in ("cut.itch", "junk.csv", "missing.itch", "YY_2024_message_5.csv"):
        row = by_file[name]
        assert row.error and name in row.error and row.output is None, row
        assert "Traceback" not in row.error and "\n" not in row.error
    assert "byte offset" in by_file["cut.itch"].error
    assert "no such file" in by_file["missing.itch"].error
    assert "rows" in by_file["YY_2024_message_5.csv"].error
    for name in (good_csv.name, "one.dbn.zst"):
        row = by_file[name]
        assert row.error is None and os.path.exists(row.output) and row.events > 0
    # nothing half written: only the outputs of the tasks that worked
    assert sorted(os.listdir(tmp_path / "out")) == sorted(os.path.basename(r.output) for r in table if r.output)
    assert "FAILED: " in table.summary() and "2 written, 4 failed" in table.summary()


def test_a_killed_worker_has_its_task_run_again(generated, tmp_path):
    # long enough tasks (~1 s each with 10 levels and the signals) that the kill lands mid-replay
    events = lob.synth.generate(250_000, seed=21, target_orders=2_000)
    lob.io.write_dbn(events, tmp_path / "a.dbn.zst")
    lob.io.write_dbn(events, tmp_path / "b.dbn.zst")
    inputs = [tmp_path / "a.dbn.zst", tmp_path / "b.dbn.zst"]
    cluster = local_cluster(2)
    client = distributed.Client(cluster)
    try:
        pids = client.run(os.getpid)
        result = {}
        runner = threading.Thread(target=lambda: result.update(table=replay_many(
            inputs, tmp_path / "out", depth=10, signals=True, client=client)))
        runner.start()
        victim = key = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline:
            for address, keys in client.processing().items():
                replays = [k for k in keys if str(k).startswith("replay-")]
                if replays:
                    victim, key = address, str(replays[0])
                    break
            time.sleep(0.02)
        assert victim is not None, "no replay task started"
        time.sleep(0.3)
        os.kill(pids[victim], signal.SIGKILL)          # the worker process dies mid-task; its nanny starts another
        runner.join(120)
        assert not runner.is_alive()
    finally:
        client.close()
        cluster.close()
    table = result["table"]
    assert table.ok, table.summary()
    rerun = [r for r in table if r.task == key]
    assert len(rerun) == 1 and rerun[0].worker != victim        # done by another worker
    reference = serial(tmp_path, inputs[0], "--depth", "10", "--signals")     # the two inputs hold the same events
    for row in table:
        assert_same_data(row.output, reference)
    assert sorted(os.listdir(tmp_path / "out")) == ["a.parquet", "b.parquet"]     # no partial file left


def test_output_names():
    assert output_names(["/d/AAPL_message_10.csv", "/d/x.dbn.zst", "/d/day.itch.gz"]) == {
        "/d/AAPL_message_10.csv": "AAPL_message_10", "/d/x.dbn.zst": "x", "/d/day.itch.gz": "day"}
    # the same file name in two day folders: the folders make them unique
    assert output_names(["/data/2024-01-02/itch.gz", "/data/2024-01-03/itch.gz"]) == {
        "/data/2024-01-02/itch.gz": "2024-01-02__itch", "/data/2024-01-03/itch.gz": "2024-01-03__itch"}


def test_the_command_line(cluster, generated, tmp_path):
    scheduler, _ = cluster
    itch, csv = generated / "day.itch", generated / "XA_2024-01-02_34200000_57600000_message_5.csv"
    # `*.csv` brings the orderbook file too: it is the pair's, not an input of its own
    orderbook = generated / "XA_2024-01-02_34200000_57600000_orderbook_5.csv"
    proc = run_lob("replay-many", itch, csv, orderbook, "--out", tmp_path / "a", "--scheduler",
                   scheduler.scheduler_address,
                   "--depth", "2", "--symbol", "BBB", "--symbol", "XA", timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any("Completed" in line for line in lines)              # Dask's progress bar
    header = next(i for i, line in enumerate(lines) if line.startswith("file "))
    assert "events" in lines[header] and "rejected" in lines[header] and "seconds" in lines[header]
    assert lines[header + 1].split()[:3] == ["day.itch", "BBB", "3,000"]
    assert lines[header + 2].split()[:2] == [csv.name, "XA"]
    assert "2 outputs from 2 tasks: 2 written, 0 failed" in proc.stdout
    assert sorted(os.listdir(tmp_path / "a")) == ["XA_2024-01-02_34200000_57600000_message_5.parquet",
                                                  "day.BBB.parquet"]
    assert_same_data(tmp_path / "a" / "day.BBB.parquet", serial(tmp_path, itch, "--depth", "2", symbol="BBB"))
    # its own local cluster (--workers), and a failed input: exit 1, the file and its error in the table
    (tmp_path / "bad.itch").write_bytes(b"\x00\x05Z\x00\x00\x00\x00")
    proc = run_lob("replay-many", csv, tmp_path / "bad.itch", "--out", tmp_path / "b", "--workers", "2",
                   timeout=120)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr
    failed = [line for line in proc.stdout.splitlines() if line.startswith("bad.itch")]
    assert len(failed) == 1 and "FAILED: " in failed[0] and "bad.itch" in failed[0].split("FAILED: ")[1]
    assert "a local cluster of 2 worker processes" in proc.stdout
    assert os.listdir(tmp_path / "b") == ["XA_2024-01-02_34200000_57600000_message_5.parquet"]


def test_command_line_refusals(tmp_path):
    proc = run_lob("replay-many", tmp_path / "x.itch", "--out", tmp_path, "--scheduler", "tcp://127.0.0.1:1",
                   "--workers", "2")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    (tmp_path / "file").write_text("x")
    proc = run_lob("replay-many", tmp_path / "x.itch", "--out", tmp_path / "file")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "--out" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    # an unreachable scheduler: one line once Dask's connect timeout passes (2 s here)
    env = dict(os.environ, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")
    proc = subprocess.run(lob_command() + ["replay-many", str(tmp_path / "x.itch"), "--out", str(tmp_path / "o"),
                                           "--scheduler", "tcp://127.0.0.1:1"], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "tcp://127.0.0.1:1" in proc.stderr
    proc = run_lob("replay-many", "--help")
    assert proc.returncode == 0 and "--scheduler" in proc.stdout and "--workers" in proc.stdout
