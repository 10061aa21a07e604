"""lobcore against the C++ reference and the peers: the same events, one run.

    python bench/compare.py [--events 2000000] [--rounds 3] [--out bench/RESULTS.md]
    python -m lob bench ...           (the same, from a source checkout)

One lob.synth stream (49% adds, 39% cancels, 12% executions; ~18k resting
orders) goes through every implementation in two modes: apply only, and
apply + read best bid/ask, their sizes, microprice and imbalance after every
event.  Implementations: lobcore's batch path (OrderBook.apply) and per-call
API (a Python loop), the C++ reference (bench/cpp/refbook.cpp, g++ -O3
-march=native), and the peers from PyPI in bench/.venv-peers (Python >= 3.12,
built on first use): NautilusTrader's L3_MBO OrderBook, bmoscon's order-book
(C, fed L2 level updates), hftbacktest (Rust depth through its backtester, a
numba loop), a plain-Python sortedcontainers book; and itch-book on the same
flow written as an ITCH 5.0 file.  Every peer first reproduces lobcore's top
of book over a prefix of the stream (one that disagrees is reported, not
timed).  Runs are interleaved (every implementation once per round, the
order rotating), each in its own process (peak RSS per implementation);
figures are medians with min and max.  Then callgrind instructions per event
(lobcore batch vs the C++ reference) and per-event latency percentiles.

The markdown report goes to --out (and stdout).  --quick is the smoke run the
test suite makes: a tiny stream, one round, no callgrind, peers only if their
venv already exists.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import lob  # noqa: E402
import cppref  # noqa: E402
import itch_vs_itchbook  # noqa: E402
from peers import venv as peer_venv  # noqa: E402

# implementation key -> where it runs; the order is the table's
LOBCORE_BATCH = "lobcore_batch"
LOBCORE_CALLS = "lobcore_calls"
CPP = "cpp_ref"
VENV_PEERS = ["hftbacktest_peer", "bmoscon", "nautilus", "sortedbook"]
HOW = {
    LOBCORE_BATCH: "C loop without the GIL; signals = a feature row per event",
    LOBCORE_CALLS: "Python loop, one call per event; signals = book.top() (all six in one call)",
    CPP: "g++ -O3 -march=native, same events, same feature rows",
    "hftbacktest_peer": "Rust depth via its backtester (L3 MBO); signals from a numba loop",
    "bmoscon": "C extension, fed the equivalent L2 level updates from a Python loop",
    "nautilus": "OrderBookDelta objects prebuilt (untimed), apply_delta per event",
    "sortedbook": "plain Python, sortedcontainers SortedDict per side",
}


def run_json(cmd, timeout=1800):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    if not lines:
        return {"ok": False, "error": f"no output (exit {proc.returncode}): {proc.stderr.strip()[-500:]}"}
    return json.loads(lines[-1])


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gxx = shutil.which("g++")
    compiler = (subprocess.run([gxx, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
                if gxx else "g++ not found")
    git = subprocess.run(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"],
                         capture_output=True, text=True)
    revision = f" (checkout {git.stdout.strip()})" if git.returncode == 0 else ""
    return {"cpu": cpu, "cores": os.cpu_count(), "python": sys.version.split()[0], "compiler": compiler,
            "kernel": platform.release(), "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "lobcore": lob.__version__ + revision}


def stats(values):
    return statistics.median(values), min(values), max(values)


def fmt(values):
    if not values:
        return "-"
    med, lo, hi = stats(values)
    return f"{med:,.1f} ({lo:,.1f}-{hi:,.1f})"


# ---------------------------------------------------------------------------
# the book replay table

def replay_table(events_path, rounds, check, peers_python, peers, log):
    """{impl: {"apply": [...], "signals": [...], "rss": MiB, "version", "error"}}"""
    impls = [LOBCORE_BATCH, CPP, LOBCORE_CALLS] + peers
    results = {impl: {"apply": [], "signals": [], "rss": None, "version": None, "error": None,
                      "python": None} for impl in impls}
    raw = events_path.with_suffix(".raw")
    cppref.write_events(np.load(events_path), raw)
    for rnd in range(rounds):
        order = impls[rnd % len(impls):] + impls[:rnd % len(impls)]     # rotate: no fixed first slot
        for impl in order:
            res = results[impl]
            if res["error"]:
                continue
            log(f"round {rnd + 1}/{rounds}: {impl}")
            if impl == CPP:
                try:
                    for mode, key in (("apply", "apply"), ("features", "signals")):
                        out = cppref.run(raw, mode, 1)
                        res[key] += out["ns_per_event"]
                    res["version"] = cppref._compiler()
                    res["python"] = "-"
                except Exception as exc:  # noqa: BLE001 - reported in the table
                    res["error"] = f"{type(exc).__name__}: {exc}"
                continue
            python = sys.executable if impl in (LOBCORE_BATCH, LOBCORE_CALLS) else peers_python
            cmd = [python, str(HERE / "peers" / "run_peer.py"), impl, str(events_path), "--mode", "both",
                   "--repeat", "1"]
            if rnd == 0 and check:
                cmd += ["--check", str(check)]
            out = run_json(cmd)
            if not out.get("ok"):
                res["error"] = out.get("error", "failed")
                if "mismatch" in out:
                    res["error"] += f" (expected {out['mismatch']['expected']}, got {out['mismatch']['got']})"
                continue
            res["apply"] += out["ns_per_event"]["apply"]
            res["signals"] += out["ns_per_event"]["signals"]
            res["rss"] = max(res["rss"] or 0, out["peak_rss_mib"])
            res["version"] = out["version"]
            res["python"] = out["python"]
            res["name"] = out["peer"]
    return results


# ---------------------------------------------------------------------------
# callgrind: instructions per event

LOBCORE_CG = r"""
import sys, numpy as np, lob
events = np.load(sys.argv[1])[: int(sys.argv[2])]
out = np.zeros(len(events), dtype=lob.feature_dtype(0))
lob.OrderBook().apply(events, out=out)
"""


def lobcore_instructions(events_path, n):
    """callgrind Ir inside lobcore's apply (its C function and callees)."""
    return cppref.callgrind_collect([sys.executable, "-c", LOBCORE_CG, str(events_path), str(n)],
                                    "__pyx_pf_3lob_6_batch_apply_events*")


