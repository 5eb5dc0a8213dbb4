"""pyproject.toml's promises to an installer: the README's test command runs on whatever
the ``test`` extra lets pip pick."""

from __future__ import annotations

import re
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

# A pytest option ``addopts`` passes, and the first pytest that knows it: an older one
# stops the run before a test is collected.
OPTION_SINCE = {"--disable-plugin-autoload": (8, 4)}


def test_the_test_extra_asks_for_a_pytest_that_knows_every_addopts_option() -> None:
    project = PYPROJECT.read_text(encoding="utf-8")
    (floor,) = re.findall(r'"pytest>=([0-9.]+)"', project)
    addopts = re.search(r"(?ms)^addopts = \[(.*?)^\]", project)
    assert addopts, "pyproject.toml lost its pytest addopts"
    for option, since in OPTION_SINCE.items():
        if f'"{option}"' in addopts.group(1):
            assert tuple(map(int, floor.split("."))) >= since, (
                f"addopts gives {option}, which pytest has known since "
                f"{'.'.join(map(str, since))}; the test extra asks for pytest>={floor}"
            )
