"""Readers of exchange order-by-order data into lob.EVENT_DTYPE arrays, and
the writers of each format beside them."""
from lob.io.dbn import DbnMessages, read_dbn, read_dbn_messages, write_dbn
from lob.io.itch import ItchParser, iter_itch, read_itch, replay_itch, write_itch
from lob.io.lobster import LobsterCheck, LobsterHalt, check_lobster, read_lobster, read_lobster_book
from lob.io.lobster import (LobsterMessages, LobsterMismatch, LobsterStream, LobsterTouch, lobster_touch_rate,
                            read_lobster_messages, read_lobster_stream, write_lobster)

__all__ = ["read_dbn", "read_dbn_messages", "write_dbn", "DbnMessages", "read_itch", "replay_itch", "iter_itch", "write_itch",
           "ItchParser", "read_lobster", "read_lobster_book", "check_lobster", "LobsterCheck", "LobsterHalt",
           "read_lobster_messages", "read_lobster_stream", "write_lobster", "lobster_touch_rate", "LobsterMessages",
           "LobsterStream", "LobsterTouch", "LobsterMismatch"]
