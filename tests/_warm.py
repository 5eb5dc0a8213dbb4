"""Each xdist worker compiles a share of the test modules first, so that they share one cache.

pytest rewrites the asserts of every test module it imports and caches the result in
``__pycache__``. On a fresh clone no cache exists, and the workers, which collect the
same modules in the same order, each rewrite all of them side by side: about 3.3 s of
CPU a worker for ~100 modules and ~2,500 asserts, against 0.9 s with the cache. Here
worker *i* of *n* imports the modules from the *i*-th *n*-th of the list onwards; each
module it reaches that another worker has already written comes from the cache. The
normal collection then finds every module imported.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest


def warm_share(config: pytest.Config) -> None:
    """In an xdist worker of a run over whole directories: import the test modules under
    them, starting at this worker's share. Nothing for one file, a node id, or ``-n 0``."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return
    root = config.rootpath
    paths: list[Path] = []
    for arg in config.args:
        where = (config.invocation_params.dir / arg).resolve()
        if "::" in arg or not where.is_dir() or not where.is_relative_to(root):
            return  # a chosen file or test: collect only that, as pytest would
        paths.extend(sorted(where.rglob("test_*.py")))
    modules = [_module_name(path, root) for path in paths]
    if not modules:
        return
    index = int(workerinput["workerid"].removeprefix("gw"))
    start = index * len(modules) // int(workerinput["workercount"])
    for name in modules[start:] + modules[:start]:
        if name is None:
            continue
        try:
            importlib.import_module(name)
        except (Exception, pytest.skip.Exception):  # noqa: S112 -- the collection reports it
            continue


def _module_name(path: Path, root: Path) -> str | None:
    """``tests.cli.test_errors`` for ``tests/cli/test_errors.py``, as pytest's ``prepend``
    import mode names it; None when a folder on the way is not a package."""
    parts = path.relative_to(root).with_suffix("").parts
    for depth in range(1, len(parts)):
        if not (root.joinpath(*parts[:depth]) / "__init__.py").is_file():
            return None
    return ".".join(parts)
