"""Every async test runs under asyncio and under trio (anyio's pytest plugin); one served stage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._stage import Stage, staged


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param("trio", id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def stage() -> Iterator[Stage]:
    """One uvicorn server on 127.0.0.1 for the session: ``with stage.showing(sim) as url``."""
    with staged() as served:
        yield served
