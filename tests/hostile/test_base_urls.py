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


@pytest.mark.parametrize(
    "base_url",
    [
        "ftp://gw:S3cret-Gw-Pass@127.0.0.1/api/",
        "http://gw:S3cret-Gw-Pass@[::1/api/",
        "http://gw:S3cret-Gw-Pass@127.0.0.1:99999/api/",
        "https://gw:S3cret-Gw-Pass@127.0.0.1/api/?token=x",
        "gw:S3cret-Gw-Pass@127.0.0.1",
    ],
)
def test_a_malformed_base_url_does_not_show_its_gateway_password(base_url: str) -> None:
    # The message quoted the base URL whole: a gateway's password in its user info too.
    with pytest.raises(ValueError, match="base_url") as info:
        ContactNow(username="u", password="p", base_url=base_url)
    assert "S3cret" not in str(info.value)
