"""Leak check of lob's extensions under valgrind (issue 9).

    python tests/fuzz/valgrind_leaks.py [--events N] [--keep DIR]

Runs, in one Python under `valgrind --leak-check=full` with
PYTHONMALLOC=malloc (so every Python allocation is visible too):
  1. a replay: OrderBook.apply on lob.synth.generate(N) (and a from_depth
     book with a refused batch, skip mode, pickling),
  2. a matching run: MatchingEngine.submit_many on lob.synth.orders(N) with
     icebergs and owners (and a refused request),
  3. an ITCH read: lob.synth.write_itch, then lob.io.read_itch and
     lob.io.replay_itch,
then drops every object and collects.  It prints the definitely-lost bytes
in total and those whose allocation stack passes through lob's compiled
modules (lob/_*.so), with those stacks; it exits 1 if lob's figure is not
0.  Needs the normal build (not LOB_SANITIZE) and valgrind.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WORKLOAD = r'''
import gc, os, pickle, sys
import numpy as np
import lob, lob.io
from lob import EventError

n = int(sys.argv[1]); tmp = sys.argv[2]

# 1. a replay
events = lob.synth.generate(n, seed=3)
book = lob.OrderBook()
features = book.apply(events, depth=5)
book2 = pickle.loads(pickle.dumps(book))
book2.check()
seeded = lob.OrderBook.from_depth([100, 99], [5, 5], [101, 102], [5, 5])
bad = np.zeros(3, dtype=lob.EVENT_DTYPE)
bad[0] = (1, lob.ADD, 0, 1, 98, 5)
bad[1] = (2, lob.ADD, 0, 1, 98, 5)        # duplicate: the batch stops here
try:
    seeded.apply(bad)
except EventError:
    pass
seeded.apply(bad, on_error="skip")
del book, book2, seeded, features, events

# 2. a matching run with icebergs and owners
orders = lob.synth.orders(n, seed=4, p_iceberg=0.3, n_owners=4)
eng = lob.MatchingEngine()
fills, reports, stps = eng.submit_many(orders, self_trades=True)
eng.check()
rep = eng.submit(10**12, 0, 10_000, 5, display_qty=2, owner=1, stp="decrement")
try:
    eng.submit(10**12, 0, 10_000, 5)      # duplicate id: refused
except lob.DuplicateOrderError:
    pass
del eng, fills, reports, stps, orders, rep

# 3. an ITCH read
streams = {"AAA": lob.synth.generate(n // 2, seed=5), "BBB": lob.synth.generate(n // 2, seed=6)}
path = os.path.join(tmp, "s.itch")
lob.synth.write_itch(streams, path)
per_stock = lob.io.read_itch(path)
books, rejected = lob.io.replay_itch(path)
parser = lob.io.ItchParser()
with open(path, "rb") as f:
    data = f.read()
parser.feed(data[:1000]); parser.feed(data[1000:]); parser.finish()
try:
    lob.io.ItchParser().feed(b"\x00\x05Zabcd")
except ValueError:
    pass
del per_stock, books, parser, streams, data
gc.collect()
print("workload done")
'''


def lob_frames(stack) -> bool:
    """True if an allocation stack passes through lob's compiled modules."""
    for frame in stack.iter("frame"):
        obj = frame.findtext("obj") or ""
        if os.path.basename(obj).startswith("_") and "/lob/" in obj and obj.endswith(".so"):
            return True
    return False


def describe(stack, limit=12) -> str:
    lines = []
    for frame in list(stack.iter("frame"))[:limit]:
        fn = frame.findtext("fn") or "?"
        where = frame.findtext("file")
        line = frame.findtext("line")
        obj = os.path.basename(frame.findtext("obj") or "")
        lines.append(f"    {fn} ({where}:{line})" if where else f"    {fn} [{obj}]")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events / requests per workload part")
    parser.add_argument("--keep", default=None, help="keep valgrind's XML here")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    stamp = os.path.join(ROOT, "build", "lob-build-flavour")
    if os.path.exists(stamp) and open(stamp).read().strip() == "sanitize":
        print("lob is the sanitized build; valgrind needs the normal one (pip install -e .)", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="lob-valgrind-")
    xml = os.path.join(args.keep or tmp, "valgrind.xml")
    script = os.path.join(tmp, "workload.py")
    with open(script, "w") as f:
        f.write(WORKLOAD)
    env = dict(os.environ, PYTHONMALLOC="malloc")
    env.pop("LD_PRELOAD", None)
    cmd = ["valgrind", "--leak-check=full", "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
           "--num-callers=40", "--xml=yes", f"--xml-file={xml}", sys.executable, script, str(args.events), tmp]
    print(" ".join(cmd[:-3]) + " <workload>", flush=True)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                          cwd=ROOT)
    if "workload done" not in proc.stdout:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        print("the workload did not finish", file=sys.stderr)
        return 2
    root = ET.parse(xml).getroot()
    total = ours = 0
    ours_stacks = []
    for err in root.iter("error"):
        if err.findtext("kind") != "Leak_DefinitelyLost":
            continue
        lost = int(err.find("xwhat").findtext("leakedbytes"))
        total += lost
        stack = err.find("stack")
        if stack is not None and lob_frames(stack):
            ours += lost
            ours_stacks.append((lost, describe(stack)))
    for lost, stack in ours_stacks:
        print(f"definitely lost {lost} bytes, allocated in lob:\n{stack}")
    print(f"definitely lost: {total} bytes in total, {ours} bytes with lob's modules on the allocation stack "
          f"({args.events} events / requests per part)")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main())
