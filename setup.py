"""Build the Cython extensions of lobcore; metadata lives in pyproject.toml."""
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

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
    "lob._floor": {"language_level": 3},
}

if sys.platform == "win32":
    COMPILE_ARGS = ["/O2"]
    MACROS = []
else:
    COMPILE_ARGS = ["-O3", "-fno-strict-aliasing"]
    # A `cdef inline` of Cython must inline: gcc declines for the per-event
    # dispatch (apply_one) once the book's inline methods are in it, and
    # the call costs ~3 ns/event in OrderBook.apply (bench/compare.py).
    MACROS = [("CYTHON_INLINE", "inline __attribute__((always_inline))")]
# lob._feed runs pthreads on POSIX sockets (recvmmsg on Linux); not built on Windows
LINK_ARGS = {"lob._feed": ["-pthread"]}
if sys.platform == "win32":
    del MODULES["lob._feed"]


def extension(name: str) -> Extension:
    return Extension(
        name,
        [name.replace(".", "/") + ".pyx"],
        include_dirs=["src", numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")] + (
            MACROS if MODULES[name] is HOT else []),
        extra_compile_args=COMPILE_ARGS,
        extra_link_args=LINK_ARGS.get(name, []),
    )


ext_modules = []
for module, directives in MODULES.items():
    ext_modules += cythonize([extension(module)], compiler_directives=directives)

# Editable installs (pip install -e .) in setuptools' "strict" mode: a .pth
# file names a link tree of the package (build/__editable__.*), a plain path
# that mypy and pyright follow; the default mode's import hook hides `lob`
# from them.  Extensions still build in place (lob/*.so) for the tests.  A
# new module appears in the link tree at the next pip install -e.
setup(ext_modules=ext_modules, options={"editable_wheel": {"mode": "strict"}})
