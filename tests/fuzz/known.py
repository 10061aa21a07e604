"""Known defects (issue 9's crash list) that a long fuzz run on unfixed code
may step around with --skip-known, so it goes on looking for new ones.

A target that sees an input about to hit one raises Known(name) instead of
running it; the runner counts those inputs per name.  Every name here has a
regression test in tests/fuzz/test_regressions.py; CI runs the targets
without --skip-known, so a fixed defect is fuzzed again."""


class Known(Exception):
    """The input would hit the known defect `name`; it was not run."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name
