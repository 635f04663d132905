"""The API description as the app serves it (`/api/openapi.json`, `/api/asyncapi.json`,
`/api/docs`), over real HTTP through the local host and its Easy Auth stand-in: the documents,
the page and every file it links (Swagger UI's from the pinned package, no CDN), nothing else,
and nothing to anyone unsigned."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import httpx
import pytest

import function_app
from localdev.host.server import LocalOptions, free_port, start_host
from orchestrator.http.contract.asyncapi import asyncapi_document
from orchestrator.http.contract.openapi import openapi_document
from tests.support.errors import assert_error


async def test_the_documents_are_served(base_url):
    async with httpx.AsyncClient() as client:
        openapi = await client.get(f"{base_url}/api/openapi.json")
        asyncapi = await client.get(f"{base_url}/api/asyncapi.json")
    assert openapi.status_code == 200 and openapi.json() == openapi_document()
    assert openapi.headers["content-type"].startswith("application/json")
    assert asyncapi.status_code == 200 and asyncapi.json() == asyncapi_document()


@pytest.mark.parametrize("page", ["/api/docs", "/api/docs/", "/api/docs/index.html"])
async def test_the_page_and_everything_it_links_load_from_the_app(base_url, page):
    async with httpx.AsyncClient() as client:
        index = await client.get(base_url + page)
        assert index.status_code == 200
        assert index.headers["content-type"].startswith("text/html")
        links = re.findall(r'(?:src|href)="([^"]+)"', index.text)
        assert all("//" not in link for link in links), "everything is served by the app"
        files = [link for link in links if link.startswith("docs/")]
        assert sorted(link.rsplit("/", 1)[-1] for link in files) == [
            "docs.css",
            "docs.js",
            "favicon-32x32.png",
            "swagger-ui-bundle.js",
            "swagger-ui.css",
        ]
        for link in files:
            asset = await client.get(urljoin(base_url + page, link))
            assert asset.status_code == 200, link
            assert asset.content
    bundle = await httpx.AsyncClient().get(f"{base_url}/api/docs/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text


async def test_only_the_pages_files_are_served(base_url):
    async with httpx.AsyncClient() as client:
        for name in ("swagger-ui.js.map", "swagger-initializer.js", "oauth2-redirect.html"):
            assert_error(await client.get(f"{base_url}/api/docs/{name}"), 404, "DATA_NOT_FOUND")


@pytest.mark.parametrize("path", ["/api/openapi.json", "/api/asyncapi.json", "/api/docs"])
async def test_nobody_unsigned_reads_them(path, behind_easy_auth):
    async with (
        start_host(
            LocalOptions(port=free_port(), developer=None),
            functions_app=function_app.app,
            run_timers=False,
        ) as url,
        httpx.AsyncClient() as client,
    ):
        assert_error(await client.get(url + path), 401, "UNAUTHENTICATED")
