"""Run one peer book on an event stream and print one JSON line.

    python bench/peers/run_peer.py PEER EVENTS.npy --mode apply|signals|both --repeat K [--check N]

Runs under any interpreter that has numpy and the peer's package (the peer
virtualenv's, or the main one for sortedbook).  With --check N, the peer's top
of book after each of the first N events is compared with EVENTS.npy.tob.npy
(int64 (N, 4): best_bid, best_bid_qty, best_ask, best_ask_qty, 0 for an empty
side); a peer that disagrees is reported ("ok": false, "mismatch") and not
timed.  Without that file the peer's rows are printed ("tob") and timing goes
on.  --mode both alternates the two modes K times each and gives
"ns_per_event" as {"apply": [...], "signals": [...]}.  Every failure is a JSON line with "ok": false and "error" (exit 0).
The protocol is in bench/peers/README.md.
"""
import argparse
import gc
import importlib
import json
import os
import resource
import sys
import time
import traceback

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _value(x):
    """An int as int; anything else (a fractional float) kept, so it cannot equal an int row."""
    if isinstance(x, float) and not x.is_integer():
        return x
    return int(x)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib():
    """The resident set now (Linux /proc), None elsewhere."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def execute(opts, result):
    if opts.mode not in ("apply", "signals", "both"):
        raise ValueError(f"--mode must be apply, signals or both, not {opts.mode!r}")
    if opts.repeat < 1:
        raise ValueError("--repeat must be at least 1")
    if BENCH not in sys.path:
        sys.path.insert(0, BENCH)
    import numpy as np

    peer = importlib.import_module(f"peers.{opts.peer}")
    result["peer"] = peer.NAME
    result["version"] = peer.version()
    events = np.load(opts.events)
    n = len(events)
    result["events"] = n
    prepared = peer.prepare(events)

    if opts.check:
        count = min(opts.check, n)
        rows = [tuple(_value(x) for x in row) for row in peer.top_of_book(prepared, count)]
        if len(rows) != count:
            raise RuntimeError(f"top_of_book gave {len(rows)} rows for {count} events")
        expected_path = opts.events + ".tob.npy"
        if os.path.exists(expected_path):
            expected = np.load(expected_path)
            if expected.ndim != 2 or expected.shape[1] != 4 or len(expected) < count:
                raise ValueError(f"{expected_path}: shape {expected.shape}, want ({count}, 4) or more rows")
            expected = [tuple(int(x) for x in row) for row in expected[:count].tolist()]
            for index, (want, got) in enumerate(zip(expected, rows)):
                if want != got:
                    result.update(ok=False, error=f"top of book differs at event {index}",
                                  mismatch={"index": index, "event": events[index].tolist(),
                                            "expected": list(want), "got": list(got)})
                    return
            result["checked"] = count
        else:
            result["tob"] = [list(row) for row in rows]

    modes = ("apply", "signals") if opts.mode == "both" else (opts.mode,)
    result["rss_prepared_mib"] = rss_mib()      # interpreter + peer package + prepared inputs
    times = {mode: [] for mode in modes}
    for _ in range(opts.repeat):
        for mode in modes:                      # "both": the modes alternate
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter_ns()
                out = peer.run(prepared, mode == "signals")
                elapsed = time.perf_counter_ns() - start
            finally:
                gc.enable()
            del out                       # the book goes after the clock stops
            times[mode].append(elapsed / n if n else 0.0)
    result.update(ns_per_event=times if opts.mode == "both" else times[opts.mode],
                  peak_rss_mib=peak_rss_mib(), ok=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer")
    parser.add_argument("events")
    parser.add_argument("--mode", default="apply")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--check", type=int, default=0)
    opts = parser.parse_args(argv)
    result = {"peer": opts.peer, "version": None, "python": sys.version.split()[0], "mode": opts.mode,
              "events": None}
    # whatever the peer prints (Python or native code) goes to stderr: stdout is the JSON line
    sys.stdout.flush()
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        execute(opts, result)
    except BaseException as exc:          # noqa: BLE001 - reported, not raised
        if isinstance(exc, KeyboardInterrupt):
            raise
        traceback.print_exc(file=sys.stderr)
        result.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    finally:
        sys.stdout.flush()
        os.dup2(real_stdout, 1)
        os.close(real_stdout)
    result.setdefault("peak_rss_mib", peak_rss_mib())
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
