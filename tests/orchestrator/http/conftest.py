"""Fixtures for the HTTP functions served by the local host, as a browser reaches them."""

from __future__ import annotations

import pytest

import function_app
from localdev.host.server import LocalOptions, free_port, start_host
from orchestrator.http.dependencies import overridden
from shared.settings import Settings


@pytest.fixture
def behind_easy_auth(monkeypatch):
    """As in Azure and under `localdev serve`: principal headers are the caller."""
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    with overridden(settings=Settings):
        yield


@pytest.fixture
async def base_url(behind_easy_auth):
    """The app's functions behind the local host on a free port (no timers)."""
    async with start_host(
        LocalOptions(port=free_port()), functions_app=function_app.app, run_timers=False
    ) as url:
        yield url
