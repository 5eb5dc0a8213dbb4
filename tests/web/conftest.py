"""The wallboard's tests share the Redis tests' redis-server fixture."""

from __future__ import annotations

from ..redis.conftest import redis, redis_server, redis_socket, redis_url

__all__ = ["redis", "redis_server", "redis_socket", "redis_url"]
