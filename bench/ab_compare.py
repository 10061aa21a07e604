"""Same-run A/B of two builds of lobcore: this checkout against another one.

    git worktree add /tmp/lob_old <commit> && (cd /tmp/lob_old && python setup.py build_ext --inplace)
    python bench/ab_compare.py /tmp/lob_old [--events 1000000] [--rounds 7]

Each round runs every workload once in a fresh process per build, the builds
alternating, so both see the same machine; the table gives the median ns per
event of each and the ratio new / old.  Workloads: OrderBook.apply without
rows, with feature rows, with depth(10) rows; the per-call loop (add, cancel,
execute, ... from Python) without and with book.top() after each event; and
MatchingEngine.submit_many.
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parents[1]

WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import lob
n = int(sys.argv[2])
events = lob.synth.generate(n, seed=7)
calls_events = events[: n // 4]
orders = lob.synth.orders(n // 4, seed=7)
out = {}

def timed(name, fn, count, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    out[name] = best / count * 1e9

timed("apply, no rows", lambda: lob.OrderBook().apply(events, record=False), n)
timed("apply, feature rows", lambda: lob.OrderBook().apply(events), n)
timed("apply, depth(10) rows", lambda: lob.OrderBook().apply(events, depth=10), n)

def per_call(top):
    book = lob.OrderBook()
    add, cancel, execute, reduce_, modify, trade, read = (book.add, book.cancel, book.execute, book.reduce,
                                                          book.modify, book.trade, book.top)
    for kind, side, oid, price, qty in zip(calls_events["kind"].tolist(), calls_events["side"].tolist(),
                                           calls_events["order_id"].tolist(), calls_events["price"].tolist(),
                                           calls_events["qty"].tolist()):
        if kind == 1:
            add(oid, side, price, qty)
        elif kind == 3:
            cancel(oid)
        elif kind == 4:
            execute(oid, qty)
        elif kind == 2:
            reduce_(oid, qty)
        elif kind == 6:
            modify(oid, price, qty)
        else:
            trade(side, price, qty)
        if top:
            read()

timed("per call", lambda: per_call(False), len(calls_events))
timed("per call + top()", lambda: per_call(True), len(calls_events))
timed("engine submit_many", lambda: lob.MatchingEngine().submit_many(orders), len(orders))
print(json.dumps(out))
"""


def run(tree, events):
    proc = subprocess.run([sys.executable, "-c", WORKER, str(tree), str(events)], capture_output=True, text=True,
                          cwd="/")
    if proc.returncode:
        raise SystemExit(f"{tree}: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode}")
    return json.loads(proc.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", help="the other checkout, built in place")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    trees = {"new": HERE, "old": pathlib.Path(args.other).resolve()}
    samples = {name: {} for name in trees}
    for r in range(args.rounds):
        for name in (("new", "old") if r % 2 == 0 else ("old", "new")):
            for workload, ns in run(trees[name], args.events).items():
                samples[name].setdefault(workload, []).append(ns)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"| workload (ns/event, median of {args.rounds}) | new | old | new / old |")
    print("|---|---:|---:|---:|")
    for workload in samples["new"]:
        new = statistics.median(samples["new"][workload])
        old = statistics.median(samples["old"][workload])
        print(f"| {workload} | {new:.1f} | {old:.1f} | {new / old:.3f} |")


if __name__ == "__main__":
    main()
