"""The fuzz targets by name: each takes the input bytes (and skip_known) and
raises tests.fuzz.contract.Violation when the library breaks its contract."""
from tests.fuzz.targets_book import apply_target, engine_target
from tests.fuzz.targets_io import (dbn_target, itch_books_target, itch_target, lobster_book_target,
                                   lobster_messages_target)

TARGETS = {
    "apply": apply_target,                     # OrderBook.apply, raise/skip, empty/allow_cross/from_depth books
    "engine": engine_target,                   # MatchingEngine.submit_many, icebergs, owners, stp
    "itch": itch_target,                       # ItchParser.feed, whole vs chunked
    "itch_books": itch_books_target,           # ItchParser.feed_books with a list-changing new_book
    "lobster_messages": lobster_messages_target,   # lob.io.read_lobster on bytes
    "lobster_book": lobster_book_target,       # lob.io.read_lobster_book on bytes
    "dbn": dbn_target,                         # lob.io.read_dbn on a file
}
