"""A priority queue of ``(time, index)`` pairs that compares floats, not tuples.

A heap of tuples spends most of a pop in tuple comparisons (each compares the
times for equality, then for order, through the generic protocol). Here each
distinct time is one float in a heap, and the indices due at that time wait in
a small heap of their own: the same pairs come out, in the same order (equal
pairs are indistinguishable), for a fraction of the comparisons.
"""

from __future__ import annotations

from heapq import heappop, heappush

__all__ = ["Timetable"]


class Timetable:
    """Pairs pushed in any order, popped smallest ``(time, index)`` first, duplicates kept.

    ``times`` is the heap of distinct times (``times[0]``: the next one), for a
    caller's loop to peek at without a call.
    """

    __slots__ = ("_at", "times")

    def __init__(self) -> None:
        self.times: list[float] = []
        # A time's one index as a bare int (most times have one): an int is no work for
        # the garbage collector, where a list a time made its collections walk 100,000.
        self._at: dict[float, int | list[int]] = {}

    def __len__(self) -> int:
        return sum(1 if isinstance(at, int) else len(at) for at in self._at.values())

    def push(self, time: float, index: int) -> None:
        """Add the pair ``(time, index)``."""
        at = self._at.get(time)
        if at is None:
            self._at[time] = index
            heappush(self.times, time)
        elif isinstance(at, int):
            self._at[time] = [at, index] if at <= index else [index, at]
        else:
            heappush(at, index)

    def pop(self) -> tuple[float, int]:
        """Take out the smallest pair (the timetable must not be empty)."""
        time = self.times[0]
        at = self._at[time]
        if isinstance(at, int):
            heappop(self.times)
            del self._at[time]
            return time, at
        index = heappop(at)
        if len(at) == 1:
            self._at[time] = at[0]
        return time, index

    def pairs(self) -> list[tuple[float, int]]:
        """Every pair, in no particular order."""
        return [
            (time, index)
            for time, at in self._at.items()
            for index in ([at] if isinstance(at, int) else at)
        ]
