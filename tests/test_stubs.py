"""The stubs are the API a type checker sees: mypy.stubtest compares every
.pyi (and every annotated module) with the compiled runtime, so they cannot
drift from the code.  tests/stubtest_allowlist.txt lists what is not API
(Cython's own attributes, names a module imports for itself)."""
import pathlib
import subprocess
import sys

import pytest

ALLOWLIST = pathlib.Path(__file__).resolve().parent / "stubtest_allowlist.txt"


def test_stubtest(tmp_path):
    pytest.importorskip("mypy")
    (tmp_path / "mypy.ini").write_text(f"[mypy]\ncache_dir = {tmp_path / 'cache'}\n")
    # from an empty folder: mypy would otherwise also find the checkout's lob/ beside the installed one
    proc = subprocess.run([sys.executable, "-m", "mypy.stubtest", "lob", "--allowlist", str(ALLOWLIST),
                           "--mypy-config-file", str(tmp_path / "mypy.ini")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
