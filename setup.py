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
    "lob._book": HOT,
    "lob._synth": HOT,
    "lob._batch": HOT,
    "lob._lobster": HOT,
    "lob._itch": HOT,
    "lob._engine": HOT,
    "lob._floor": {"language_level": 3},
}

if sys.platform == "win32":
    COMPILE_ARGS = ["/O2"]
else:
    COMPILE_ARGS = ["-O3", "-fno-strict-aliasing"]


def extension(name: str) -> Extension:
    return Extension(
        name,
        [name.replace(".", "/") + ".pyx"],
        include_dirs=["src", numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS,
    )


ext_modules = []
for module, directives in MODULES.items():
    ext_modules += cythonize([extension(module)], compiler_directives=directives)

setup(ext_modules=ext_modules)
