"""The exceptions of lobcore. All derive from LobError."""

__all__ = ["LobError", "UnknownOrderError", "DuplicateOrderError", "CrossedBookError", "EventError"]


class LobError(Exception):
    """Base class of every lobcore error."""


class UnknownOrderError(LobError, KeyError):
    """The order id is not resting."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument; show the message as written.
        return str(self.args[0]) if self.args else ""


class DuplicateOrderError(LobError, ValueError):
    """The order id is already resting."""


class CrossedBookError(LobError, ValueError):
    """An add or modify would lock or cross a book made with allow_cross=False."""


class EventError(LobError):
    """A batch stopped at a bad event.

    ``index`` is the event's position in the array; ``__cause__`` is the error
    that event raised.  Every event before ``index`` was applied, none from it on.
    """

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index
