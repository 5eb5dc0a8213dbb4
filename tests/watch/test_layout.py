"""The watcher's layers own their state (issue 11); sizes and imports: ``tests/test_layout.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import contactnow_async

PACKAGE = Path(contactnow_async.__file__).parent


def test_the_watcher_touches_no_other_objects_private_state() -> None:
    """The diff keeps its own baseline: no ``snapshot._signed = ...`` written into a
    snapshot, and no resource or watcher module reaches into another object."""
    touched = []
    for under in (PACKAGE / "watch", PACKAGE / "resources"):
        for path in sorted(under.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                ):
                    touched.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {ast.unparse(node)}")
    assert touched == []
