"""``import contactnow_async`` loads the client only: the rest is imported when used."""

from __future__ import annotations

import json
import subprocess
import sys

import contactnow_async

#: What a plain ``import contactnow_async`` must not load.
LAZY = (
    "contactnow_async.watch",
    "contactnow_async.simulator",
    "contactnow_async._cli",
    "contactnow_async.redis",
    "xmltodict",
    "orjson",
    "aiohttp",
    "httpx_aiohttp",
    "redis",
    "uvicorn",
)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out))


def test_importing_the_package_loads_none_of_the_optional_parts() -> None:
    loaded = _modules_after("import contactnow_async")
    assert [name for name in LAZY if name in loaded] == []


def test_a_lazy_name_imports_its_module_when_used() -> None:
    loaded = _modules_after("from contactnow_async import AgentWatcher, WatchOptions")
    assert "contactnow_async.watch" in loaded
    assert contactnow_async.AgentWatcher.__module__.startswith("contactnow_async.watch")
    assert set(contactnow_async.__all__) <= set(dir(contactnow_async))
