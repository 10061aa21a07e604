"""Deterministic decoding of fuzz bytes into values (a small cousin of
atheris' FuzzedDataProvider, pure Python so every engine and the corpus
replay decode an input the same way).  When the bytes run out every draw
returns its smallest choice, so any input decodes to something."""
from __future__ import annotations

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1

#: int64 values where arithmetic goes wrong: limits, their neighbours, and
#: powers of two around 32 bits.
EXTREME_INT64 = (0, 1, -1, 2, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1, 1 << 31, (1 << 31) - 1,
                 1 << 32, (1 << 32) - 1, 1 << 40, 1 << 62, -(1 << 62), (1 << 62) + 1, INT64_MAX // 2,
                 INT64_MAX // 2 + 1, -(1 << 31))


class Data:
    """A cursor over fuzz bytes."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def left(self) -> int:
        return len(self.buf) - self.pos

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            return 0
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def uint(self, nbytes: int) -> int:
        """An unsigned int of `nbytes` little-endian bytes (0-padded)."""
        chunk = self.buf[self.pos:self.pos + nbytes]
        self.pos += len(chunk)
        return int.from_bytes(chunk, "little")

    def below(self, n: int) -> int:
        """An int in [0, n); n <= 2**16."""
        if n <= 1:
            return 0
        return (self.byte() if n <= 256 else self.uint(2)) % n

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def flag(self) -> bool:
        return bool(self.byte() & 1)

    def bytes(self, n: int) -> bytes:
        chunk = self.buf[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

    def rest(self) -> bytes:
        chunk = self.buf[self.pos:]
        self.pos = len(self.buf)
        return chunk

    def small(self, lo: int, hi: int) -> int:
        """An int in [lo, hi] (hi - lo < 2**16)."""
        return lo + self.below(hi - lo + 1)

    def int64(self, lo: int = -3, hi: int = 12) -> int:
        """Mostly a small int in [lo, hi], sometimes an extreme int64 or
        any 64-bit pattern: what overflows and sign bugs need."""
        mode = self.byte() % 16
        if mode < 11:
            return self.small(lo, hi)
        if mode < 14:
            return self.choice(EXTREME_INT64)
        raw = self.uint(8)
        return raw - (1 << 64) if raw > INT64_MAX else raw

    def uint64(self, hi: int = 8) -> int:
        """An order id: mostly in [0, hi], sometimes extreme."""
        mode = self.byte() % 16
        if mode < 13:
            return self.small(0, hi)
        if mode < 15:
            return self.choice((0, UINT64_MAX, UINT64_MAX - 1, INT64_MAX, INT64_MAX + 1, 0xFFFFFFFF))
        return self.uint(8)
