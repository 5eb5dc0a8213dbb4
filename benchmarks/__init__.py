"""Benchmarks: what the client costs over the wire floor, and how the watcher scales.

``python -m benchmarks [--quick | --smoke] [--json results.json]`` runs every benchmark
against the simulator on 127.0.0.1 (never a real host) and prints one markdown
table: the median of repeated runs with min and max, machine and versions first.
Only ratios measured side by side in one run mean anything on a shared machine:
every comparison interleaves its two sides (A B, B A, ...) to cancel drift.

One module per benchmark; each has ``async def run(mode: Mode) -> list[Row]``
(``Mode``: ``"full"``, ``"quick"`` or ``"smoke"``).
"""
