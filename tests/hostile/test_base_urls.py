"""A malformed ``base_url`` is a ValueError naming it, whatever httpx makes of it."""

from __future__ import annotations

import pytest

from contactnow_async import ContactNow


@pytest.mark.parametrize(
    "base_url",
    [
        "http://[::1",
        "http://☃.invalid/",
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:0/",
        "http://127.0.0.1:-1/",
        "ftp://127.0.0.1/",
        "127.0.0.1:8080",
        "http://127.0.0.1/?token=x",
    ],
)
def test_a_malformed_base_url_is_a_value_error(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url") as info:
        ContactNow(username="u", password="p", base_url=base_url)
    assert type(info.value) is ValueError  # not httpx.InvalidURL, not a UnicodeError
