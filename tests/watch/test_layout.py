"""The watcher's code shape (issue 11): each layer owns its state, files stay small."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import contactnow_async

PACKAGE = Path(contactnow_async.__file__).parent


def modules(under: Path = PACKAGE) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(under.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def package_of(path: Path) -> tuple[str, ...]:
    """The dotted package a module file belongs to, as parts."""
    return (PACKAGE.name, *path.parent.relative_to(PACKAGE).parts)


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_imports_a_private_name_from_another_package() -> None:
    """``from ..resources.live import _int`` in ``watch/`` borrows another layer's
    internals; a private *module* of the core package (``.._models``) is fine, a
    private *name* from outside the importer's own package is not."""
    borrowed = []
    for path, tree in modules():
        package = package_of(path)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = (*base, *(node.module or "").split(".")) if node.module else base
            elif node.module and node.module.split(".")[0] == PACKAGE.name:
                target = tuple(node.module.split("."))
            else:
                continue
            source_package = target[:-1] if node.module else target
            for alias in node.names:
                if private(alias.name) and source_package != package:
                    borrowed.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {alias.name}")
    assert borrowed == []


def test_the_watcher_touches_no_other_objects_private_state() -> None:
    """A layer owns its state: the diff keeps its baseline, the snapshot no slot of the diff's."""
    touched = []
    for under in (PACKAGE / "watch", PACKAGE / "resources"):
        for path, tree in modules(under):
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and private(node.attr)
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                ):
                    touched.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {ast.unparse(node)}")
    assert touched == []


def test_no_watch_module_is_over_450_lines() -> None:
    sizes = {
        path.name: len(path.read_text(encoding="utf-8").splitlines())
        for path in (PACKAGE / "watch").glob("*.py")
    }
    assert max(sizes.values()) <= 450, sizes
