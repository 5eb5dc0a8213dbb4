"""The order the workers get the tests in: the slow ones first (see conftest)."""

from __future__ import annotations

import pytest


def slow_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """``items`` reordered so that each of the ``workers`` shares that worksteal's first
    distribution makes (the first gets ``len // workers``, each next one an even part of
    what is left) opens with its run of the slow items, as collected: the *i*-th share
    with the *i*-th ``workers``-th of them; else ``items`` as they are.

    Runs, not every ``workers``-th item: the slow tests of one file tend to wait in the
    same way (three connection tests that each sleep 7 s in a timeout, next to each
    other), and dealt out one a worker they waited side by side, with the cores idle;
    one after another on one worker, the others compute meanwhile."""
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if workers < 2 or not slow:
        return items
    rest = iter([item for item in items if item.get_closest_marker("slow") is None])
    ordered: list[pytest.Item] = []
    left = len(items)
    for share in range(workers):
        size = left // (workers - share)
        left -= size
        heads = slow[share * len(slow) // workers : (share + 1) * len(slow) // workers]
        if len(heads) > size:
            return items  # fewer tests than slow ones to spread: as collected
        ordered.extend(heads)
        ordered.extend(next(rest) for _ in range(size - len(heads)))
    return ordered
