"""The C++ reference book (bench/cpp/refbook.cpp): build, run, compare.

A tight single-file C++17 order book that applies the same raw lob.EVENT_DTYPE
stream as OrderBook.apply and writes the same lob.feature_dtype(0) rows: the
"physical limit" lobcore's batch path is measured against.

    python bench/cppref.py [--events 2000000] [--repeat 5] [--seed 1]

builds the binary, checks that its feature rows equal lobcore's bit for bit,
then times ref and lobcore alternately (apply without and with features) and
prints ns/event (median, min, max) and the throughput ratio.  Add
--callgrind for instructions per event of the ref's event loop.

As a module: build(), run(), features(), callgrind_instructions().
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = HERE / "cpp" / "refbook.cpp"
BUILD_DIR = HERE / "cpp" / "build"
BINARY = BUILD_DIR / "refbook"
# valgrind 3.19 cannot decode AVX-512, which -march=native emits on this
# machine: the callgrind build leaves it out (same code otherwise).
VALGRIND_BINARY = BUILD_DIR / "refbook-vg"

# -ffp-contract=off: no fused multiply-add, so the microprice is rounded
# exactly as lobcore's (compiled without -march=native, hence without FMA).
CXXFLAGS = ["-O3", "-march=native", "-std=c++17", "-ffp-contract=off"]
LOOP_FUNCTIONS = {"apply": "run_apply", "features": "run_features", "latency": "run_latency"}

try:
    import lob
except ImportError:  # run as a script from outside the checkout
    sys.path.insert(0, str(ROOT))
    import lob


class CppRefError(RuntimeError):
    """The reference book could not be built or run."""


def _compiler() -> str:
    cxx = shutil.which("g++")
    if cxx is None:
        raise CppRefError("g++ not found on PATH: the C++ reference book (bench/cpp/refbook.cpp) "
                          "needs a C++17 compiler (apt-get install g++)")
    return cxx


def build(force: bool = False, *, valgrind: bool = False) -> pathlib.Path:
    """Compile bench/cpp/refbook.cpp (only when the source is newer than the
    binary, or force) and return the binary's path.  valgrind=True builds the
    variant without AVX-512 that valgrind can run."""
    cxx = _compiler()
    target = VALGRIND_BINARY if valgrind else BINARY
    if not force and target.exists() and target.stat().st_mtime >= SRC.stat().st_mtime:
        return target
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    cmd = [cxx, *CXXFLAGS, *(["-mno-avx512f"] if valgrind else []), "-o", str(tmp), str(SRC)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        tmp.unlink(missing_ok=True)
        raise CppRefError(f"compiling the reference book failed: {' '.join(cmd)}\n{proc.stderr}")
    os.replace(tmp, target)  # atomic: a concurrent build never leaves half a binary
    return target


def run(events_path, mode: str = "apply", repeat: int = 5) -> dict:
    """Run the reference on a raw event file; returns its JSON line as a dict:
    mode, events, ns_per_event (one per repeat), checksum, and the final
    book's size (resting, bid_levels, ask_levels).  mode: "apply",
    "features" or "latency" (adds latency_ns percentiles)."""
    if mode not in LOOP_FUNCTIONS:
        raise ValueError(f"mode must be one of {sorted(LOOP_FUNCTIONS)}, got {mode!r}")
    binary = build()
    proc = subprocess.run([str(binary), str(events_path), mode, str(int(repeat))],
                          capture_output=True, text=True)
    if proc.returncode:
        raise CppRefError(f"refbook {mode} failed ({proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def features(events_path) -> np.ndarray:
    """The reference's feature rows for the events in events_path, as an array
    of lob.feature_dtype(0) (the dump mode)."""
    binary = build()
    with tempfile.TemporaryDirectory(prefix="cppref-") as tmp:
        out = pathlib.Path(tmp) / "features.bin"
        proc = subprocess.run([str(binary), str(events_path), "dump", str(out)],
                              capture_output=True, text=True)
        if proc.returncode:
            raise CppRefError(f"refbook dump failed ({proc.returncode}): {proc.stderr.strip()}")
        return np.fromfile(out, dtype=lob.feature_dtype(0))


def write_events(events: np.ndarray, path) -> pathlib.Path:
    """Write an array of lob.EVENT_DTYPE as the raw file the reference reads."""
    if events.dtype != lob.EVENT_DTYPE:
        raise TypeError(f"events must be of lob.EVENT_DTYPE, got {events.dtype}")
    path = pathlib.Path(path)
    path.write_bytes(np.ascontiguousarray(events).tobytes())
    return path


def callgrind_instructions(events_path, mode: str = "features"):
    """Instructions (callgrind Ir, inclusive) of the reference's event loop
    (run_apply / run_features) over the whole file, one repeat.

    Returns an int, or None when valgrind is missing (the reason is in
    callgrind_instructions.reason).  Counts are of the valgrind build (no
    AVX-512), the same code as the timed binary otherwise."""
    callgrind_instructions.reason = None
    if mode not in ("apply", "features"):
        raise ValueError(f"mode must be 'apply' or 'features', got {mode!r}")
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        callgrind_instructions.reason = "valgrind not found on PATH"
        return None
    binary = build(valgrind=True)
    return callgrind_collect([str(binary), str(events_path), mode, "1"], LOOP_FUNCTIONS[mode])


def callgrind_collect(argv, function) -> int:
    """Instructions (callgrind Ir) executed inside `function` (a symbol, glob
    allowed) and its callees while running `argv` under valgrind."""
    with tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        out = pathlib.Path(tmp) / "callgrind.out"
        # Collect only inside the function: the file's totals are then its
        # inclusive count (callees such as memmove included).
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", f"--toggle-collect={function}"]
        proc = subprocess.run(cmd + list(argv), capture_output=True, text=True)
        if proc.returncode:
            raise CppRefError(f"callgrind run failed ({proc.returncode}): {proc.stderr[-2000:]}")
        text = out.read_text()
    match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    if match is None:
        raise CppRefError("no summary line in the callgrind output")
    count = int(match.group(1))
    if count == 0:
        raise CppRefError(f"callgrind collected nothing in {function}: was it inlined?")
    return count


callgrind_instructions.reason = None


# ---------------------------------------------------------------------------
# The script: check, then time ref and lobcore alternately.

def compare_features(ref: np.ndarray, ours: np.ndarray) -> str | None:
    """None if the rows are equal (ints bit for bit, floats equal or both
    NaN), else a description of the first difference."""
    if ref.shape != ours.shape:
        return f"{len(ref)} rows from the reference, {len(ours)} from lobcore"
    for name in ref.dtype.names:
        a, b = ref[name], ours[name]
        if a.dtype.kind == "f":
            bad = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        else:
            bad = a != b
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            return f"{name} differs at row {i}: ref {a[i]!r}, lobcore {b[i]!r} ({int(bad.sum())} rows differ)"
    return None


def _stats(values) -> str:
    v = sorted(values)
    return f"{float(np.median(v)):6.2f}  [{v[0]:6.2f}, {v[-1]:6.2f}]"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--callgrind", action="store_true",
                        help="also count the ref's instructions per event under callgrind")
    parser.add_argument("--latency", action="store_true",
                        help="also run the ref's per-event latency mode (rdtscp)")
    args = parser.parse_args(argv)

    n = args.events
    t = time.perf_counter()
    events = lob.synth.generate(n, seed=args.seed)
    print(f"stream: lob.synth.generate({n}, seed={args.seed}) in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    binary = build()
    print(f"binary: {binary.relative_to(ROOT)} ({time.perf_counter() - t:.1f} s; {' '.join(CXXFLAGS)})")

    with tempfile.TemporaryDirectory(prefix="cppref-") as tmp:
        path = write_events(events, pathlib.Path(tmp) / "events.bin")

        ref_rows = features(path)
        ours = lob.OrderBook().apply(events)
        diff = compare_features(ref_rows, ours)
        if diff is not None:
            print(f"MISMATCH: {diff}")
            return 1
        book = lob.OrderBook()
        book.apply(events, record=False)
        print(f"check: {n} feature rows equal (ref vs lobcore); final book {len(book)} orders, "
              f"{book.level_count(0)} + {book.level_count(1)} levels")
        del ref_rows, ours, book

        out = np.zeros(n, dtype=lob.feature_dtype(0))  # touched once: no page faults timed
        times = {(impl, mode): [] for impl in ("ref", "lobcore") for mode in ("apply", "features")}
        for _ in range(args.repeat):
            for mode in ("apply", "features"):
                times["ref", mode] += run(path, mode, 1)["ns_per_event"]
                book = lob.OrderBook()
                t0 = time.perf_counter_ns()
                if mode == "apply":
                    book.apply(events, record=False)
                else:
                    book.apply(events, out=out)
                times["lobcore", mode].append((time.perf_counter_ns() - t0) / n)

        print(f"\nns/event over {args.repeat} alternating runs, median [min, max]:")
        print(f"{'mode':<10} {'C++ ref':>24} {'lobcore':>24}   ref/lobcore throughput (median, best)")
        for mode in ("apply", "features"):
            r, o = times["ref", mode], times["lobcore", mode]
            ratio_med = float(np.median(o)) / float(np.median(r))
            ratio_min = min(o) / min(r)
            print(f"{mode:<10} {_stats(r):>24} {_stats(o):>24}   {ratio_med:.2f}x, {ratio_min:.2f}x")

        if args.latency:
            lat = run(path, "latency", 1)
            print(f"\nref per-event latency (apply + row, rdtscp): {lat['latency_ns']}")
        if args.callgrind:
            for mode in ("apply", "features"):
                count = callgrind_instructions(path, mode)
                if count is None:
                    print(f"callgrind: skipped ({callgrind_instructions.reason})")
                    break
                print(f"callgrind {mode}: {count} instructions in {LOOP_FUNCTIONS[mode]}, "
                      f"{count / n:.1f} per event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
