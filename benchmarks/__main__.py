"""``python -m benchmarks [--quick | --smoke] [--json results.json] [--only NAME ...]``."""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import sys
import time

import anyio

from ._common import Mode, Row, machine, table

#: Every benchmark module, in the order of the issue.
MODULES = (
    "request_overhead",
    "vendor_style",
    "poll_cost",
    "token_flight",
    "fanout",
    "soak",
    "import_cost",
    "sse_load",
    "typed_read",
    "speed_wire",
    "event_latency",
    "vendor_php",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="small sizes, done in under a minute")
    sizes.add_argument(
        "--smoke",
        action="store_true",
        help="one repeat, one network model, tiny sizes: checks that every benchmark runs",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the machine and rows as JSON")
    parser.add_argument(
        "--only", nargs="+", choices=MODULES, metavar="NAME", help=f"run only these: {MODULES}"
    )
    options = parser.parse_args(argv)
    mode: Mode = "smoke" if options.smoke else "quick" if options.quick else "full"
    info = machine()
    print(f"date: {info['date']}")
    print(f"machine: {info['machine']}")
    print(f"python: {info['python']}")
    print(f"versions: {info['versions']}")
    print(f"mode: {mode}", flush=True)
    rows: list[Row] = []
    durations: dict[str, float] = {}
    failed: list[str] = []
    for name in options.only or MODULES:
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            if mode == "smoke":
                # The collector leaves what is here already alone (the runner's modules,
                # the benchmarks before): a full collection, one before every timed side
                # of benchmarks 3 and 9, then walks what this benchmark made, not the
                # whole heap (5 to 15 ms each, 66 of them). The same code runs; only the
                # figures differ, which a smoke does not read.
                gc.freeze()
            rows.extend(anyio.run(module.run, mode))
        except Exception as exc:
            failed.append(name)
            print(f"# {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            rows.append(Row(benchmark=name, measure=f"FAILED: {type(exc).__name__}", median=0.0,
                            low=0.0, high=0.0, unit="", met=False, runs=0))  # fmt: skip
        durations[name] = time.perf_counter() - started
        print(f"# {name}: {durations[name]:.1f}s", file=sys.stderr, flush=True)
    print()
    print(table(rows))
    if options.json:
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump(
                {"machine": info, "mode": mode, "quick": mode == "quick", "durations": durations,
                 "rows": [r.as_dict() for r in rows]},
                out,
                indent=2,
            )  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
