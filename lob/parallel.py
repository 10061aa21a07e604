"""Replaying many exchange files on Dask (dask.distributed), one Parquet
file of feature rows per (file, symbol), each equal to what `lob replay FILE
[--symbol S] --features OUT.parquet` writes, whatever the cluster.

How the work is cut (every file has a first task, which finds its format):

* LOBSTER: a file is one stock-day: its first task replays it (seeded from
  the sibling ``_orderbook_`` file when there is one, as `lob replay` does).
* DBN: a file of one instrument is replayed by its first task; a file of
  several gets one task per instrument.
* ITCH: a file holds every stock of a day.  Its first task streams it once
  and counts each stock's events (the parse alone, ~1 GB/s); the stocks
  are then packed, by event count, into as few replay tasks as keep every
  worker busy, and each task streams the file once and replays its set of
  stocks, each into its own book and its own Parquet file
  (lob.replay.replay_itch_stocks).  One task per stock would parse the whole
  file once per stock (thousands of times for a NASDAQ day); one task per
  file would leave the other workers idle when there are fewer files than
  workers.  The counts also let each feature file announce its rows.

Every task reads its file itself (the paths must name the same files on
every worker: one machine, or a shared file system); only paths, options
and the small result rows travel through the scheduler.  Memory per task:
one chunk of the file plus one batch of rows (ITCH: also at most
lob.replay.PENDING_EVENTS events waiting for a full batch); LOBSTER and DBN
files are read whole (a stock-day each).

Outputs appear whole or not at all: a task writes a hidden ``.partial``
file beside its output and renames it at the end, so a task that a dead
worker left half done (Dask runs it again on another worker) leaves
nothing behind but what replay_many sweeps away.
"""
from __future__ import annotations

import contextlib
import glob
import math
import os
import re
import socket
import time
import uuid
from typing import Any, Iterable, Iterator, NamedTuple, Optional, Sequence, Union

from lob.replay import BookConfig

__all__ = ["replay_many", "ReplayRow", "ReplayTable", "output_names", "local_cluster"]

PathLike = Union[str, "os.PathLike[str]"]
#: An ITCH replay task takes at most this many stocks (each holds a book and an open Parquet writer).
STOCKS_PER_TASK = 1000
#: An ITCH file is split into sets of stocks of at least this many events (each set parses the whole file).
EVENTS_PER_TASK = 1 << 20
#: Name suffixes dropped from an input's name to name its outputs.
_INPUT_SUFFIXES = (".gz", ".zst", ".csv", ".itch", ".dbn", ".bin", ".txt")


class ReplayRow(NamedTuple):
    """One (file, symbol) of replay_many: its Parquet output (None when it
    failed or had no order events), events replayed, events the book
    rejected, seconds (applying and writing this stock; with the reading for
    a file of one stock), the error (one line naming the file; None when it
    worked), the Dask task that did it, the task's seconds, its CPU seconds
    (the worker process's, which has one task at a time) and its worker."""

    file: str
    symbol: str
    format: str
    events: int
    rejected: int
    seconds: float
    output: Optional[str]
    error: Optional[str]
    task: str
    task_seconds: float
    task_cpu_seconds: float
    worker: str


class ReplayTable(list):  # type: ignore[type-arg]
    """The rows of replay_many (ReplayRow), in input order, then symbol order."""

    @property
    def failed(self) -> list[ReplayRow]:
        """The rows whose task failed."""
        return [row for row in self if row.error is not None]

    @property
    def ok(self) -> bool:
        """True when no task failed."""
        return not self.failed

    def to_arrow(self) -> Any:
        """The table as a pyarrow.Table (one column per ReplayRow field)."""
        import pyarrow as pa  # type: ignore[import-untyped,import-not-found,unused-ignore]

        return pa.table({name: [getattr(row, name) for row in self] for name in ReplayRow._fields})

    def summary(self) -> str:
        """One line per (file, symbol): file, symbol, events, rejected,
        seconds, then the output or the error; and a total line."""
        header = ("file", "symbol", "events", "rejected", "seconds", "output or error")
        cells = [(os.path.basename(r.file), r.symbol or "-", f"{r.events:,}", f"{r.rejected:,}", f"{r.seconds:.3f}",
                  r.output if r.error is None and r.output else
                  ("(nothing to replay: no order events, or none of the symbols asked for)" if r.error is None
                   else f"FAILED: {r.error}")) for r in self]
        widths = [max([len(header[i])] + [len(c[i]) for c in cells]) for i in range(5)]
        right = (False, False, True, True, True)

        def line(values: Sequence[str]) -> str:
            parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values[:5], widths, right)]
            return "  ".join(parts + [values[5]]).rstrip()

        lines = [line(header)] + [line(c) for c in cells]
        written = sum(1 for r in self if r.error is None and r.output)
        tasks = len({r.task for r in self if r.task})
        plural = ("s" if len(self) != 1 else "", "s" if tasks != 1 else "")
        lines.append(f"{len(self):,} output{plural[0]} from {tasks:,} task{plural[1]}: "
                     f"{written:,} written, {len(self.failed):,} failed; "
                     f"{sum(r.events for r in self):,} events, {sum(r.rejected for r in self):,} rejected")
        return "\n".join(lines)


