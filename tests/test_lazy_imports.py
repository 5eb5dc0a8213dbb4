"""``import contactnow_async`` loads the client only: the rest is imported when used.

Importing the package, or making a client, loads what a client needs to exist; each
endpoint group (and its models) at its first use, the download machinery at the first
download, the XML reader at the first XML reply.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import contactnow_async
import contactnow_async._client
from contactnow_async.resources import GROUPS

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
    "contactnow_async.resources._base",
    "contactnow_async.resources.agents",
    "contactnow_async.resources.live",
    "contactnow_async.resources.priorities",
    "contactnow_async.resources.status_log",
    "contactnow_async.resources.tokens",
    "contactnow_async._models",
    "contactnow_async._models_live",
    "contactnow_async._downloads",
    "contactnow_async._xml",
    "xml.parsers.expat",
    "html",
    "anyio.lowlevel",
    "anyio.to_thread",
    "xmltodict",
    "orjson",
    "aiohttp",
    "redis",
    "uvicorn",
)


#: httpx imports its command line (click, rich, pygments, and through them html, ...) when
#: those are installed, as beside our [cli] extra: marked absent, the modules loaded
#: are the library's own, as a core install loads them.
AS_THE_CORE_INSTALLS = (
    "import sys; sys.modules.update(dict.fromkeys(('click', 'rich', 'pygments')))"
)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"{AS_THE_CORE_INSTALLS}\n{code}\nimport json; print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out))


@pytest.mark.slow
def test_the_core_alone_fetches_a_token_and_reads_without_sniffio_or_trio() -> None:
    # anyio and httpx do without sniffio, which only trio requires: a core install on
    # asyncio has neither. A token fetch runs in a task of the client's own, made by
    # the backend's own means: asyncio's is found without sniffio.
    _modules_after(
        "sys.modules.update(dict.fromkeys(('sniffio', 'trio')))\n"
        "import asyncio\n"
        "from contactnow_async import ContactNow\n"
        "from contactnow_async.simulator import Simulator, VirtualClock\n"
        "async def main():\n"
        "    sim = Simulator(username='u', password='p', agents=3, clock=VirtualClock())\n"
        "    async with ContactNow(\n"
        "        base_url='http://sim/', username='u', password='p',\n"
        "        transport=sim.transport(), clock=sim.clock,\n"
        "    ) as cn:\n"
        "        assert len(await cn.agents.read()) == 3\n"
        "        assert cn.tokens.fetches == 1\n"
        "asyncio.run(main())"
    )  # check=True: a failure is the test's


@pytest.mark.slow
def test_importing_the_package_loads_none_of_the_optional_parts() -> None:
    loaded = _modules_after("import contactnow_async")
    assert [name for name in LAZY if name in loaded] == []


@pytest.mark.slow
def test_importing_the_package_has_no_side_effects() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import logging, threading, contactnow_async\n"
            "print(threading.active_count(), logging.getLogger().handlers,"
            " logging.getLogger('httpx').filters)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (out.stdout.strip(), out.stderr) == ("1 [] []", "")


MAKE_A_CLIENT = (
    "from contactnow_async import ContactNow\n"
    "cn = ContactNow(username='u', password='p', base_url='http://127.0.0.1:1/')\n"
)


@pytest.mark.slow
def test_making_a_client_loads_none_of_the_groups_or_models() -> None:
    loaded = _modules_after(MAKE_A_CLIENT)
    assert [name for name in LAZY if name in loaded] == []


@pytest.mark.slow
def test_the_first_use_of_a_group_loads_that_group_and_its_models_only() -> None:
    loaded = _modules_after(MAKE_A_CLIENT + "cn.agents")
    assert {"contactnow_async.resources.agents", "contactnow_async._models"} <= loaded
    assert "contactnow_async.resources.live" not in loaded
    assert "contactnow_async._models_live" not in loaded
    assert "contactnow_async._downloads" not in loaded


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_every_group_is_made_once_at_its_first_use(name: str) -> None:
    cn = contactnow_async.ContactNow(username="u", password="p")
    group = getattr(cn, name)
    module, cls, _ = GROUPS[name]
    assert type(group).__name__ == cls
    assert type(group).__module__ == f"contactnow_async.resources.{module}"
    assert getattr(cn, name) is group


@pytest.mark.parametrize("name", sorted(contactnow_async._LAZY))
def test_every_lazy_name_resolves_to_its_module(name: str) -> None:
    value = getattr(contactnow_async, name)
    assert value is getattr(contactnow_async, name)
    assert name in contactnow_async.__all__
    assert name in dir(contactnow_async)


def test_a_star_import_still_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from contactnow_async import *", namespace)  # noqa: S102 -- the import is the test
    assert set(contactnow_async.__all__) <= set(namespace)


@pytest.mark.slow
def test_a_lazy_name_imports_its_module_when_used() -> None:
    loaded = _modules_after("from contactnow_async import AgentWatcher, WatchOptions")
    assert "contactnow_async.watch" in loaded
    assert contactnow_async.AgentWatcher.__module__.startswith("contactnow_async.watch")
    assert set(contactnow_async.__all__) <= set(dir(contactnow_async))


@pytest.mark.slow
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


@pytest.mark.slow
def test_watch_agents_is_the_watch_modules_function_loaded_at_first_use() -> None:
    loaded = _modules_after(MAKE_A_CLIENT)
    assert "contactnow_async.watch" not in loaded
    loaded = _modules_after(MAKE_A_CLIENT + "cn.watch_agents")
    assert "contactnow_async.watch" in loaded
    from contactnow_async import watch

    cn = contactnow_async.ContactNow(username="u", password="p")
    assert contactnow_async.ContactNow.watch_agents is watch.watch_agents
    assert cn.watch_agents.__func__ is watch.watch_agents  # type: ignore[attr-defined]
    assert cn.watch_agents.__self__ is cn  # type: ignore[attr-defined]


def test_the_client_module_imports_no_watcher_at_run_time() -> None:
    # The watcher sits above the client: _client.py names it only for the type checker.
    tree = ast.parse(Path(contactnow_async._client.__file__).read_text(encoding="utf-8"))
    checking = [node for node in ast.walk(tree) if isinstance(node, ast.If)
                and ast.unparse(node.test) == "TYPE_CHECKING"]  # fmt: skip
    typing_only = {
        id(inner) for node in checking for statement in node.body for inner in ast.walk(statement)
    }
    imports = [
        node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and id(node) not in typing_only
    ]
    assert [module for module in imports if module.startswith("watch")] == []


def test_the_web_redis_source_without_redis_py_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # [web] alone installs no redis-py: the source the README names for it says what to add.
    from contactnow_async import web

    monkeypatch.delitem(sys.modules, "contactnow_async.web._redis", raising=False)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)  # import redis.asyncio: ImportError
    with pytest.raises(ImportError, match=re.escape("pip install 'contactnow-async[redis]'")):
        web.RedisStreamSource  # noqa: B018 -- the lookup is the test
