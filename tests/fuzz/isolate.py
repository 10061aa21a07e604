"""Run a test body in a forked child, so a segfault or a sanitizer abort
fails that test instead of killing the whole pytest run."""
from __future__ import annotations

import faulthandler
import functools
import os
import pickle
import signal
import tempfile
import traceback


def run_forked(fn, *args, timeout: float = 120.0, **kwargs):
    """fn(*args, **kwargs) in a child process; returns its (picklable)
    result, re-raises its exception as AssertionError with the traceback,
    and fails when the child dies (a signal, an abort) or runs past
    `timeout` seconds."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 0
            try:
                os.dup2(err.fileno(), 2)
                # Python's own crash report into that file too (pytest's
                # faulthandler writes to the stderr it saw at start)
                faulthandler.enable(file=2)
                if timeout:
                    signal.alarm(int(timeout) + 1)
                result = fn(*args, **kwargs)
                payload = pickle.dumps(("ok", result))
            except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
                payload = pickle.dumps(("error", "".join(traceback.format_exception(exc))))
                code = 1
            try:
                out.write(payload)
                out.flush()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        payload = out.read()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        tail = _report(stderr)
        raise AssertionError(f"the process died with {sig}"
                             f"{' (timeout)' if sig == 'SIGALRM' else ''}:\n{tail}")
    if not payload:
        tail = _report(stderr)
        raise AssertionError(f"the process exited with {os.WEXITSTATUS(status)} and no result:\n{tail}")
    kind, value = pickle.loads(payload)
    if kind == "error":
        raise AssertionError(value)
    return value


def _report(stderr: str) -> str:
    """The start of a sanitizer's (or Python's fatal error) report, else
    the end of stderr."""
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if "runtime error:" in line or "ERROR: AddressSanitizer" in line or "Fatal Python error" in line:
            return "\n".join(lines[i:i + 25])
    return "\n".join(lines[-40:])


def forked(fn=None, *, timeout: float = 120.0):
    """Decorator: the test runs in a forked child (see run_forked)."""
    def wrap(f):
        @functools.wraps(f)
        def test(*args, **kwargs):
            return run_forked(f, *args, timeout=timeout, **kwargs)
        return test
    return wrap(fn) if fn is not None else wrap
