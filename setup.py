"""Build the Cython extensions of lobcore; metadata lives in pyproject.toml.

LOB_SANITIZE=1 pip install -e . builds every extension with AddressSanitizer
and UndefinedBehaviorSanitizer (abort on the first report) and Cython's
bounds, wraparound and initialisation checks on, for tests/sanitize.sh.
"""
import os
import pathlib
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# Directives per module: the hot modules drop bounds and wraparound checks
# (their loops index only what they have sized), the floor keeps the defaults.
HOT = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "embedsignature": True,
}
MODULES = {
    "lob._events": HOT,
    "lob._book": HOT,
    "lob._synth": HOT,
    "lob._batch": HOT,
    "lob._lobster": HOT,
    "lob._itch": HOT,
    "lob._dbn": HOT,
    "lob._engine": HOT,
    "lob._sim": HOT,
    "lob._feed": HOT,
    "lob._heatmap": HOT,
    "lob._floor": {"language_level": 3},
}

SANITIZE = os.environ.get("LOB_SANITIZE", "").strip() not in ("", "0")
ROOT = pathlib.Path(__file__).resolve().parent
# The flavour of the last build: switching between sanitized and normal
# builds must recompile everything, never reuse the other flavour's files.
FLAVOUR_STAMP = ROOT / "build" / "lob-build-flavour"
FLAVOUR = "sanitize" if SANITIZE else "normal"

SANITIZE_LINK_ARGS: list = []
if sys.platform == "win32":
    COMPILE_ARGS = ["/O2"]
    MACROS = []
else:
    COMPILE_ARGS = ["-O3", "-fno-strict-aliasing"]
    # A `cdef inline` of Cython must inline (the core's own per-event path is
    # LOB_INLINE in src/lob_status.h): gcc declines otherwise, and a call per
    # event costs ~3 ns in OrderBook.apply.
    MACROS = [("CYTHON_INLINE", "inline __attribute__((always_inline))")]
# lob._feed runs pthreads on POSIX sockets (recvmmsg on Linux); not built on Windows
LINK_ARGS = {"lob._feed": ["-pthread"]}
if sys.platform == "win32":
    del MODULES["lob._feed"]

if SANITIZE:
    if sys.platform == "win32":
        raise SystemExit("LOB_SANITIZE=1 needs gcc or clang (AddressSanitizer + UBSan)")
    # Every check on: Cython's index checks in every module, and the
    # sanitizers abort at the first report (-fno-sanitize-recover) so a test
    # cannot pass over undefined behaviour.  -fno-wrapv undoes Python's
    # -fwrapv, under which signed overflow is defined and UBSan stays quiet
    # about it.  -O1 keeps the stacks readable.
    MODULES = {name: dict(d, boundscheck=True, wraparound=True, initializedcheck=True)
               for name, d in MODULES.items()}
    SANITIZERS = "-fsanitize=address,undefined"
    COMPILE_ARGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-strict-aliasing", "-fno-wrapv", SANITIZERS,
                    "-fno-sanitize-recover=all"]
    SANITIZE_LINK_ARGS = [SANITIZERS]
    MACROS = [("LOB_SANITIZE", "1")]


class BuildExt(build_ext):
    """build_ext that rebuilds every extension when the flavour changed."""

    def run(self):
        previous = FLAVOUR_STAMP.read_text().strip() if FLAVOUR_STAMP.exists() else None
        if previous != FLAVOUR:
            self.force = True
        super().run()
        FLAVOUR_STAMP.parent.mkdir(parents=True, exist_ok=True)
        FLAVOUR_STAMP.write_text(FLAVOUR + "\n")


def extension(name: str) -> Extension:
    return Extension(
        name,
        [name.replace(".", "/") + ".pyx"],
        include_dirs=["src", numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")] + (
            MACROS if SANITIZE or MODULES[name] is HOT else []),  # sanitized: no forced inlining
        extra_compile_args=COMPILE_ARGS,
        extra_link_args=LINK_ARGS.get(name, []) + SANITIZE_LINK_ARGS,
    )


ext_modules = []
for module, directives in MODULES.items():
    if SANITIZE:
        # Its own C files (build/sanitize), always regenerated: the normal
        # build's lob/*.c are left alone for the next normal build.
        ext_modules += cythonize([extension(module)], compiler_directives=directives,
                                 build_dir="build/sanitize", force=True)
    else:
        ext_modules += cythonize([extension(module)], compiler_directives=directives)

# Editable installs (pip install -e .) in setuptools' "strict" mode: a .pth
# file names a link tree of the package (build/__editable__.*), a plain path
# that mypy and pyright follow; the default mode's import hook hides `lob`
# from them.  Extensions still build in place (lob/*.so) for the tests.  A
# new module appears in the link tree at the next pip install -e.
setup(ext_modules=ext_modules, cmdclass={"build_ext": BuildExt}, options={"editable_wheel": {"mode": "strict"}})
