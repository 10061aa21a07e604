"""One virtualenv for every peer book: bench/.venv-peers, on Python 3.12 or newer.

    from peers.venv import peer_python
    python, reason = peer_python()          # every peer module's REQUIRES
    python, reason = peer_python({"nautilus": ["nautilus_trader==1.231.0"]})

The base interpreter is `base=` or $LOB_PEER_PYTHON when given (the venv is
rebuilt if it was made with another Python version), else python3.13 /
python3.12 on PATH, then pyenv's ~/.pyenv/versions/3.12+ (newest first).  numpy goes in first, then each peer's
REQUIRES in its own pip call, and each installed peer is imported once in the
venv to prove it loads: a peer that fails to install or import is recorded with
the reason and does not stop the others.  A stamp file in the venv holds what
was installed (and what failed) for which requirements, so a second call with
the same requirements runs no pip at all.  A failed peer is retried only when
its requirements change or with retry_failed=True.

Command line: python bench/peers/venv.py [--retry-failed] [--base PYTHON]
"""
import ast
import glob
import json
import os
import pathlib
import shutil
import subprocess
import sys

PEERS = pathlib.Path(__file__).resolve().parent
BENCH = PEERS.parent
# lobcore's own rows run in the main interpreter (lobcore is the checkout), not the venv
NOT_PEERS = {"__init__", "venv", "run_peer", "lobcore_batch", "lobcore_calls"}
BASE_REQUIRES = ["numpy"]
STAMP = "peers-stamp.json"


def peer_modules():
    """Names of the peer modules in bench/peers (files with a REQUIRES list)."""
    return sorted(path.stem for path in PEERS.glob("*.py")
                  if path.stem not in NOT_PEERS and "REQUIRES" in path.read_text())


def module_requires(module):
    """A peer module's REQUIRES, read from its source (the module is not imported:
    its package may exist only in the peer venv)."""
    tree = ast.parse((PEERS / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "REQUIRES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise ValueError(f"bench/peers/{module}.py has no literal REQUIRES list")


def all_requires():
    return {module: module_requires(module) for module in peer_modules()}


def find_python312():
    candidates = [shutil.which(name) for name in ("python3.13", "python3.12")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")), reverse=True)
    for path in filter(None, candidates):
        try:
            out = subprocess.run([path, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                                 capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.stdout.strip() == "True":
            return path
    return None


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.startswith("WARNING: Location")]
    return lines[-1] if lines else "no output"


def _pip(python, requirements):
    out = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
                         capture_output=True, text=True)
    return None if out.returncode == 0 else f"pip install {' '.join(requirements)} failed: {_last_line(out.stderr)}"


def _imports(python, module):
    code = (f"import sys; sys.path.insert(0, {str(BENCH)!r}); import importlib; "
            f"m = importlib.import_module('peers.{module}'); print(m.version())")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300)
    return None if out.returncode == 0 else f"import peers.{module} failed: {_last_line(out.stderr)}"


def peer_failures(name=".venv-peers"):
    """{peer module: reason} for the peers that did not install, from the stamp."""
    path = BENCH / name / STAMP
    return json.loads(path.read_text()).get("failed", {}) if path.exists() else {}


def _version(python):
    out = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip() if out.returncode == 0 else None


def peer_python(requirements=None, name=".venv-peers", retry_failed=False, log=None, base=None):
    """(path to the venv's python, None) when everything asked for is installed;
    (python, "peer: reason; ...") when some peers failed (the others are usable);
    (None, reason) when there is no venv (no Python >= 3.12, numpy failed).

    requirements: {peer module: [pip requirements]} (default: every peer module's
    REQUIRES), or a plain list (one group named "extra")."""
    if requirements is None:
        requirements = all_requires()
    elif not isinstance(requirements, dict):
        requirements = {"extra": list(requirements)}
    log = log or (lambda message: print(message, file=sys.stderr))
    venv = BENCH / name
    python = venv / "bin" / "python"
    stamp_path = venv / STAMP
    base = base or os.environ.get("LOB_PEER_PYTHON") or None
    if base and python.exists() and _version(python) != _version(base):
        python.unlink()                   # made with another Python: rebuild
    stamp = {"installed": {}, "failed": {}}
    if python.exists() and stamp_path.exists():
        stamp = json.loads(stamp_path.read_text())
    if not python.exists():
        base = base or find_python312()
        if base is None:
            return None, "no Python 3.12 or newer on this machine (python3.13/python3.12 on PATH, ~/.pyenv)"
        log(f"peers: creating {venv} with {base}")
        out = subprocess.run([base, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True)
        if out.returncode:
            return None, f"python -m venv failed: {_last_line(out.stderr)}"
    python = str(python)

    def save():
        stamp_path.write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n")

    if stamp["installed"].get("numpy") != BASE_REQUIRES:
        log("peers: pip install numpy")
        why = _pip(python, BASE_REQUIRES)
        if why:
            return None, why
        stamp["installed"]["numpy"] = BASE_REQUIRES
        save()
    changed = []
    for peer, reqs in requirements.items():
        reqs = list(reqs)
        if stamp["installed"].get(peer) == reqs:
            continue
        failed = stamp["failed"].get(peer)
        if failed and failed["requires"] == reqs and not retry_failed:
            continue
        log(f"peers: pip install {' '.join(reqs)} ({peer})")
        why = _pip(python, reqs) if reqs else None
        stamp["installed"].pop(peer, None)
        if why:
            stamp["failed"][peer] = {"requires": reqs, "reason": why}
        else:
            stamp["failed"].pop(peer, None)
            stamp["installed"][peer] = reqs
            changed.append(peer)
        save()
    # a later install may have moved a shared dependency: every peer must still import
    if changed:
        for peer in list(stamp["installed"]):
            if peer in ("numpy", "extra") or not (PEERS / f"{peer}.py").exists():
                continue
            why = _imports(python, peer)
            if why:
                stamp["failed"][peer] = {"requires": stamp["installed"].pop(peer), "reason": why}
        save()
    failures = {peer: info["reason"] for peer, info in stamp["failed"].items() if peer in requirements}
    reason = "; ".join(f"{peer}: {why}" for peer, why in sorted(failures.items())) or None
    return python, reason


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description="build or update bench/.venv-peers")
    parser.add_argument("--retry-failed", action="store_true")
    parser.add_argument("--base", help="the Python (3.12+) to build the venv with")
    opts = parser.parse_args()
    python, reason = peer_python(retry_failed=opts.retry_failed, base=opts.base)
    print(json.dumps({"python": python, "reason": reason, "failed": peer_failures()}, indent=1))
