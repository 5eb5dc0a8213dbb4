"""``php_params``: arguments encoded as PHP's ``$_GET``/``$_POST`` read them back."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from contactnow_async._wire import php_params


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({}, []),
        ({"table": "Willtest"}, [("table", "Willtest")]),
        ({"dataset": 3, "skip": None}, [("dataset", "3")]),
        ({"flag": True, "off": False}, [("flag", "1"), ("off", "0")]),
        ({"search": {"FirstName": "john"}}, [("search[FirstName]", "john")]),
        (
            {"search": {"id": 34, "phone": "0123", "none": None}},
            [("search[id]", "34"), ("search[phone]", "0123")],
        ),
        ({"x": [1, 2]}, [("x[]", "1"), ("x[]", "2")]),
        ({"x": (1,)}, [("x[]", "1")]),
        ({"x": {"b", "a"}}, [("x[]", "a"), ("x[]", "b")]),  # a set: sorted, so stable
        ({"x": []}, []),
        ({"x": [{"a": 1}, {"a": 2}]}, [("x[0][a]", "1"), ("x[1][a]", "2")]),
        ({"x": [[1, 2], [3]]}, [("x[0][]", "1"), ("x[0][]", "2"), ("x[1][]", "3")]),
        ({"a": {"b": {"c": "d"}}}, [("a[b][c]", "d")]),
        ({"q": "!= 999"}, [("q", "!= 999")]),
        ({"filter": "NOT IN (999, 505050)"}, [("filter", "NOT IN (999, 505050)")]),
        ({"n": 1.5, "k": 0}, [("n", "1.5"), ("k", "0")]),
        ({1: "one"}, [("1", "one")]),
        # PHP strings are bytes: bytes go as their text, not as Python's "b'...'".
        ({"ddi": b"0123", "name": "caf\u00e9".encode()}, [("ddi", "0123"), ("name", "caf\u00e9")]),
        ({"x": [b"a", bytearray(b"b")]}, [("x[]", "a"), ("x[]", "b")]),
    ],
)
def test_php_params(params: dict[Any, Any], fields: list[tuple[str, str]]) -> None:
    assert php_params(params) == fields


def test_php_params_survive_urlencoding() -> None:
    # What goes on the wire: brackets and spaces percent-encoded, as PHP decodes them.
    encoded = urlencode(php_params({"search": {"First Name": "jo&hn"}, "x": [1]}))
    assert encoded == "search%5BFirst+Name%5D=jo%26hn&x%5B%5D=1"


def test_php_params_refuse_bytes_that_are_not_utf8() -> None:
    with pytest.raises(
        ValueError, match=r"field 'search\[FirstName\]' holds bytes that are not UTF-8"
    ):
        php_params({"search": {"FirstName": b"\xff"}})
