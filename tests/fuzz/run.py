"""Run a fuzz target for a long time.

    python -m tests.fuzz.run TARGET [--runs N] [--engine random|atheris] [--seed S]
                             [--skip-known] [--ignore KIND]... [--max-len BYTES] [--out DIR]
    tests/sanitize.sh python -m tests.fuzz.run TARGET ...    # under the sanitizer build

Engines:
- random (default): inputs are mutations of the seed corpus
  (tests/fuzz/corpus/TARGET) and fresh random bytes, a deterministic stream
  from --seed, run in a forked child that goes on after a contract
  violation and is restarted after a crash (signal, ASan/UBSan abort, hang
  or runaway memory), so one run counts every distinct failure.
- atheris: coverage-guided libFuzzer through atheris (pip install
  'lobcore[fuzz]'); it stops at the first failure and writes libFuzzer's
  crash-* file.

Failures are deduplicated by signature (the violation's kind, or the crash
and the sanitizer's summary line) and each first input is saved under
--out (default build/fuzz/TARGET).  --skip-known steps around the defects
listed in tests/fuzz/known.py (counted, not run); --ignore KIND counts the
violations of a known kind (a name prefix) as known, so atheris, which stops
at the first failure, gets past them.  The last line is a
summary: inputs run, skipped as known, and the failures.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import mmap
import os
import random
import signal
import struct
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def corpus(target: str) -> list[bytes]:
    """The seed corpus of `target`, in file-name order."""
    folder = os.path.join(CORPUS, target)
    if not os.path.isdir(folder):
        return []
    out = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            out.append(f.read())
    return out


def _mutate(rng: random.Random, data: bytes, seeds: list[bytes], max_len: int) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        if op == 0 and buf:                       # flip a bit
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:                     # set a byte to an interesting value
            buf[rng.randrange(len(buf))] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif op == 2:                             # insert random bytes
            i = rng.randint(0, len(buf))
            buf[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 3 and buf:                     # delete a range
            i = rng.randrange(len(buf))
            del buf[i:i + rng.randint(1, 8)]
        elif op == 4 and buf:                     # duplicate a range
            i = rng.randrange(len(buf))
            buf[i:i] = buf[i:i + rng.randint(1, 16)]
        elif op == 5 and seeds:                   # splice with another seed
            other = rng.choice(seeds)
            i = rng.randint(0, len(buf))
            j = rng.randint(0, len(other))
            buf = buf[:i] + other[j:]
        elif op == 6 and len(buf) >= 8:           # an extreme 8-byte value
            i = rng.randrange(len(buf) - 7)
            buf[i:i + 8] = struct.pack("<q", rng.choice((-1, 2**63 - 1, -2**63, 2**32, 2**31 - 1)))
    return bytes(buf[:max_len])


def generate(seed: int, index: int, seeds: list[bytes], max_len: int) -> bytes:
    """Input `index` of the stream of `seed`: the corpus first, then
    mutations of it and fresh random bytes."""
    if index < len(seeds):
        return seeds[index]
    rng = random.Random(seed * 0x9E3779B97F4A7C15 + index)
    if seeds and rng.random() < 0.6:
        return _mutate(rng, rng.choice(seeds), seeds, max_len)
    n = rng.choice((8, 16, 32, 64, 128, 256, max_len))
    return rng.randbytes(rng.randint(0, n))


def signature_of(exc: BaseException) -> str:
    from tests.fuzz.contract import Violation
    if isinstance(exc, Violation):
        return exc.kind
    tb = traceback.extract_tb(exc.__traceback__)
    where = f"{os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else "?"
    return f"harness-{type(exc).__name__}@{where}"


class Result:
    """What a run found: inputs run, skipped as known, failures by
    signature -> (count, first input, message)."""

    def __init__(self) -> None:
        self.runs = 0
        self.known: dict[str, int] = {}
        self.failures: dict[str, list] = {}

    def add_failure(self, sig: str, data: bytes, message: str) -> None:
        entry = self.failures.setdefault(sig, [0, data, message])
        entry[0] += 1

    def summary(self) -> str:
        fails = ", ".join(f"{sig} x{n}" for sig, (n, _, _) in sorted(self.failures.items())) or "none"
        known = ", ".join(f"{k} x{n}" for k, n in sorted(self.known.items())) or "none"
        return f"{self.runs} inputs run; skipped as known: {known}; failures: {fails}"


def _child(target, inputs, start, stop, skip_known, counter, report_fd, deadline, ignore=()):
    """Run inputs[start:stop] in this (forked) process; report Python-level
    failures through report_fd as JSON lines; exit 0 when done."""
    from tests.fuzz.known import Known
    known: dict[str, int] = {}
    seen: set[str] = set()
    out = os.fdopen(report_fd, "w", buffering=1)
    i = start
    for i in range(start, stop):
        struct.pack_into("<q", counter, 0, i)
        if deadline and time.monotonic() > deadline:
            break
        data = inputs(i)
        try:
            target(data, skip_known=skip_known)
        except Known as k:
            known[k.name] = known.get(k.name, 0) + 1
        except Exception as exc:            # a violation (or a bug of the harness): record, go on
            sig = signature_of(exc)
            if ignore and sig.startswith(ignore):
                known[sig] = known.get(sig, 0) + 1
                continue
            msg = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            out.write(json.dumps({"sig": sig, "index": i, "msg": msg[:2000], "first": sig not in seen}) + "\n")
            seen.add(sig)
    else:
        i = stop
    struct.pack_into("<q", counter, 0, i if i == stop else i)
    out.write(json.dumps({"done": i, "known": known}) + "\n")
    out.close()
    os._exit(0)


def _sanitizer_line(path: str) -> str:
    """The sanitizer's SUMMARY (or runtime error) line of a crashed child."""
    try:
        with open(path, "r", errors="replace") as f:
            text = f.read()[-200000:]
    except OSError:
        return ""
    lines = text.splitlines()
    for wanted in ("runtime error:", "SUMMARY:", "Fatal Python error"):
        for line in lines:
            if wanted in line:
                return line.strip()[:300]
    return ""


