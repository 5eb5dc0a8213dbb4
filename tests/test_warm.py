"""The workers' shared warm-up names each test module as pytest's collection does."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._warm import _module_name


def test_a_test_module_gets_the_name_pytest_imported_it_under(pytestconfig: pytest.Config) -> None:
    assert _module_name(Path(__file__), pytestconfig.rootpath) == __name__


def test_a_module_outside_a_package_is_left_to_the_collection(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").touch()
    (tmp_path / "pkg" / "plain").mkdir()
    assert _module_name(tmp_path / "pkg" / "test_a.py", tmp_path) == "pkg.test_a"
    assert _module_name(tmp_path / "pkg" / "plain" / "test_b.py", tmp_path) is None
