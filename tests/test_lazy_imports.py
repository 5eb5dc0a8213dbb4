"""``import contactnow_async`` loads the client only: the rest is imported when used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import contactnow_async

#: What a plain ``import contactnow_async`` must not load.
LAZY = (
    "contactnow_async.watch",
    "contactnow_async.simulator",
    "contactnow_async._cli",
    "contactnow_async.redis",
    "contactnow_async.web",
    "contactnow_async._models_ecnow",
    "contactnow_async._models_records",
    "contactnow_async._models_reports",
    "contactnow_async.resources.reports",
    "contactnow_async.resources.records",
    "contactnow_async.resources.recordings",
    "xmltodict",
    "orjson",
    "aiohttp",
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


def test_an_endpoint_group_is_made_when_first_used() -> None:
    loaded = _modules_after(
        "from contactnow_async import ContactNow\n"
        "cn = ContactNow(username='u', password='p')\n"
        "assert cn.reports is cn.reports and cn.recordings is not None"
    )
    assert "contactnow_async.resources.reports" in loaded
    assert "contactnow_async._models_reports" in loaded
    assert "contactnow_async.resources.datasets" not in loaded


def test_a_name_that_is_no_group_is_an_attribute_error() -> None:
    cn = contactnow_async.ContactNow(username="u", password="p")
    with pytest.raises(AttributeError, match="no_such_group"):
        cn.no_such_group  # type: ignore[attr-defined]  # noqa: B018 -- the lookup is the test
    assert not hasattr(cn, "datasets_")