def fuzz(target_name: str, runs: int, *, seed: int = 1, skip_known: bool = False, max_len: int = 512,
         out_dir: str | None = None, hang_seconds: float = 30.0, rss_limit_mb: int = 4096,
         progress: bool = True, inputs=None, time_limit: float = 0.0, ignore: tuple = ()) -> Result:
    """Run `runs` inputs of `target_name` in forked children (see the module
    docstring); returns a Result.  inputs(i) -> bytes overrides the stream."""
    from tests.fuzz.targets import TARGETS
    target = TARGETS[target_name]
    seeds = corpus(target_name)
    if inputs is None:
        def inputs(i, _seeds=seeds):
            return generate(seed, i, _seeds, max_len)
    out_dir = out_dir or os.path.join(ROOT, "build", "fuzz", target_name)
    os.makedirs(out_dir, exist_ok=True)
    result = Result()
    counter = mmap.mmap(-1, 8)
    start = 0
    t0 = time.monotonic()
    last_print = t0
    deadline = t0 + time_limit if time_limit else 0.0
    while start < runs:
        struct.pack_into("<q", counter, 0, start)
        rfd, wfd = os.pipe()
        log = os.path.join(out_dir, f"child-{os.getpid()}.log")
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 2)
            os.close(fd)
            import faulthandler   # Python's crash report into the child's log, not the caller's stderr
            faulthandler.enable(file=2)
            try:
                _child(target, inputs, start, runs, skip_known, counter, wfd, deadline, ignore)
            finally:
                os._exit(70)
        os.close(wfd)
        os.set_blocking(rfd, False)
        reader = os.fdopen(rfd, "r")
        pending = ""
        done_msg = None
        last_index, last_move = start, time.monotonic()
        killed = None
        while True:
            try:
                chunk = reader.read()
            except (BlockingIOError, TypeError):
                chunk = None
            if chunk:
                pending += chunk
                *lines, pending = pending.split("\n")
                for line in lines:
                    msg = json.loads(line)
                    if "done" in msg:
                        done_msg = msg
                    else:
                        data = inputs(msg["index"])
                        if msg["first"] and msg["sig"] not in result.failures:
                            _save(out_dir, msg["sig"], data, msg["msg"])
                        result.add_failure(msg["sig"], data, msg["msg"])
            wpid, status = os.waitpid(pid, os.WNOHANG)
            if wpid:
                break
            now = time.monotonic()
            index = struct.unpack_from("<q", counter, 0)[0]
            if index != last_index:
                last_index, last_move = index, now
            elif now - last_move > hang_seconds:
                killed = "hang"
                os.kill(pid, signal.SIGKILL)
            elif _rss_mb(pid) > rss_limit_mb:
                killed = "memory"
                os.kill(pid, signal.SIGKILL)
            if progress and now - last_print > 30:
                last_print = now
                print(f"[{target_name}] {index} / {runs} inputs, {now - t0:.0f} s; {result.summary()}",
                      flush=True)
            time.sleep(0.05)
        rest = reader.read() if True else ""
        reader.close()
        if rest:
            pending += rest
        for line in pending.split("\n"):
            if line.strip():
                msg = json.loads(line)
                if "done" in msg:
                    done_msg = msg
                else:
                    data = inputs(msg["index"])
                    if msg["sig"] not in result.failures:
                        _save(out_dir, msg["sig"], data, msg["msg"])
                    result.add_failure(msg["sig"], data, msg["msg"])
        if done_msg is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            for k, n in done_msg["known"].items():
                result.known[k] = result.known.get(k, 0) + n
            result.runs += done_msg["done"] - start
            start = done_msg["done"]
            if deadline and time.monotonic() > deadline:
                break
            continue
        # the child crashed at input `index`: record it, go on after it
        index = struct.unpack_from("<q", counter, 0)[0]
        data = inputs(index)
        if killed:
            how = killed
        elif os.WIFSIGNALED(status):
            how = f"signal-{signal.Signals(os.WTERMSIG(status)).name}"
        else:
            how = f"exit-{os.WEXITSTATUS(status)}"
        line = _sanitizer_line(log)
        sig = f"crash-{how}" + (f": {_short(line)}" if line else "")
        if sig not in result.failures:
            _save(out_dir, sig, data, line or how, log)
        result.add_failure(sig, data, line or how)
        result.runs += index - start + 1
        start = index + 1
    if progress:
        print(f"[{target_name}] done in {time.monotonic() - t0:.0f} s: {result.summary()}", flush=True)
    return result


