"""Peer: itch-book (C++23, PyPI), on an ITCH 5.0 file rather than an event array.

Not a replay peer of run_peer.py: compare.py and itch_vs_itchbook.py run

    python bench/peers/itchbook.py FILE.itch

in the peer venv, which prints one JSON line: seconds of Session.feed over
the whole file (bbo table only), message count, the final best bid/ask of
every stock locate, and the version.
"""
import json
import sys
import time
from importlib.metadata import version as _dist_version

NAME = "itch-book (C++23, ITCH 5.0)"
REQUIRES = ["itch-book==0.2.1"]
ITCH_ONLY = True


def version():
    return _dist_version("itch-book")


def feed(path):
    from itch_book import Session
    with open(path, "rb") as f:
        blob = f.read()
    session = Session(tables=["bbo"], depth=0, symbols=[])
    session.reserve(len(blob) // 21)
    start = time.perf_counter()
    session.feed(blob)
    seconds = time.perf_counter() - start
    bbo = session.take_bbo()
    last = {}
    for i in range(len(bbo["locate"])):
        last[int(bbo["locate"][i])] = (int(bbo["bid_px"][i]), int(bbo["bid_sz"][i]), int(bbo["ask_px"][i]),
                                       int(bbo["ask_sz"][i]))
    return {"seconds": seconds, "messages": session.stats()["messages"], "last": last, "version": version()}


if __name__ == "__main__":
    print(json.dumps(feed(sys.argv[1])))