class _Unit(NamedTuple):
    """One (file, symbol) a plan found: the symbol shown, the instrument of a
    DBN file (None: the file's only one), and a cost estimate (events, or
    bytes for a LOBSTER file)."""

    symbol: str
    instrument: Optional[int]
    cost: int


class _Plan(NamedTuple):
    """A file's first task: its format and units, or its error; `rows` when
    that task also replayed it (a file of one stock or instrument)."""

    path: str
    format: str
    units: list[_Unit]
    error: Optional[str]
    seconds: float
    worker: str
    rows: Optional[list[ReplayRow]] = None


class _Task(NamedTuple):
    """What one replay task does: a file, its format, its units, and the
    output (and hidden partial) path of each."""

    key: str
    path: str
    format: str
    units: list[_Unit]
    outputs: list[str]
    cost: int


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return socket.gethostname()


def _error_line(exc: BaseException, path: str) -> str:
    """A failure in one line naming the file (the CLI's refusal, without the
    command); an unexpected exception type is named too."""
    from lob.cli import INPUT_ERRORS, refusal

    text = refusal(exc, "replay-many", path)[len("lob replay-many: "):]
    return text if isinstance(exc, INPUT_ERRORS) else f"{type(exc).__name__}: {text}"


def _ticker(path: str) -> str:
    """A LOBSTER file's stock: its name up to the first '_' (AAPL_2012-06-21_..._message_10.csv)."""
    return os.path.basename(path).split("_", 1)[0]


