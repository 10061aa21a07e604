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
# extension -> whether it cimports the shared .pxd files and src/ headers
EXTENSIONS = {"lob._book": True, "lob._synth": True, "lob._batch": True, "lob._lobster": True, "lob._floor": False}


def pytest_sessionstart(session):
    rebuild = "rebuild with: python -m pip install -e '.[test]'"
    headers = list((ROOT / "src").glob("*.h")) + list((ROOT / "lob").glob("*.pxd"))
    newest_header = max((p.stat().st_mtime for p in headers), default=0.0)
    for name, shared in EXTENSIONS.items():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            pytest.exit(f"{name} is not built ({exc}); {rebuild}", returncode=4)
        built = pathlib.Path(module.__file__)
        if built.suffix not in (".so", ".pyd"):
            pytest.exit(f"{name} imported from {built}, not a compiled extension; {rebuild}", returncode=4)
        source = ROOT / (name.replace(".", "/") + ".pyx")
        if source.exists() and max(source.stat().st_mtime, newest_header if shared else 0.0) > built.stat().st_mtime:
            pytest.exit(f"{built.name} is older than its sources; {rebuild}", returncode=4)