def _short(line: str) -> str:
    """A sanitizer line without addresses and pids, for deduplication."""
    import re
    line = re.sub(r"0x[0-9a-f]+", "ADDR", line)
    line = re.sub(r"==\d+==", "", line)
    return line[:160]


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def _save(out_dir: str, sig: str, data: bytes, message: str, log: str | None = None) -> str:
    digest = hashlib.sha1(data).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in sig)[:80]
    path = os.path.join(out_dir, f"{safe}-{digest}")
    with open(path, "wb") as f:
        f.write(data)
    with open(path + ".txt", "w") as f:
        f.write(sig + "\n" + message + "\n")
        if log:
            try:
                with open(log, errors="replace") as g:
                    f.write(g.read()[-20000:])
            except OSError:
                pass
    return path


def run_atheris(target_name: str, runs: int, skip_known: bool, max_len: int, out_dir: str, extra: list[str],
                ignore: tuple = ()):
    import atheris
    from tests.fuzz.contract import Violation
    from tests.fuzz.known import Known
    from tests.fuzz.targets import TARGETS
    # coverage of every Python function loaded by now (the targets, lob's
    # Python modules, the readers); the compiled modules are not instrumented
    atheris.instrument_all()
    target = TARGETS[target_name]

    def one_input(data: bytes) -> None:
        try:
            target(data, skip_known=skip_known)
        except Known:
            pass
        except Violation as v:
            if not v.kind.startswith(ignore):
                raise

    work = os.path.join(out_dir, "corpus")
    os.makedirs(work, exist_ok=True)
    argv = [sys.argv[0], f"-runs={runs}", f"-max_len={max_len}", "-timeout=30", "-rss_limit_mb=4096",
            f"-artifact_prefix={out_dir}/", *extra, work, os.path.join(CORPUS, target_name)]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def main(argv=None) -> int:
    from tests.fuzz.targets import TARGETS
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--runs", type=int, default=100000, help="inputs to run (default 100000)")
    parser.add_argument("--engine", choices=("random", "atheris"), default="random")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-known", action="store_true", help="step around tests/fuzz/known.py defects")
    parser.add_argument("--max-len", type=int, default=512)
    parser.add_argument("--ignore", action="append", default=[], metavar="KIND",
                        help="count violations whose kind starts with KIND as known instead (repeatable)")
    parser.add_argument("--out", default=None, help="where failures go (default build/fuzz/TARGET)")
    parser.add_argument("--time-limit", type=float, default=0.0, help="stop after this many seconds")
    parser.add_argument("--json", default=None, help="also write the result as JSON here")
    parser.add_argument("--replay", nargs="+", default=None, metavar="FILE",
                        help="run these inputs in this process (a crash shows its stack) and stop")
    args, extra = parser.parse_known_args(argv)
    if args.replay:
        from tests.fuzz.known import Known
        for path in args.replay:
            with open(path, "rb") as f:
                data = f.read()
            try:
                TARGETS[args.target](data, skip_known=args.skip_known)
            except Known as k:
                print(f"{path}: skipped as known: {k.name}")
            else:
                print(f"{path}: ok")
        return 0
    out_dir = args.out or os.path.join(ROOT, "build", "fuzz", args.target)
    os.makedirs(out_dir, exist_ok=True)
    if args.engine == "atheris":
        run_atheris(args.target, args.runs, args.skip_known, args.max_len, out_dir, extra, tuple(args.ignore))
        return 0
    result = fuzz(args.target, args.runs, seed=args.seed, skip_known=args.skip_known, max_len=args.max_len,
                  out_dir=out_dir, time_limit=args.time_limit, ignore=tuple(args.ignore))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"target": args.target, "runs": result.runs, "known": result.known,
                       "failures": {k: [n, m] for k, (n, _, m) in result.failures.items()}}, f, indent=1)
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
