"""lobcore: a C-level limit order book and matching core for Python.

    import lob
    book = lob.OrderBook()
    book.add(1, lob.BID, 10_000, 300)

See the README and the API contract for the whole surface.
"""
from lob._book import BookView, OrderBook
from lob._engine import OUTCOMES, STP_MODES, MatchingEngine, Report
from lob.depth import Depth
from lob.orders import EngineOrder, RestingOrder
from lob.dtypes import (EVENT_DTYPE, FEATURE_DTYPE, FILL_DTYPE, ORDER_DTYPE, REPORT_DTYPE, SELF_TRADE_DTYPE,
                        feature_dtype)
from lob.errors import (CrossedBookError, DuplicateOrderError, EventError, LobError, ParseError,
                        UnknownOrderError)
from lob.kinds import (ADD, ANON, ASK, BID, CANCEL, CLEAR, EXECUTE, MODIFY, NO_AGGRESSOR, REDUCE, TRADE, EventKind,
                       Outcome, RequestKind, Side, StpMode, Tif)
from lob import synth
from lob import signals

try:
    from lob._version import version as __version__
except ImportError:  # a source tree that was never built
    __version__ = "0.0.0+unknown"

__all__ = [
    "OrderBook", "BookView", "MatchingEngine", "Report", "OUTCOMES", "STP_MODES", "EngineOrder", "RestingOrder",
    "Depth", "EVENT_DTYPE", "FEATURE_DTYPE", "FILL_DTYPE", "ORDER_DTYPE", "REPORT_DTYPE", "SELF_TRADE_DTYPE",
    "feature_dtype",
    "LobError", "UnknownOrderError", "DuplicateOrderError", "CrossedBookError", "EventError", "ParseError",
    "Side", "EventKind", "Tif", "StpMode", "RequestKind", "Outcome",
    "BID", "ASK", "NO_AGGRESSOR", "ADD", "REDUCE", "CANCEL", "EXECUTE", "TRADE", "MODIFY", "CLEAR", "ANON",
    "synth", "__version__",
]
