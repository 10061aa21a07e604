"""Readers of exchange order-by-order data into lob.EVENT_DTYPE arrays."""
from lob.io.dbn import DbnMessages, read_dbn, read_dbn_messages, write_dbn
from lob.io.itch import ItchParser, iter_itch, read_itch, replay_itch
from lob.io.lobster import LobsterCheck, LobsterHalt, check_lobster, read_lobster, read_lobster_book

__all__ = ["read_dbn", "read_dbn_messages", "write_dbn", "DbnMessages", "read_itch", "replay_itch", "iter_itch", "ItchParser", "read_lobster", "read_lobster_book", "check_lobster", "LobsterCheck", "LobsterHalt"]
