"""Refuse to test an unbuilt or stale lob/: tests always run compiled code.

pytest imports `lob` from this checkout; the README test command builds the
extensions in place first (pip install -e .).  If a .pyx, .pxd or src/ header
is newer than its compiled module, the run stops with the command to rebuild,
instead of testing yesterday's binary.
"""
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent
# extension -> the files besides its .pyx that it is compiled from
CORE = ["lob/_core.pxd", "lob/_events.pxd", "lob/_convert.pxd", "src/lob_book.h", "src/lob_status.h",
        "src/lob_event.h", "src/lob_signals.h", "src/lob_idmap.h", "src/lob_ladder.h", "src/lob_pxmap.h",
        "src/lob_i128.h"]
BOOK = CORE + ["lob/_book.pxd"]
EXTENSIONS = {
    "lob._events": ["lob/_events.pxd", "src/lob_event.h"],
    "lob._book": BOOK,
    "lob._batch": BOOK + ["src/lob_clock.h"],
    "lob._synth": CORE + ["src/lob_rng.h"],
    "lob._lobster": ["lob/_events.pxd", "src/lob_event.h"],
    "lob._itch": BOOK + ["src/lob_refmap.h", "src/lob_be.h"],
    "lob._dbn": ["lob/_events.pxd", "src/lob_event.h"],
    "lob._engine": BOOK + ["lob/_engine.pxd", "lob/_rows.pxd"],
    "lob._sim": BOOK + ["lob/_sim.pxd", "lob/_rows.pxd"],
    "lob._floor": [],
    "lob._heatmap": BOOK,
    "lob._feed": ["src/lob_mold.h", "src/lob_ring.h", "src/lob_hist.h", "src/lob_moldrx.h", "src/lob_moldtx.h",
                  "src/lob_be.h", "src/lob_rng.h"],
}


def pytest_sessionstart(session):
    rebuild = "rebuild with: python -m pip install -e '.[test]'"
    for name, depends in EXTENSIONS.items():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            pytest.exit(f"{name} is not built ({exc}); {rebuild}", returncode=4)
        built = pathlib.Path(module.__file__)
        if built.suffix not in (".so", ".pyd"):
            pytest.exit(f"{name} imported from {built}, not a compiled extension; {rebuild}", returncode=4)
        if built.resolve().parent != ROOT / "lob":   # lob/__init__ took an installed build
            pytest.exit(f"{name} imported from {built}, not from this checkout; {rebuild}", returncode=4)
        sources = [ROOT / (name.replace(".", "/") + ".pyx")] + [ROOT / d for d in depends]
        newest = max((p.stat().st_mtime for p in sources if p.exists()), default=0.0)
        if newest > built.stat().st_mtime:
            pytest.exit(f"{built.name} is older than its sources; {rebuild}", returncode=4)
