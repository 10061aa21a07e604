"""lobcore: a C-level limit order book and matching core for Python.

    import lob
    book = lob.OrderBook()
    book.add(1, lob.BID, 10_000, 300)

See the README and the API contract for the whole surface.
"""


def _find_compiled_build(path: list) -> None:
    """Take the package's submodules from the installed build of this same
    version when this folder has no compiled extensions (`path`: __path__).

    `python -m lob` in the root of a source checkout imports this folder, not
    the installed package, and `pip install .` builds the extensions into
    site-packages, not here.  Then every submodule, compiled or not, comes
    from the first built `lob` on the import path (site-packages, or an
    editable install elsewhere) whose `_version.py` equals this folder's
    (the build writes it into both), so one version's files never mix with
    another's.  None: an ImportError that says how to build."""
    import importlib.machinery
    import os
    import sys

    finder = importlib.machinery.PathFinder
    if finder.find_spec("lob._book", path) is not None:
        return

    def version_of(folder: str) -> "bytes | None":
        try:
            with open(os.path.join(folder, "_version.py"), "rb") as f:
                return f.read()
        except OSError:
            return None

    here = os.path.realpath(path[0])
    folders = [os.path.join(entry or os.getcwd(), "lob") for entry in sys.path if isinstance(entry, str)]
    for hook in sys.meta_path:              # setuptools' editable finder maps "lob" to a checkout
        if hook is finder or not hasattr(hook, "find_spec"):
            continue
        try:
            spec = hook.find_spec("lob", None)
        except Exception:  # a third-party hook that cannot answer for this name
            continue
        folders += list(getattr(spec, "submodule_search_locations", None) or [])
    ours, others = version_of(here), []
    for folder in map(os.path.realpath, folders):
        if os.path.normcase(folder) == os.path.normcase(here) or finder.find_spec("lob._book", [folder]) is None:
            continue
        if ours is not None and version_of(folder) == ours:
            path[:] = [folder]
            return
        others.append(folder)
    elsewhere = f" (the build in {others[0]} is another version)" if others else ""
    raise ImportError(f"lobcore is not built in {path[0]}{elsewhere}: run `python -m pip install .` here, or "
                      "`python -m pip install -e .` to build the extensions in this folder", name="lob")


_find_compiled_build(__path__)
del _find_compiled_build
from lob._book import BookView, OrderBook
from lob._engine import OUTCOMES, STP_MODES, MatchingEngine, Report
from lob._sim import Simulator
from lob.depth import Depth
from lob.orders import EngineOrder, RestingOrder
from lob.dtypes import (EVENT_DTYPE, FEATURE_DTYPE, FILL_DTYPE, ORDER_DTYPE, REPORT_DTYPE, SELF_TRADE_DTYPE,
                        SIM_FILL_DTYPE, feature_dtype)
from lob.errors import (CrossedBookError, DuplicateOrderError, EventError, LobError, ParseError,
                        UnknownOrderError)
from lob.kinds import (ADD, ANON, ASK, BID, CANCEL, CLEAR, EXECUTE, MODIFY, NO_AGGRESSOR, REDUCE, TRADE, EventKind,
                       Outcome, RequestKind, Side, StpMode, Tif)
from lob import synth
from lob import signals
from lob import sim

try:
    from lob._version import version as __version__
except ImportError:  # a source tree that was never built
    __version__ = "0.0.0+unknown"

__all__ = [
    "OrderBook", "BookView", "MatchingEngine", "Report", "OUTCOMES", "STP_MODES", "EngineOrder", "RestingOrder",
    "Simulator", "Depth", "EVENT_DTYPE", "FEATURE_DTYPE", "FILL_DTYPE", "ORDER_DTYPE", "REPORT_DTYPE",
    "SELF_TRADE_DTYPE", "SIM_FILL_DTYPE", "feature_dtype",
    "LobError", "UnknownOrderError", "DuplicateOrderError", "CrossedBookError", "EventError", "ParseError",
    "Side", "EventKind", "Tif", "StpMode", "RequestKind", "Outcome",
    "BID", "ASK", "NO_AGGRESSOR", "ADD", "REDUCE", "CANCEL", "EXECUTE", "TRADE", "MODIFY", "CLEAR", "ANON",
    "synth", "sim", "__version__",
]
