"""Child processes of the Redis tests: ``python -m tests.redis._procs <role> ...``.

Nothing from the conftest: it imports pytest, 0.15 s of CPU in every child.
"""

from __future__ import annotations

import argparse
import json

import anyio
from redis.asyncio import Redis

from contactnow_async import ContactNow
from contactnow_async.redis import RedisTokenStore, StreamReader
from tests._child import run_then_exit


async def tokens(args: argparse.Namespace) -> None:
    """Wait for the go signal, then make concurrent calls on a cold client."""
    redis = Redis.from_url(args.redis)
    try:
        await redis.rpush("test:ready", "ready")
        # Blocked in Redis until the test pushes one "go" for each process: all four are
        # woken by that one push, and none spins meanwhile.
        if await redis.blpop(["test:go"], timeout=30) is None:
            raise TimeoutError("no go signal within 30 s")
        store = RedisTokenStore(redis, egress="test-host")
        async with ContactNow(
            username="demo", password="demo", base_url=args.base_url, token_store=store
        ) as client:
            async with anyio.create_task_group() as group:
                for _ in range(5):
                    group.start_soon(client.live.agents)
            print(json.dumps({"fetches": client.tokens.fetches}))
    finally:
        await redis.aclose()


async def reader(args: argparse.Namespace) -> None:
    """Read the group, record each event handled, acknowledge a batch once it is all handled."""
    redis = Redis.from_url(args.redis)
    try:
        stream_reader = StreamReader(
            redis,
            args.stream,
            group=args.group,
            consumer=args.consumer,
            count=args.count,
            block=0.1,
            claim_idle=args.claim_idle,
        )
        await stream_reader.create_group()
        while True:
            batch = await stream_reader.read()
            for entry in batch:
                await redis.rpush(
                    "test:processed",
                    json.dumps(
                        {
                            "consumer": args.consumer,
                            "uid": entry.event.log_id,
                            "id": entry.id,
                            "claimed": entry.claimed,
                        }
                    ),
                )
                await anyio.sleep(args.delay)
            await stream_reader.ack(*batch)
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    roles = parser.add_subparsers(dest="role", required=True)
    token_role = roles.add_parser("tokens")
    token_role.add_argument("redis")
    token_role.add_argument("base_url")
    reader_role = roles.add_parser("reader")
    reader_role.add_argument("redis")
    reader_role.add_argument("stream")
    reader_role.add_argument("group")
    reader_role.add_argument("consumer")
    reader_role.add_argument("--count", type=int, default=20)
    reader_role.add_argument("--delay", type=float, default=0.0)
    reader_role.add_argument("--claim-idle", type=float, default=0.5)
    args = parser.parse_args()
    role = tokens if args.role == "tokens" else reader
    run_then_exit(role, args)


if __name__ == "__main__":
    main()
