"""Write the seed corpus of the fuzz targets (tests/fuzz/corpus/TARGET).

    python -m tests.fuzz.make_corpus [TARGET...] [--plain 12] [--tries 20000]

From a fixed stream of random inputs it keeps, per target: `--plain`
inputs that run clean and reach deep (the ones using the most bytes), the
first input that reaches each known defect (tests/fuzz/known.py, named
known-NAME; found with skip_known, so it is not run) and the first input of
each contract violation (named violation-KIND).  Rerun it after changing a
target's decoding: the seeds are bytes for that decoding.
"""
from __future__ import annotations

import argparse
import os
import random
import sys

from tests.fuzz.contract import Violation
from tests.fuzz.known import Known
from tests.fuzz.run import CORPUS
from tests.fuzz.targets import TARGETS


def make(target: str, plain: int, tries: int, seed: int = 11) -> dict[str, bytes]:
    fn = TARGETS[target]
    rng = random.Random(seed)
    keep: dict[str, bytes] = {}
    clean: list[tuple[int, bytes]] = []
    for _ in range(tries):
        data = rng.randbytes(rng.choice((24, 48, 96, 160, 256, 400)))
        try:
            fn(data, skip_known=True)
        except Known as k:
            keep.setdefault(f"known-{k.name}", data)
        except Violation as v:
            keep.setdefault(f"violation-{v.kind}", data)
        else:
            clean.append((len(data), data))
    # the longest clean inputs: the decoders use every byte, so these are the busiest scenarios
    clean.sort(key=lambda x: -x[0])
    step = max(1, len(clean) // (plain * 2))
    for i, (_, data) in enumerate(clean[::step][:plain]):
        keep[f"plain-{i:02d}"] = data
    return keep


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", default=sorted(TARGETS))
    parser.add_argument("--plain", type=int, default=12)
    parser.add_argument("--tries", type=int, default=20_000)
    args = parser.parse_args(argv)
    for target in args.targets:
        seeds = make(target, args.plain, args.tries)
        folder = os.path.join(CORPUS, target)
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        for name, data in seeds.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(seeds)} seeds: {', '.join(sorted(n for n in seeds if not n.startswith('plain')))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
