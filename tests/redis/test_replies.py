"""Stream replies in each shape redis-py gives them (no server: the shapes as literals;
the reader's and the web source's tests read a real redis-server with each protocol)."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster

from contactnow_async.redis import StreamReader
from contactnow_async.redis._replies import read_entries, stream_entries, undecoded

ONE = (b"1-0", {b"event": b"{}", b"fence": b"3"})
TWO = ("2-0", {"event": "{}"})  # a client with decode_responses
EXPECTED = [("1-0", {"event": "{}", "fence": "3"}), ("2-0", {"event": "{}"})]


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param([[b"s", [ONE, TWO]]], id="resp2"),
        pytest.param({b"s": [[ONE, TWO]]}, id="resp3"),
        pytest.param({b"s": [ONE, TWO]}, id="resp3-unified"),
        pytest.param({b"s": [[ONE]], b"t": [[TWO]]}, id="resp3-two-streams"),
        pytest.param([[b"s", [ONE]], [b"t", [TWO]]], id="resp2-two-streams"),
    ],
)
def test_read_entries_of_every_shape(reply: Any) -> None:
    assert read_entries(reply) == EXPECTED


@pytest.mark.parametrize(
    "reply", [None, [], {}, [[b"s", []]], {b"s": [[]]}, {b"s": []}, {b"s": None}]
)
def test_read_entries_of_nothing(reply: Any) -> None:
    assert read_entries(reply) == []


def test_deleted_entries() -> None:
    # Deleted while pending: XREADGROUP gives no fields (None, or {} from redis-py 8),
    # Redis 6.2's XAUTOCLAIM a nil entry, which redis-py makes (None, None).
    assert stream_entries([(b"1-0", None), (b"2-0", {}), (None, None), ONE]) == [
        ("1-0", None),
        ("2-0", None),
        EXPECTED[0],
    ]
    assert read_entries({b"s": [[(b"1-0", {}), (None, None), ONE]]}) == [
        ("1-0", None),
        EXPECTED[0],
    ]


def test_a_cluster_client_is_read_as_given() -> None:
    # A RedisCluster has no one connection pool to copy: undecoded() raised
    # AttributeError, and with it StreamReader(cluster, ...), which the relay's keys
    # (one hash tag) are made for. No connection is opened here.
    cluster = RedisCluster(host="127.0.0.1", port=1)
    assert undecoded(cluster) is None  # type: ignore[arg-type]  # a cluster client: the case
    reader = StreamReader(cluster, "{cn}:agents", group="g", consumer="c")  # type: ignore[arg-type]
    assert id(reader._redis) == id(cluster)  # its commands go to the cluster client itself


def test_a_blocking_pool_keeps_its_limit_in_the_undecoded_client() -> None:
    # A client whose pool is a BlockingConnectionPool (at most N connections, waiting
    # for one): undecoded() gave a plain ConnectionPool of 2**31 connections, which
    # raised nothing and waited for nothing. No connection is opened here.
    pool = BlockingConnectionPool(max_connections=3, timeout=7, decode_responses=True)
    own = undecoded(Redis(connection_pool=pool))
    assert own is not None
    assert type(own.connection_pool) is BlockingConnectionPool
    assert own.connection_pool.max_connections == 3
    assert own.connection_pool.timeout == 7
    assert own.connection_pool.connection_kwargs["decode_responses"] is False
