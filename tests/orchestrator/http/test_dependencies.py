"""The HTTP functions' one dependency seam: the app's own settings, engine and publisher unless a
block overrides them, and exactly what was overridden, only inside the block."""

from __future__ import annotations

import json

import function_app
from orchestrator.http.dependencies import dependencies, overridden
from shared.data.db import get_engine
from shared.identity import principal_headers
from shared.settings import Settings, get_settings
from tests.support.functions import call_http


def test_the_app_uses_its_own_settings_and_their_database():
    assert dependencies().settings() is get_settings()
    assert dependencies().engine() is get_engine(get_settings().database_url)


def test_an_override_lasts_for_its_block_and_keeps_what_it_does_not_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    before = dependencies()

    with overridden(settings=Settings(database_url=url)) as inside:
        assert dependencies() is inside
        assert inside.settings().database_url == url
        assert inside.engine() is get_engine(url)
        assert (inside.publisher, inside.check_category) == (
            before.publisher,
            before.check_category,
        )
        with overridden(check_category=lambda category_id: "CAT-X") as nested:
            assert nested.settings().database_url == url
            assert nested.check_category(None) == "CAT-X"
        assert dependencies() is inside

    assert dependencies() is before


def test_a_settings_source_is_read_at_every_call(monkeypatch):
    with overridden(settings=Settings):
        monkeypatch.setenv("NEGOTIATE_TOKEN_MINUTES", "7")
        assert dependencies().settings().negotiate_token_minutes == 7
        monkeypatch.setenv("NEGOTIATE_TOKEN_MINUTES", "9")
        assert dependencies().settings().negotiate_token_minutes == 9


def test_the_http_functions_read_the_overridden_settings():
    """Behind Easy Auth the principal headers are the caller; without it they are not
    trusted (401)."""
    headers = principal_headers("planner-z", "Planner Z", ["planner"])

    with overridden(settings=Settings(website_auth_enabled="True")):
        behind = call_http(function_app.app, "me", headers=headers)
    with overridden(settings=Settings(website_auth_enabled="False")):
        alone = call_http(function_app.app, "me", headers=headers)

    assert json.loads(behind.get_body())["user_id"] == "planner-z"
    assert alone.status_code == 401
