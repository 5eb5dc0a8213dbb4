"""``contactnow watch``: how long it runs."""

from __future__ import annotations

import pytest

from .conftest import Served, assert_one_error, run_subprocess

pytestmark = pytest.mark.integration


def test_duration_zero_stops_at_once(served: Served) -> None:
    # It ran forever: 0 was taken for "no --duration". Without the fix the timeout fails it.
    out = run_subprocess(
        ["watch", "--json", "--include-offline", "--duration", "0"], env=served.env(), timeout=30
    )
    assert out.code == 0, out
    assert out.stdout == ""  # stopped before the first poll's events
    assert out.stderr == ""


def test_a_negative_duration_is_a_usage_error(served: Served) -> None:
    out = run_subprocess(["watch", "--duration", "-1"], env=served.env())
    assert "--duration" in assert_one_error(out, 2)
