"""The console page as the deployed app serves it (`GET /api/console`), over real HTTP through
the local host running the real function_app behind its Easy Auth stand-in: the page's relative
links resolve to its own files both there and at the local host's `/`, nothing else is served,
and nobody unsigned gets it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

import function_app
from localdev.host.server import LocalOptions, free_port, start_host

CONSOLE = Path(function_app.__file__).resolve().parent / "orchestrator" / "http" / "console"


def linked_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)


@pytest.mark.parametrize("page", ["/api/console", "/api/console/", "/"])
async def test_the_page_and_its_assets_load_from_where_it_is_served(base_url, page):
    async with httpx.AsyncClient() as client:
        index = await client.get(base_url + page)
        assert index.status_code == 200
        assert index.headers["content-type"].startswith("text/html")
        assets = linked_assets(index.text)
        assert sorted(Path(a).name for a in assets) == ["app.js", "style.css"]
        for asset in assets:
            resp = await client.get(urljoin(str(index.url), asset))
            assert resp.status_code == 200, asset
            assert resp.content == (CONSOLE / Path(asset).name).read_bytes()
    if page.startswith("/api/"):
        assert index.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["host.py", "..%2Ffunction_app.py", "app.js.map", "../console.py"])
async def test_nothing_but_the_console_files(base_url, path):
    async with httpx.AsyncClient() as client:
        resp = await client.get(f"{base_url}/api/console/{path}")
    assert resp.status_code == 404
    body = resp.json()
    assert body["error_type"] in ("DATA_NOT_FOUND", "NOT_FOUND")  # by the route, or no route
    assert body["request_id"] == resp.headers["x-request-id"]


async def test_nobody_unsigned_gets_the_page(behind_easy_auth):
    options = LocalOptions(port=free_port(), developer=None)
    async with (
        start_host(options, functions_app=function_app.app, run_timers=False) as url,
        httpx.AsyncClient() as client,
    ):
        resp = await client.get(f"{url}/api/console")
    assert resp.status_code == 401
    assert resp.json()["error_type"] == "UNAUTHENTICATED"
