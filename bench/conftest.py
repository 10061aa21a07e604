"""Shared streams for the benchmarks, and the ratio table at the end of a run.

Run:  python -m pytest bench --benchmark-enable
With benchmarks disabled (the default, as in CI), every benchmark runs once on
a tiny stream: a smoke test so they cannot rot.
"""
import os
import sys

# numpy's OpenBLAS threads spin on the second core and blur the figures
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest

sys.path.insert(0, os.path.dirname(__file__))


def pytest_configure(config):
    config.addinivalue_line("markers", "bench_calls(n): calls a benchmark round makes, for ns/call")


@pytest.fixture(scope="session")
def full_run(request):
    """True when benchmarks are timed, False for the one-shot smoke run."""
    config = request.config
    return not config.getoption("benchmark_disable") or config.getoption("benchmark_enable")


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or session.disabled or not session.benchmarks:
        return
    rows = {}
    for bench in session.benchmarks:
        calls = bench.extra_info.get("calls")
        impl = bench.extra_info.get("impl")
        if not calls or not impl:
            continue
        if "ns_per_event_inside" in bench.extra_info:    # timed inside another process (the C++ ref)
            rows.setdefault(bench.group, {})[impl] = (bench.extra_info["ns_per_event_inside"],
                                                      bench.extra_info["ns_per_event_inside_min"])
            continue
        rows.setdefault(bench.group, {})[impl] = (bench.stats.median / calls * 1e9,
                                                  bench.stats.min / calls * 1e9)
    if not rows:
        return
    tr = terminalreporter
    tr.write_sep("=", "lobcore per-call figures (median ns/call; ratios from this run)")
    tr.write_line("| benchmark | impl | ns/call (median) | ns/call (min) | x floor | baseline / lobcore |")
    tr.write_line("|---|---|---:|---:|---:|---:|")
    for group in sorted(rows):
        impls = rows[group]
        floor = impls.get("floor", (None,))[0]
        ours = impls.get("lobcore", (None,))[0]
        known = ("floor", "lobcore", "python", "numpy.loadtxt", "numpy", "lobcore-loaded", "lobcore-empty")
        for impl in known + tuple(sorted(set(impls) - set(known))):
            if impl not in impls:
                continue
            med, low = impls[impl]
            x_floor = f"{med / floor:.2f}" if floor else ""
            base = impls.get("python", impls.get("numpy.loadtxt", impls.get("numpy", (None,))))[0]
            speedup = f"{base / ours:.1f}" if impl == "lobcore" and base and ours else ""
            tr.write_line(f"| {group} | {impl} | {med:.1f} | {low:.1f} | {x_floor} | {speedup} |")
    for group in sorted(rows):
        impls = rows[group]
        if "lobcore-loaded" in impls and "lobcore-empty" in impls:
            tr.write_line(f"{group}: loaded / empty per event {impls['lobcore-loaded'][0] / impls['lobcore-empty'][0]:.3f}")
