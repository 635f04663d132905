"""Log forging on the local host (issue 32 case 8): a request path carrying an encoded line
feed or NUL, sent over real HTTP to the real app behind the local host, and a value logged by
the app, reach the log `localdev serve` writes escaped: one line per record, never a forged
line, never a raw CR, LF or NUL."""

from __future__ import annotations

import io
import logging

import httpx
import pytest

from localdev.cli.serve import configure_logging
from localdev.host.server import LocalOptions, free_port, start_host
from shared.settings import get_settings

FORGED = "2026-12-07 00:00:00,000 INFO forged: signed in as admin"


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    handler = configure_logging(stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)


async def test_an_encoded_line_feed_or_nul_in_a_path_is_logged_escaped(log_stream, monkeypatch):
    monkeypatch.setenv("EXTRACTOR", "rules")
    get_settings.cache_clear()
    forged_path = "/api/nothing%0d%0a" + FORGED.replace(" ", "%20") + "%00tail"
    options = LocalOptions(port=free_port())
    async with start_host(options, run_timers=False) as url, httpx.AsyncClient() as client:
        response = await client.post(url + forged_path, content=b"{}")
    get_settings.cache_clear()
    assert response.status_code == 404
    text = log_stream.getvalue()
    assert "\x00" not in text and "\r" not in text
    lines = text.splitlines()
    assert not any(line.startswith(FORGED) for line in lines), lines
    request_line = next(line for line in lines if "/api/nothing" in line)
    assert "\\r\\n" + FORGED in request_line and "\\x00tail" in request_line


def test_a_value_logged_by_the_app_is_escaped(log_stream):
    logging.getLogger("shared.test").warning("data import (%s) by %s", "append", "eve\nINFO x")
    logging.getLogger("shared.test").warning("multi\nline message\x00")
    lines = log_stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("data import (append) by eve\\nINFO x")
    assert lines[1].endswith("multi\\nline message\\x00")
