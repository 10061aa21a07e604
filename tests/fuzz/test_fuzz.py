"""The fuzz targets in CI: each replays its seed corpus
(tests/fuzz/corpus/TARGET) and a bounded number of new inputs (a fixed
stream, so a failure reproduces), in forked children, and must find
nothing.  Long runs: python -m tests.fuzz.run TARGET --runs N.

LOB_FUZZ_RUNS sets the inputs per target (default 5000); LOB_FUZZ_SEED the
stream (default 1).  Under tests/sanitize.sh the targets run on the
sanitized build, which is what CI's second stage does."""
import os

import pytest

from tests.fuzz.run import corpus, fuzz
from tests.fuzz.targets import TARGETS

RUNS = int(os.environ.get("LOB_FUZZ_RUNS", "5000"))
SEED = int(os.environ.get("LOB_FUZZ_SEED", "1"))

NEEDS = {"dbn": ("databento_dbn", "zstandard")}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_target_finds_nothing(target, tmp_path):
    for module in NEEDS.get(target, ()):
        pytest.importorskip(module)
    seeds = corpus(target)
    assert seeds, f"tests/fuzz/corpus/{target} has no seed"
    result = fuzz(target, len(seeds) + RUNS, seed=SEED, out_dir=str(tmp_path), progress=False, hang_seconds=60)
    assert result.runs == len(seeds) + RUNS
    if result.failures:
        lines = [f"{sig} (x{n}): input {data.hex()}\n    {msg.splitlines()[-1] if msg else ''}"
                 for sig, (n, data, msg) in sorted(result.failures.items())]
        pytest.fail(f"{target}: {len(result.failures)} distinct failures in {result.runs} inputs "
                    f"(replay one with: python -m tests.fuzz.run {target} --replay FILE; inputs saved in "
                    f"{tmp_path}):\n" + "\n".join(lines))
