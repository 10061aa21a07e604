"""Installing lobcore as the README says: `python -m lob` in a checkout's root whose
lob/ folder is not built, and a user's type checker seeing the whole API."""
import importlib
import inspect
import os
import pathlib
import shutil
import subprocess
import sys
import venv

import pytest


ROOT = pathlib.Path(__file__).resolve().parents[1]


def unbuilt_checkout(folder, version_file):
    """A copy of this checkout's lob/ without compiled modules (what a fresh clone
    has after `pip install .`), with the given _version.py."""
    shutil.copytree(ROOT / "lob", folder / "lob",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__", "_version.py"))
    shutil.copy(version_file, folder / "lob" / "_version.py")
    return folder


def installed_lob(tmp_path):
    """The folder `import lob` finds outside this checkout (the venv's install)."""
    code = "import lob, sys; sys.stdout.write(lob.__path__[0])"
    return pathlib.Path(subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                                       check=True).stdout)


def test_python_m_lob_in_an_unbuilt_checkout_runs_the_installed_build(tmp_path):
    built = installed_lob(tmp_path)
    checkout = unbuilt_checkout(tmp_path / "clone", built / "_version.py")
    proc = subprocess.run([sys.executable, "-m", "lob", "demo", "--events", "3000"], cwd=checkout,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "replayed 3,000 synthetic L3 events" in proc.stdout
    code = "import lob, lob.cli, lob._book; print(lob.__file__); print(lob.cli.__file__); print(lob._book.__file__)"
    init, cli, book = subprocess.run([sys.executable, "-c", code], cwd=checkout, capture_output=True, text=True,
                                     check=True).stdout.split()
    assert pathlib.Path(init).parent == checkout / "lob"
    # every submodule, compiled or not, from the build: one version's files only
    assert pathlib.Path(cli).parent == built and pathlib.Path(book).parent == built


def test_an_unbuilt_checkout_of_another_version_is_refused_in_one_line(tmp_path):
    other = tmp_path / "other_version.py"
    other.write_text("__version__ = version = '0.0.0+another'\n")
    checkout = unbuilt_checkout(tmp_path / "clone", other)
    proc = subprocess.run([sys.executable, "-c", "import lob"], cwd=checkout, capture_output=True, text=True)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: lobcore is not built in") and "is another version" in last
    assert "python -m pip install ." in last


def test_nothing_built_anywhere_says_how_to_build(tmp_path):
    checkout = unbuilt_checkout(tmp_path / "clone", installed_lob(tmp_path) / "_version.py")
    # -S: no site-packages, so no installed build either; numpy is never reached
    proc = subprocess.run([sys.executable, "-S", "-m", "lob", "demo"], cwd=checkout, capture_output=True, text=True)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "lobcore is not built in" in proc.stderr and "python -m pip install ." in proc.stderr


USER_SCRIPT = '''
import numpy as np
import numpy.typing as npt

import lob
import lob.io
from lob.replay import FeatureWriter, replay

book = lob.OrderBook()
book.add(1, lob.BID, 10_000, 300)
best: int | None = book.best_bid
events: npt.NDArray[np.void] = lob.synth.generate(100, seed=1)
seeded = lob.OrderBook.from_depth([10_000], [5], [10_002], [7])
left: int = seeded.cancel_anonymous(lob.BID, 10_000, 2)
per_stock: dict[str, npt.NDArray[np.void]] = lob.io.read_itch("day.itch", symbols=["AAA"])
books, rejected = lob.io.replay_itch("day.itch")
engine = lob.MatchingEngine()
report = engine.submit(1, lob.BID, 10_000, 5)
result = replay(events, depth=2)
reveal_type(book.microprice())
reveal_type(lob.io.read_itch)
reveal_type(books)
reveal_type(report)
reveal_type(result.summary)
reveal_type(lob.OrderBook.from_depth)
'''


def run_mypy(script, folder):
    pytest.importorskip("mypy")
    path = folder / "user.py"
    path.write_text(script)
    return subprocess.run([sys.executable, "-m", "mypy", "--python-executable", sys.executable, "--cache-dir",
                           str(folder / ".mypy_cache"), "--no-error-summary", str(path)],
                          cwd=folder, capture_output=True, text=True)


def test_mypy_sees_the_api_of_the_installed_package(tmp_path):
    """mypy, run outside the checkout, finds `lob` through this venv's install
    (editable or not) and types what it reveals."""
    proc = run_mypy(USER_SCRIPT, tmp_path)
    assert "error" not in proc.stdout, proc.stdout
    revealed = [line.split("Revealed type is ", 1)[1] for line in proc.stdout.splitlines() if "Revealed type" in line]
    assert len(revealed) == 6, proc.stdout
    revealed = [r.strip('"').replace("builtins.", "") for r in revealed]    # mypy versions differ in this
    assert revealed[0] == "float"
    assert revealed[1].startswith("def (path:") and revealed[1].endswith("-> dict[str, numpy.ndarray"
                                                                          "[tuple[Any, ...], numpy.dtype[numpy.void]]]")
    assert revealed[2] == "dict[str, lob._book.OrderBook]"
    assert revealed[3] == "lob._engine.Report"
    assert revealed[4].startswith("def (title: str") and revealed[4].endswith("-> str")
    assert revealed[5].endswith("-> lob._book.OrderBook")
    assert "Any" not in revealed


def test_mypy_finds_a_wrong_call(tmp_path):
    """Not an Any in disguise: a misuse of the API is an error."""
    proc = run_mypy("import lob\nimport lob.io\nlob.OrderBook().add('one', lob.BID, 10_000, 300)\n"
                    "x: str = lob.io.read_itch('f.itch')\n", tmp_path)
    assert proc.returncode == 1, proc.stdout
    assert 'Argument 1 to "add" of "OrderBook" has incompatible type "str"' in proc.stdout
    assert "Incompatible types in assignment" in proc.stdout


def test_the_package_api_resolves_to_typed_definitions():
    """Every name of lob.__all__ and lob.io.__all__ comes from a stub or an annotated module."""
    import lob.io

    for package in (lob, lob.io):
        for name in package.__all__:
            obj = getattr(package, name)
            origin = inspect.getmodule(obj) if not inspect.ismodule(obj) else obj
            if origin is None or origin.__name__ in ("builtins",) or not origin.__name__.startswith("lob"):
                continue
            source = pathlib.Path(origin.__file__)
            assert source.suffix == ".py" or source.with_name(source.name.split(".")[0] + ".pyi").exists(), \
                f"{package.__name__}.{name}: {source} has no stub"


@pytest.mark.skipif(os.environ.get("LOB_INSTALL_TEST") != "1",
                    reason="set LOB_INSTALL_TEST=1 to clone, build and install twice (about 5 minutes)")
def test_readme_commands_verbatim_in_a_fresh_clone(tmp_path):
    """The README's two commands, verbatim, from the root of a fresh clone of
    this checkout's HEAD, in a fresh venv; then mypy on a user script in both
    installs.  Opt-in: it builds lobcore twice."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    readme = (clone / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("  #")[0].strip() for line in block.strip().splitlines()]
    assert commands[0] == "python -m pip install . && python -m lob demo"
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    env = dict(os.environ, PATH=f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(env_dir))
    env.pop("PYTHONPATH", None)
    env.pop("LOB_INSTALL_TEST", None)
    python = env_dir / "bin" / "python"
    outside = tmp_path / "user"
    outside.mkdir()

    def mypy_ok():
        (outside / "user.py").write_text(USER_SCRIPT)
        proc = subprocess.run([str(python), "-m", "mypy", "--no-error-summary", "user.py"], cwd=outside, env=env,
                              capture_output=True, text=True)
        assert "error" not in proc.stdout and proc.stdout.count("Revealed type") == 6, proc.stdout

    first = subprocess.run(["bash", "-c", commands[0]], cwd=clone, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "replayed 1,000,000 synthetic L3 events" in first.stdout
    subprocess.run([str(python), "-m", "pip", "install", "-q", "mypy"], env=env, check=True)
    mypy_ok()
    # the second command as written, its pytest run narrowed to the CLI tests
    second = subprocess.run(["bash", "-c", commands[1] + " -q -x tests/test_cli.py"], cwd=clone, env=env,
                            capture_output=True, text=True)
    assert second.returncode == 0, (second.stdout[-3000:], second.stderr[-3000:])
    mypy_ok()