def instruction_counts(events_path, n, log):
    """Instructions per event from two stream lengths (the difference cancels
    fixed costs: argument checks, the array wrapper)."""
    if shutil.which("valgrind") is None:
        return None, "valgrind not found"
    small, big = n // 2, n
    events = np.load(events_path)
    rows = {}
    log("callgrind: lobcore batch")
    rows["lobcore batch (apply + feature rows)"] = (
        (lobcore_instructions(events_path, big) - lobcore_instructions(events_path, small)) / (big - small))
    log("callgrind: C++ reference")
    with tempfile.TemporaryDirectory(prefix="cppref-cg-") as tmp:
        counts = {}
        for size in (small, big):
            raw = cppref.write_events(events[:size], pathlib.Path(tmp) / f"ev{size}.raw")
            counts[size] = cppref.callgrind_instructions(raw, "features")
        if None in counts.values():
            return rows, cppref.callgrind_instructions.reason
        rows["C++ reference (apply + feature rows)"] = (counts[big] - counts[small]) / (big - small)
    return rows, None


# ---------------------------------------------------------------------------
# latency

def latency_rows(events, log):
    """Per-event latency (ns): lobcore's batch loop timed event by event
    (TSC), the per-call API timed call by call (perf_counter_ns)."""
    from lob._batch import apply_latency, timer_overhead
    log("latency: batch path")
    ticks, ns_per_tick = apply_latency(lob.OrderBook(), events)
    batch = ticks * ns_per_tick
    floor = timer_overhead() * ns_per_tick
    log("latency: per-call path")
    book = lob.OrderBook()
    add, cancel, execute, microprice, imbalance = (book.add, book.cancel, book.execute, book.microprice,
                                                    book.imbalance)
    clock = time.perf_counter_ns
    rows = list(zip(events["kind"].tolist(), events["side"].tolist(), events["order_id"].tolist(),
                    events["price"].tolist(), events["qty"].tolist()))
    calls = np.empty(len(rows), dtype=np.int64)
    for i, (kind, side, oid, price, qty) in enumerate(rows):
        t0 = clock()
        if kind == 1:
            add(oid, side, price, qty)
        elif kind == 3:
            cancel(oid)
        else:
            execute(oid, qty)
        microprice()
        imbalance()
        calls[i] = clock() - t0
    empty = np.empty(100_000, dtype=np.int64)
    for i in range(len(empty)):
        t0 = clock()
        empty[i] = clock() - t0
    return {
        "batch: apply + feature row, per event (TSC)": batch,
        "batch: timer alone (subtract from the above)": floor,
        "per call: event + microprice() + imbalance() (perf_counter_ns)": calls,
        "per call: timer alone (subtract from the above)": empty,
    }


