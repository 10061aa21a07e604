#!/usr/bin/env bash
# Run a command against the sanitized build: the one place that knows what
# an uninstrumented Python needs to load AddressSanitizer + UBSan modules.
#
#   LOB_SANITIZE=1 python -m pip install -e '.[test]'   # build (setup.py)
#   tests/sanitize.sh                                   # the fast suite
#   tests/sanitize.sh python -m tests.fuzz.run apply --runs 100000
#
# With no command it runs the fast test suite (see the end: pytest -m
# "not slow" over tests/, benchmarks and their harness in the normal stage
# only).  PYTHON picks the interpreter (default: python).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}

flavour=$(cat build/lob-build-flavour 2>/dev/null || true)
if [ "$flavour" != sanitize ]; then
    echo "tests/sanitize.sh: lob is not the sanitized build (build/lob-build-flavour: ${flavour:-none});" \
         "build it with: LOB_SANITIZE=1 $PYTHON -m pip install -e '.[test]'" >&2
    exit 4
fi

# Python is not instrumented, so the ASan runtime must be loaded before
# anything else (it replaces malloc); libubsan comes in with the extensions.
libasan=$(${CC:-gcc} -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
    echo "tests/sanitize.sh: libasan.so not found (gcc -print-file-name=libasan.so)" >&2
    exit 4
fi
# libstdc++ right after it: ASan resolves its __cxa_throw interceptor when it
# starts, so a C++ extension loaded later (matplotlib's) that throws would
# otherwise abort in ASan's own CHECK.
libstdcxx=$(${CC:-gcc} -print-file-name=libstdc++.so.6)
if [ -e "$libstdcxx" ]; then
    libasan="$libasan:$libstdcxx"
fi
export LD_PRELOAD="$libasan${LD_PRELOAD:+:$LD_PRELOAD}"
# detect_leaks=0: CPython frees little at exit, LeakSanitizer would report
#   the interpreter (leaks are tests/fuzz/valgrind_leaks.py's job).
# allocator_may_return_null=1: a refused huge allocation returns NULL as in
#   a normal build (lob reports MemoryError), instead of ASan aborting.
# abort_on_error / halt_on_error: the first report stops the process.
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0:handle_abort=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# Python objects through malloc, so ASan sees their buffers too.
export PYTHONMALLOC=${PYTHONMALLOC:-malloc}
export LOB_SANITIZED=1

if [ $# -eq 0 ]; then
    # The fast suite: the benchmark harness tests (peers, the C++ reference:
    # other programs, nothing of lob's C) stay in the normal stage; the
    # model-comparison state machines run 40 examples (the normal stage runs
    # them in full); test_memory_is_returned: ASan quarantines freed memory,
    # so RSS does not drop.
    export LOB_STATEFUL_EXAMPLES=${LOB_STATEFUL_EXAMPLES:-40}
    set -- "$PYTHON" -m pytest tests -m "not slow" -q -p no:cacheprovider \
        --ignore=tests/test_bench_compare.py --ignore=tests/test_cppref.py --ignore=tests/test_peers_protocol.py \
        --deselect tests/test_stress.py::test_memory_is_returned
fi
exec "$@"
