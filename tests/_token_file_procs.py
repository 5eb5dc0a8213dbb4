"""Child processes of the token file tests: ``python -m tests._token_file_procs <role> ...``.

Nothing from pytest or the conftest: each child imports the library and no more. Each
says ``ready`` on stdout, then waits for a line on stdin, so that the test starts them
all at once.
"""

from __future__ import annotations

import argparse
import json
import sys

import anyio

from contactnow_async import ContactNow, FileTokenStore, Token
from tests._child import run_then_exit


async def save(args: argparse.Namespace) -> None:
    """Save ``count`` tokens, each under a key of its own."""
    store = FileTokenStore(args.path)
    for n in range(args.count):
        await store.save(f"{args.tag}|{n}", Token(f"{n:040x}", 2_000_000_000))


async def burst(args: argparse.Namespace) -> None:
    """Make concurrent calls on a cold client; print how many tokens it fetched."""
    async with ContactNow(
        username="demo",
        password="demo",
        base_url=args.base_url,
        token_store=FileTokenStore(args.path),
    ) as client:
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(client.live.agents)
        print(json.dumps({"fetches": client.tokens.fetches}))


async def hold(args: argparse.Namespace) -> None:
    """Take the file's lock, say so, and keep it until killed."""
    async with FileTokenStore(args.path).lock("k"):
        print("held", flush=True)
        await anyio.sleep_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["save", "burst", "hold"])
    parser.add_argument("path")
    parser.add_argument("--tag", default="")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--base-url", default="")
    args = parser.parse_args()
    print("ready", flush=True)
    if not sys.stdin.readline():
        raise SystemExit("no go signal")
    role = {"save": save, "burst": burst, "hold": hold}[args.role]
    run_then_exit(role, args)


if __name__ == "__main__":
    main()