# ---------------------------------------------------------------------------
# ITCH: lobcore's parser against itch-book

def itch_rows(events_per_stock, rounds, peers_python, peers_reason, log):
    why = None
    if peers_python is None:
        why = peers_reason
    elif "itchbook" in (peers_reason or ""):
        why = f"itch-book did not install: {peers_reason}"
    return itch_vs_itchbook.run_rounds(events_per_stock, rounds, peers_python, why, log)


# ---------------------------------------------------------------------------
# the report

def report(meta, opts, replay, instructions, cg_reason, latency, itch):
    out = []
    w = out.append
    w("# lobcore: the same events through lobcore, a C++ reference and the peers\n")
    w(f"Made by `python -m lob bench --events {opts.events} --rounds {opts.rounds}` "
      f"(`bench/compare.py`) on {meta['date']}.\n")
    w(f"- CPU: {meta['cpu']} ({meta['cores']} logical cores; one used), Linux {meta['kernel']}")
    w(f"- Python {meta['python']} (lobcore, sortedcontainers when no peer venv), "
      f"peers venv: Python {meta.get('peers_python') or '-'}")
    w(f"- Compiler: {meta['compiler']}; lobcore {meta['lobcore']}")
    w(f"- Stream: `lob.synth.generate({opts.events}, seed=1)`: ~49% adds, 39% cancels, 12% executions at the "
      f"touch, ~18k resting orders over ~150 levels; never crosses.")
    w(f"- {opts.rounds} rounds; each round runs every implementation once in its own process (order rotating), "
      f"both modes alternating. Figures: median (min-max) over rounds. Every peer matched lobcore's top of "
      f"book after each of the first {opts.check:,} events before it was timed.\n")
    w("## Book replay (ns/event)\n")
    w("Modes: **apply** = every event applied; **signals** = applied, then best bid/ask, their level sizes, "
      "microprice and top-level imbalance read after every event.\n")
    w("| implementation | version | how | apply | apply + signals | events/s (signals) | "
      "x lobcore batch (signals) | x lobcore per call (signals) | peak RSS MiB |")
    w("|---|---|---|---:|---:|---:|---:|---:|---:|")
    base_batch = statistics.median(replay[LOBCORE_BATCH]["signals"]) if replay[LOBCORE_BATCH]["signals"] else None
    base_calls = statistics.median(replay[LOBCORE_CALLS]["signals"]) if replay[LOBCORE_CALLS]["signals"] else None
    for impl, res in replay.items():
        name = res.get("name") or {CPP: "C++ reference (bench/cpp/refbook.cpp)"}.get(impl, impl)
        if impl in (LOBCORE_BATCH, LOBCORE_CALLS):
            res["version"] = "this checkout"      # the header names its revision
        if res["error"] or not res["signals"]:
            w(f"| {name} | {res['version'] or '-'} | {HOW.get(impl, '')} | not timed: {res['error']} | | | | | |")
            continue
        med = statistics.median(res["signals"])
        rb = f"{med / base_batch:.2f}" if base_batch else "-"
        rc = f"{med / base_calls:.2f}" if base_calls else "-"
        rss = f"{res['rss']:.0f}" if res["rss"] else "-"
        w(f"| {name} | {res['version'] or '-'} | {HOW.get(impl, '')} | {fmt(res['apply'])} | "
          f"{fmt(res['signals'])} | {1e9 / med / 1e6:,.1f}M | {rb} | {rc} | {rss} |")
    w("\nThe ratios divide each implementation's median ns/event (signals mode) by lobcore's: above 1 is "
      "slower than lobcore.\n")
    w("## Instructions per event (valgrind callgrind)\n")
    if instructions:
        w("Counted inside the replay loop only, as the difference between two stream lengths "
          f"({opts.cg_events // 2:,} and {opts.cg_events:,} events), so fixed costs cancel. Instruction counts "
          "do not depend on the machine's load.\n")
        w("| path | instructions/event |")
        w("|---|---:|")
        for name, value in instructions.items():
            w(f"| {name} | {value:,.1f} |")
        if cg_reason:
            w(f"\n(C++ reference: {cg_reason})")
    else:
        w(f"Not measured: {cg_reason}.")
    w("\n## Per-event latency (ns)\n")
    if latency:
        w(f"Over the whole {opts.events:,}-event stream, every event timed on its own.\n")
        w("| path | p50 | p99 | p99.9 | max | mean |")
        w("|---|---:|---:|---:|---:|---:|")
        for name, values in latency.items():
            p = np.percentile(values, [50, 99, 99.9])
            w(f"| {name} | {p[0]:,.0f} | {p[1]:,.0f} | {p[2]:,.0f} | {values.max():,.0f} | {values.mean():,.1f} |")
        w("\nThe max is an interrupt or a page fault on this shared VM, not the book.")
    w("\n## ITCH 5.0 parse + apply (ns/message)\n")
    if itch:
        m = itch["messages"]
        w(f"The same generator, three stocks, written as one ITCH 5.0 file ({itch['bytes'] / 1e6:.1f} MB, "
          f"{m:,} messages); each implementation parses it and keeps a book per stock.\n")
        w("| implementation | ns/message | messages/s | x lobcore |")
        w("|---|---:|---:|---:|")
        base = statistics.median(itch["lobcore"])
        for name, runs in (("lobcore (ItchParser.feed_books)", itch["lobcore"]),
                           (f"itch-book {itch['itch-book version'] or ''} (Session.feed, bbo table)", itch["itch-book"])):
            if not runs:
                w(f"| {name} | skipped: {itch['skipped']} | | |")
                continue
            ns = [s / m * 1e9 for s in runs]
            w(f"| {name} | {fmt(ns)} | {m / statistics.median(runs) / 1e6:.1f}M | "
              f"{statistics.median(runs) / base:.2f} |")
    w("\n## Targets of issue 5\n")
    w("| target | measured | |")
    w("|---|---:|---|")

    def target(text, value, ok):
        w(f"| {text} | {value} | {'met' if ok else 'missed'} |")

    cpp = replay[CPP]["signals"]
    if base_batch and cpp:
        ratio = statistics.median(cpp) / base_batch
        target("batch apply + features >= 0.8x the C++ reference's throughput", f"{ratio:.2f}x", ratio >= 0.8)
    hft = replay.get("hftbacktest_peer", {}).get("signals")
    if base_batch and hft:
        ratio = statistics.median(hft) / base_batch
        target("batch apply + features >= 5x hftbacktest's compiled loop", f"{ratio:.1f}x", ratio >= 5)
    if replay[LOBCORE_CALLS]["apply"]:
        med = statistics.median(replay[LOBCORE_CALLS]["apply"])
        target("per-call apply alone <= 80 ns/event", f"{med:.0f} ns", med <= 80)
    if latency:
        calls = latency["per call: event + microprice() + imbalance() (perf_counter_ns)"]
        timer = np.median(latency["per call: timer alone (subtract from the above)"])
        med = float(np.mean(calls) - timer)
        target("per-call event + microprice() + imbalance() <= 200 ns/event (mean, timer subtracted)",
               f"{med:.0f} ns", med <= 200)
        p999 = float(np.percentile(latency["batch: apply + feature row, per event (TSC)"], 99.9))
        target("batch per-event latency p99.9 < 1 us", f"{p999:.0f} ns", p999 < 1000)
    for impl, factor in (("bmoscon", 2), ("nautilus", 15), ("sortedbook", 6)):
        theirs = replay.get(impl, {}).get("signals")
        if base_calls and theirs:
            ratio = statistics.median(theirs) / base_calls
            target(f"per call (signals) >= {factor}x faster than {impl}", f"{ratio:.1f}x", ratio >= factor)
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--check", type=int, default=20_000, help="events of top of book each peer must match")
    parser.add_argument("--peers", default="all", help="comma list of " + ",".join(VENV_PEERS) + ", or none")
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--cg-events", type=int, default=200_000, help="events for the callgrind counts")
    parser.add_argument("--itch-events-per-stock", type=int, default=700_000)
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny stream, one round")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.events, opts.rounds, opts.check, opts.no_callgrind = min(opts.events, 3000), 1, 1000, True
        opts.itch_events_per_stock = 2000
    log = lambda message: print(f"[bench] {message}", file=sys.stderr, flush=True)  # noqa: E731
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    meta = machine()
    peers = VENV_PEERS if opts.peers == "all" else [p for p in opts.peers.split(",") if p and p != "none"]
    unknown = set(peers) - set(VENV_PEERS)
    if unknown:
        parser.error(f"unknown peers {sorted(unknown)}; choose from {VENV_PEERS}")
    peers_python, peers_reason = None, None
    if peers:
        if opts.quick and not (HERE / ".venv-peers" / "bin" / "python").exists():
            peers_reason = "smoke run: no bench/.venv-peers (made by a full run)"
        else:
            log("peers: building / checking bench/.venv-peers")
            peers_python, peers_reason = peer_venv.peer_python(log=log)
        if peers_python:
            meta["peers_python"] = subprocess.run([peers_python, "-c", "import sys; print(sys.version.split()[0])"],
                                                  capture_output=True, text=True).stdout.strip()
    # sortedcontainers also runs in this interpreter when there is no venv
    with tempfile.TemporaryDirectory(prefix="lob-bench-") as tmp:
        events = lob.synth.generate(opts.events, seed=1)
        events_path = pathlib.Path(tmp) / "events.npy"
        np.save(events_path, events)
        rows = lob.OrderBook().apply(events[:opts.check])
        np.save(str(events_path) + ".tob.npy", np.stack([rows["best_bid"], rows["best_bid_qty"], rows["best_ask"],
                                                         rows["best_ask_qty"]], axis=1))
        log(f"{opts.events:,} events; peers: {', '.join(peers) or 'none'}"
            + (f" ({peers_reason})" if peers_reason else ""))
        python = peers_python
        replay_peers = peers if peers_python else [p for p in peers if p == "sortedbook"]
        if not peers_python and "sortedbook" in replay_peers:
            python = sys.executable
        replay = replay_table(events_path, opts.rounds, opts.check, python, replay_peers, log)
        for peer in peers:
            if peer not in replay:
                replay[peer] = {"apply": [], "signals": [], "rss": None, "version": None,
                                "error": f"skipped: {peers_reason}", "python": None,
                                "name": {"nautilus": "NautilusTrader OrderBook (L3_MBO)",
                                         "bmoscon": "bmoscon order-book", "hftbacktest_peer": "hftbacktest",
                                         }.get(peer, peer)}
            elif peers_reason and peer in peers_reason and not replay[peer]["signals"]:
                replay[peer]["error"] = peers_reason
        instructions, cg_reason = (None, "--no-callgrind") if opts.no_callgrind else instruction_counts(
            events_path, min(opts.cg_events, opts.events), log)
        latency = latency_rows(events, log)
    itch = itch_rows(opts.itch_events_per_stock, opts.rounds, peers_python, peers_reason, log)
    text = report(meta, opts, replay, instructions, cg_reason, latency, itch)
    if opts.out and opts.out != "-":
        pathlib.Path(opts.out).write_text(text)
        log(f"wrote {opts.out}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
