"""Fuzz targets of lobcore (see tests/fuzz/README.md): run.py drives them
(atheris, or a forking random engine), test_fuzz.py replays the corpus in CI,
test_regressions.py keeps every crash the fuzzers found."""