def _plan(path: str, format: Optional[str], symbols: Optional[frozenset[str]]) -> _Plan:
    """On a worker: the file's format and its (file, symbol) units (ITCH: a
    counting pass; DBN: its instruments).  A failure becomes the plan's error."""
    from lob.replay import detect_format, itch_event_counts

    start = time.perf_counter()
    fmt = format or ""
    try:
        fmt = detect_format(path, format)
        if fmt == "lobster":
            ticker = _ticker(path)
            units = [_Unit(ticker, None, os.path.getsize(path))] if symbols is None or ticker in symbols else []
        elif fmt == "dbn":
            from lob.io.dbn import dbn_instruments

            held = dbn_instruments(path)
            size = os.path.getsize(path)
            if len(held) == 1:
                units = [_Unit(str(held[0]), None, size)]
            else:
                units = [_Unit(str(i), i, size // max(len(held), 1)) for i in held]
            units = [u for u in units if symbols is None or u.symbol in symbols]
        else:
            counts, _ = itch_event_counts(path, symbols)
            units = [_Unit(name, None, counts[name]) for name in sorted(counts)]
        return _Plan(path, fmt, units, None, time.perf_counter() - start, _worker_name())
    except Exception as exc:    # the file's own failure: its row says why, the others go on
        return _Plan(path, fmt, [], _error_line(exc, path), time.perf_counter() - start, _worker_name())


def _first(path: str, format: Optional[str], symbols: Optional[frozenset[str]], output: str, key: str,
           depth: int, signals: bool, config: BookConfig) -> _Plan:
    """On a worker, a file's first task: its plan, and the replay itself
    when the file is one (file, symbol) (LOBSTER, DBN of one instrument) to
    `output`; an ITCH file or a DBN file of several instruments gets replay
    tasks of its own once every first task is done."""
    plan = _plan(path, format, symbols)
    single = plan.format == "lobster" or (plan.format == "dbn" and len(plan.units) == 1
                                          and plan.units[0].instrument is None)
    if plan.error is not None or not plan.units or not single:
        return plan
    task = _Task(key, path, plan.format, plan.units, [output], plan.units[0].cost)
    return plan._replace(rows=_run(task, depth, signals, config))


def _partial(output: str) -> str:
    folder, name = os.path.split(output)
    return os.path.join(folder, f".{name}.{uuid.uuid4().hex}.partial.parquet")


def _run(task: _Task, depth: int, signals: bool, config: BookConfig) -> list[ReplayRow]:
    """On a worker: replay one task's units into their Parquet files."""
    from lob.replay import replay_dbn_file, replay_itch_stocks, replay_lobster_file

    start, cpu = time.perf_counter(), time.process_time()
    worker = _worker_name()
    partial = [_partial(out) for out in task.outputs]
    results: list[tuple[Any, Optional[float]]]
    try:
        if task.format == "itch":
            names = [u.symbol for u in task.units]
            run = replay_itch_stocks(task.path, names, depth=depth, signals=signals,
                                     features=dict(zip(names, partial)), rows={u.symbol: u.cost for u in task.units},
                                     config=config)
            results = [(run.replays.get(name), run.seconds.get(name, 0.0)) for name in names]
        elif task.format == "lobster":
            lobster = replay_lobster_file(task.path, depth=depth, signals=signals, features=partial[0],
                                          config=config, measure=False)
            results = [(lobster.replay, None)]
        else:
            unit = task.units[0]
            results = [(replay_dbn_file(task.path, instrument=unit.instrument, depth=depth, signals=signals,
                                        features=partial[0], config=config), None)]
        for out, tmp, (result, _) in zip(task.outputs, partial, results):
            if result is not None:
                os.replace(tmp, out)
    except Exception as exc:
        for tmp in partial:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        line = _error_line(exc, task.path)
        took, used = time.perf_counter() - start, time.process_time() - cpu
        return [ReplayRow(task.path, u.symbol, task.format, 0, 0, took, None, line, task.key, took, used, worker)
                for u in task.units]
    took, used = time.perf_counter() - start, time.process_time() - cpu
    rows = []
    for unit, out, (result, seconds) in zip(task.units, task.outputs, results):
        if result is None:          # counted in the plan, none in the replay: a file that changed under us
            rows.append(ReplayRow(task.path, unit.symbol, task.format, 0, 0, 0.0, None,
                                  f"{task.path}: no order events for {unit.symbol!r} (the file changed?)",
                                  task.key, took, used, worker))
            continue
        rows.append(ReplayRow(task.path, unit.symbol, task.format, result.events, sum(result.rejected.values()),
                              took if seconds is None else seconds, out, None, task.key, took, used, worker))
    return rows


def _pair_half(path: str, inputs: set[str]) -> bool:
    """A LOBSTER orderbook file whose message file is among the inputs (the
    message file's task reads it)."""
    folder, name = os.path.split(path)
    return "_orderbook_" in name and os.path.join(folder, name.replace("_orderbook_", "_message_")) in inputs


def _stem(path: str) -> str:
    name = os.path.basename(path)
    for _ in range(2):
        for suffix in _INPUT_SUFFIXES:
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
    return name


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._#+=-]", "_", text.strip()) or "_"


def output_names(paths: Sequence[str]) -> dict[str, str]:
    """{path: output name stem}: the input's name without its format
    suffixes; inputs whose names collide (the same file name in two day
    folders) take their folders' names too, joined by '__'."""
    stems = {p: _safe(_stem(p)) for p in paths}
    taken: dict[str, list[str]] = {}
    for p, s in stems.items():
        taken.setdefault(s, []).append(p)
    for stem, group in taken.items():
        if len(group) < 2:
            continue
        common = os.path.commonpath([os.path.dirname(p) for p in group])
        for p in group:
            rel = os.path.relpath(os.path.dirname(p), common)
            parts = [] if rel == "." else rel.split(os.sep)
            stems[p] = "__".join(_safe(x) for x in parts + [stem])
    return stems


def _pack(units: list[_Unit], groups: int) -> list[list[_Unit]]:
    """Units into `groups` sets of nearly equal cost (largest first, each to
    the lightest set); each set in symbol order."""
    bins: list[list[_Unit]] = [[] for _ in range(max(1, min(groups, len(units))))]
    loads = [0] * len(bins)
    for unit in sorted(units, key=lambda u: (-u.cost, u.symbol)):
        i = loads.index(min(loads))
        bins[i].append(unit)
        loads[i] += max(unit.cost, 1)
    return [sorted(b, key=lambda u: u.symbol) for b in bins if b]


def local_cluster(workers: Optional[int] = None, **kwargs: Any) -> Any:
    """A LocalCluster on this machine: `workers` worker processes (default
    one per core), one thread each, on loopback, no dashboard."""
    import logging

    from distributed import LocalCluster

    options: dict[str, Any] = dict(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=":0", silence_logs=logging.CRITICAL)
    options.update(kwargs)
    return LocalCluster(**options)


def replay_many(paths: Iterable[PathLike], out_dir: PathLike, *, format: Optional[str] = None, depth: int = 0,
                signals: bool = False, symbols: Optional[Iterable[str]] = None, client: Any = None,
                address: Optional[str] = None, config: Optional[BookConfig] = None, workers: Optional[int] = None,
                progress: bool = False) -> ReplayTable:
    """Replay many exchange files on Dask: one Parquet file of feature rows
    per (file, symbol) in `out_dir`, each equal to `lob replay FILE [--symbol
    S] --features OUT.parquet` (with `--depth depth`, `--signals` when
    `signals`, the signal options of `config`, default those of `lob
    replay`).  Returns the ReplayTable: per (file, symbol), the output,
    events, rejected events, seconds, or the error of a failed task (a
    corrupt file fails its own rows; the others finish).

    format: "lobster", "itch" or "dbn" for every file (default: each file's
    first bytes).  symbols: keep only these stocks (ITCH names, DBN
    instrument ids, LOBSTER tickers from the file names).  client: a
    dask.distributed Client to use; address: a running scheduler's address
    to connect to; neither: a LocalCluster with `workers` worker processes
    (default one per core), shut down at the end.  progress: Dask's progress
    bar on stdout.  Outputs are named after the input (``AAPL_..._message_10
    .parquet``; ITCH and several DBN instruments add ``.SYMBOL``; inputs
    whose names collide add their folders).  A LOBSTER ``_orderbook_`` file
    given with its ``_message_`` file is that pair's (not replayed alone).
    The paths must name the same files on every worker; `out_dir` is made if
    missing.  A script that starts the LocalCluster needs the ``if __name__
    == "__main__":`` guard (its worker processes are spawned).
    """
    from distributed import Client, wait
    from distributed.diagnostics.progressbar import progress as progress_bar

    config = BookConfig() if config is None else config
    if client is not None and address is not None:
        raise ValueError("pass client= or address=, not both")
    if workers is not None and (client is not None or address is not None):
        raise ValueError("workers= sizes the LocalCluster replay_many starts; with client= or address= the "
                         "cluster has its own")
    if isinstance(paths, (str, os.PathLike)):      # one file
        paths = [paths]     # type: ignore[list-item]
    seen: set[str] = set()
    inputs = []
    for p in paths:
        full = os.path.abspath(os.fspath(p))
        if full not in seen:
            seen.add(full)
            inputs.append(full)
    if format in (None, "lobster"):     # `data/*.csv`: an orderbook file given with its message file is that pair's
        inputs = [p for p in inputs if not _pair_half(p, seen)]
    out = os.path.abspath(os.fspath(out_dir))
    os.makedirs(out, exist_ok=True)
    wanted = None if symbols is None else frozenset(str(s) for s in symbols)
    cluster = own_client = None
    if client is None:
        if address is not None:
            client = own_client = Client(address)
        else:
            cluster = local_cluster(workers)
            client = own_client = Client(cluster)
    try:
        run_id = uuid.uuid4().hex[:8]
        stems = output_names(inputs)
        firsts = [client.submit(_first, p, format, wanted, os.path.join(out, f"{stems[p]}.parquet"),
                                f"replay-{stems[p]}-{run_id}", depth, signals, config,
                                key=f"replay-{stems[p]}-{run_id}", pure=False) for p in inputs]
        if progress:
            print(f"replaying {len(inputs):,} file{'s' if len(inputs) != 1 else ''} (ITCH: counting each stock's "
                  f"events)", flush=True)
            progress_bar(firsts)
        wait(firsts)
        plans = [_outcome(future, lambda exc, path=path: _Plan(path, format or "", [], _error_line(exc, path),
                                                              0.0, "")) for path, future in zip(inputs, firsts)]
        tasks = _tasks([p for p in plans if p.rows is None], stems, out, sum(client.nthreads().values()) or 1,
                       run_id)
        order = sorted(range(len(tasks)), key=lambda i: -tasks[i].cost)      # the longest start first
        futures: dict[int, Any] = {}
        for rank, i in enumerate(order):
            futures[i] = client.submit(_run, tasks[i], depth, signals, config, key=tasks[i].key, pure=False,
                                       priority=len(order) - rank)
        if progress and futures:
            units = sum(len(task.units) for task in tasks)
            print(f"replaying {units:,} (file, symbol) of ITCH / multi-instrument DBN files in {len(tasks):,} "
                  f"task{'s' if len(tasks) != 1 else ''}",
                  flush=True)
            progress_bar(list(futures.values()))
        wait(list(futures.values()))
        by_task: dict[int, list[ReplayRow]] = {}
        for i, task in enumerate(tasks):
            by_task[i] = _outcome(futures[i], lambda exc, task=task: [
                ReplayRow(task.path, u.symbol, task.format, 0, 0, 0.0, None, _error_line(exc, task.path), task.key,
                          0.0, 0.0, "") for u in task.units])
    finally:
        with _quiet_shutdown(own_client is not None):
            if own_client is not None:
                own_client.close()
            if cluster is not None:
                cluster.close()
    table = ReplayTable()
    for plan in plans:
        if plan.rows is not None:
            table.extend(plan.rows)
            continue
        if plan.error is not None or not plan.units:
            table.append(ReplayRow(plan.path, "", plan.format, 0, 0, plan.seconds, None, plan.error,
                                   "", plan.seconds, 0.0, plan.worker))
            continue
        rows = [row for i, task in enumerate(tasks) if task.path == plan.path for row in by_task[i]]
        table.extend(sorted(rows, key=lambda r: r.symbol))
    _sweep(out, stems.values())
    return table


@contextlib.contextmanager
def _quiet_shutdown(own: bool) -> Iterator[None]:
    """Closing a client and cluster we started: Dask logs the tasks and
    comms it cancels on the way down (CancelledError tracebacks) though
    every result is in; the table already says what failed."""
    if not own:
        yield
        return
    import logging
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado", "asyncio")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)


def _outcome(future: Any, failed: Any) -> Any:
    """A finished future's result, or failed(exception) when the task
    erred (a worker that died too often: KilledWorker, or a cancel)."""
    try:
        return future.result()
    except Exception as exc:
        return failed(exc)


def _tasks(plans: list[_Plan], stems: dict[str, str], out: str, slots: int, run_id: str) -> list[_Task]:
    """The replay tasks of the plans; ITCH stocks packed into as few sets as
    keep `slots` worker threads busy (at most STOCKS_PER_TASK stocks a set,
    and no smaller than EVENTS_PER_TASK events unless it must)."""
    itch_files = sum(1 for p in plans if p.format == "itch" and p.units)
    tasks = []
    for plan in plans:
        if plan.error is not None or not plan.units:
            continue
        stem = stems[plan.path]
        if plan.format == "itch":
            events = sum(u.cost for u in plan.units)
            busy = min(math.ceil(slots / max(itch_files, 1)), max(1, events // EVENTS_PER_TASK))
            groups = max(math.ceil(len(plan.units) / STOCKS_PER_TASK), busy)
            sets = _pack(plan.units, groups)
        else:
            sets = [[u] for u in plan.units]
        for n, units in enumerate(sets):
            named = plan.format == "itch" or any(u.instrument is not None for u in units)
            outputs = [os.path.join(out, f"{stem}.{_safe(u.symbol)}.parquet" if named else f"{stem}.parquet")
                       for u in units]
            label = units[0].symbol + (f"+{len(units) - 1}" if len(units) > 1 else "")
            key = f"replay-{stem}-{_safe(label)}-{run_id}-{n}"
            tasks.append(_Task(key, plan.path, plan.format, units, outputs, sum(u.cost for u in units)))
    return tasks


def _sweep(out: str, stems: Iterable[str]) -> None:
    """Remove what tasks on dead workers left half written."""
    for stem in stems:
        for leftover in glob.glob(os.path.join(glob.escape(out), f".{glob.escape(stem)}.*.partial.parquet")):
            try:
                os.unlink(leftover)
            except OSError:
                pass
