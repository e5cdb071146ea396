"""Which identifiers a load has already met, in bounded memory even for a national file."""

from __future__ import annotations

from typing import Final

# Up to this many identifiers a dict (which also keeps the line) is smaller; beyond it, a
# bitmap of every possible first nine digits (the tenth is their check digit): 125 MB.
_DICT_LIMIT: Final = 1_000_000
_POSSIBLE: Final = 1_000_000_000
UNKNOWN_LINE: Final = 0


class SeenIdentifiers:
    """Valid 10-digit identifiers met so far, with their line while the load is small."""

    def __init__(self) -> None:
        self._lines: dict[int, int] | None = {}
        self._bits = bytearray()

    def add(self, identifier: str, line: int) -> int | None:
        """Remember `identifier` of `line`; the earlier line (or UNKNOWN_LINE) if seen before."""
        key = int(identifier[:9])
        if self._lines is not None:
            earlier = self._lines.setdefault(key, line)
            if earlier != line:
                return earlier
            if len(self._lines) > _DICT_LIMIT:
                self._to_bitmap()
            return None
        byte, bit = divmod(key, 8)
        mask = 1 << bit
        if self._bits[byte] & mask:
            return UNKNOWN_LINE
        self._bits[byte] |= mask
        return None

    def _to_bitmap(self) -> None:
        assert self._lines is not None
        self._bits = bytearray(_POSSIBLE // 8)
        for key in self._lines:
            byte, bit = divmod(key, 8)
            self._bits[byte] |= 1 << bit
        self._lines = None
