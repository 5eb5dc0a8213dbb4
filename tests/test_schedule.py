"""The slow tests open each worker's first share, whatever the worker count."""

from __future__ import annotations

import gc
from typing import cast

import pytest

from ._schedule import slow_first


class _Item:
    """What slow_first reads of a test: its name and whether it is marked slow."""

    def __init__(self, name: str, slow: bool) -> None:
        self.name = name
        self.slow = slow

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "slow" and self.slow else None

    def __repr__(self) -> str:
        return self.name


def _items(count: int, slow: set[int]) -> list[pytest.Item]:
    # duck-typed: get_closest_marker is all slow_first reads of an item
    return cast("list[pytest.Item]", [_Item(f"t{index}", index in slow) for index in range(count)])


def _shares(items: list[pytest.Item], workers: int) -> list[list[pytest.Item]]:
    """The first distribution of ``--dist worksteal``: each idle worker in turn gets an
    even part of what is left, from the front."""
    shares, pending = [], list(items)
    for worker in range(workers):
        size = len(pending) // (workers - worker)
        shares.append(pending[:size])
        del pending[:size]
    return shares


@pytest.mark.parametrize("workers", [2, 3, 4, 8])
@pytest.mark.parametrize("count", [40, 41, 103])
def test_each_share_opens_with_its_part_of_the_slow_tests(workers: int, count: int) -> None:
    slow = {3, 17, 25, 26, 30, count - 1}  # late ones too: those ran last
    items = _items(count, slow)
    ordered = slow_first(items, workers)
    assert sorted(map(repr, ordered)) == sorted(map(repr, items))  # the same tests, once each
    shares = _shares(ordered, workers)
    heads = [[item for item in share if item.get_closest_marker("slow")] for share in shares]
    for share, head in zip(shares, heads, strict=True):
        assert share[: len(head)] == head  # slow first in each share
    assert max(map(len, heads)) - min(map(len, heads)) <= 1  # spread evenly
    assert [item for head in heads for item in head] == [  # in runs, as collected
        item for item in items if item.get_closest_marker("slow")
    ]
    rest = [item for item in ordered if not item.get_closest_marker("slow")]
    assert rest == [item for item in items if not item.get_closest_marker("slow")]  # in order


def test_one_worker_or_no_slow_test_keeps_the_collection_order() -> None:
    items = _items(10, {4})
    assert slow_first(items, 1) == items
    plain = _items(10, set())
    assert slow_first(plain, 4) == plain


def test_more_slow_tests_than_a_share_holds_keeps_the_collection_order() -> None:
    items = _items(5, {0, 1, 2, 3})
    assert slow_first(items, 4) == items


def test_the_collected_tests_are_set_aside_from_the_collector() -> None:
    from .conftest import GC_YOUNG

    assert gc.get_freeze_count() > 10_000  # the collection and the modules it imported
    assert gc.get_threshold()[0] == GC_YOUNG
