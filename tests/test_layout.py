"""The code's shape, as rules a newcomer can rely on (see the code-shape issue)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "contactnow_async"
MAX_LINES = 450


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_is_oversized(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines: split it by role"


def _package_of(path: Path) -> tuple[str, ...]:
    return path.relative_to(PACKAGE.parent).parent.parts


def _resolve(path: Path, node: ast.ImportFrom) -> tuple[str, ...]:
    """The dotted parts of the module an ``ImportFrom`` in ``path`` names."""
    if node.level == 0:
        return tuple((node.module or "").split("."))
    base = _package_of(path)[: len(_package_of(path)) - (node.level - 1)]
    return base + tuple(filter(None, (node.module or "").split(".")))


def _private_imports(path: Path, text: str | None = None) -> list[str]:
    found = []
    own_package = _package_of(path)
    source_text = path.read_text(encoding="utf-8") if text is None else text
    for node in ast.walk(ast.parse(source_text)):
        if not isinstance(node, ast.ImportFrom):
            continue
        source = _resolve(path, node)
        if source[:1] != ("contactnow_async",):
            continue
        # A package's own internals may use each other; the top package's private
        # modules (_models, _errors, ...) are the core every subpackage builds on.
        source_package = source[:-1] if len(source) > 1 else source
        for alias in node.names:
            private = alias.name.startswith("_") and not alias.name.startswith("__")
            if private and source_package != own_package:
                found.append(f"{'.'.join(source)}.{alias.name}")
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_imports_a_private_name_from_another_package(path: Path) -> None:
    assert _private_imports(path) == []


def test_the_private_import_rule_sees_a_reach_through() -> None:
    """The rule above would catch the reach-throughs this layout once had."""
    resource = PACKAGE / "resources" / "example.py"
    assert _private_imports(resource, "from ..watch._diff import _signature\n") == [
        "contactnow_async.watch._diff._signature"
    ]
    assert _private_imports(resource, "from ._base import _HasRecord\n") == []  # own package
    assert _private_imports(resource, "from .._models import _i\n") == [
        "contactnow_async._models._i"
    ]
    assert _private_imports(resource, "from .._models import LiveAgent\n") == []


# --- the test suite's own rule: no property makes Hypothesis build a codec table ---------

TESTS = Path(__file__).resolve().parent


def _codec_table_draws(source: str) -> list[int]:
    """Lines of ``source`` whose strategy draws from Hypothesis' default alphabet (its
    ``codec="utf-8"``) or names a codec: ``st.text()`` with no alphabet,
    ``st.from_regex()`` without ``alphabet=``, any ``codec=`` (see ``tests/_text.py``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        keywords = {keyword.arg for keyword in node.keywords}
        default_alphabet = (
            node.func.attr == "text" and not node.args and "alphabet" not in keywords
        ) or (node.func.attr == "from_regex" and "alphabet" not in keywords)
        if default_alphabet or "codec" in keywords:
            lines.append(node.lineno)
    return lines


def test_no_property_draws_from_a_codec() -> None:
    offenders = {
        str(path.relative_to(TESTS)): found
        for path in sorted(TESTS.rglob("*.py"))
        if "hypothesis" in (source := path.read_text(encoding="utf-8"))  # parse only these
        and (found := _codec_table_draws(source))
    }
    assert offenders == {}, "draw text from tests/_text.py (its docstring says why)"


def test_the_codec_rule_sees_the_default_alphabet() -> None:
    assert _codec_table_draws("st.text()\nst.text(max_size=3)\n") == [1, 2]
    assert _codec_table_draws("st.characters(codec='utf-8')\n") == [1]
    assert _codec_table_draws("st.from_regex(r'[0-9]', fullmatch=True)\n") == [1]
    assert _codec_table_draws("st.text(chars)\nst.text(alphabet=chars, max_size=2)\n") == []
    assert _codec_table_draws("st.from_regex(r'[0-9]', alphabet=chars)\n") == []
