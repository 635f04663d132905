"""No published constant key: the app has no default Web PubSub connection string, and the local
stack gives its emulator a fresh random access key on every start unless one is configured."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from localdev.host.server import LocalOptions
from localdev.stack import STACK_ENVIRONMENT, local_stack
from localdev.webpubsub.auth import ConnectionString
from shared.messaging.publisher import get_publisher
from shared.settings import Settings, get_settings


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The variables the stack writes, restored afterwards (with the caches built on them)."""
    for name in STACK_ENVIRONMENT:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()
    get_publisher.cache_clear()


def started_key(tmp_path, **options: Any) -> str:
    local_stack(
        LocalOptions(database_url=f"sqlite:///{tmp_path / 'stack.db'}", pubsub_port=8123, **options)
    )
    return ConnectionString.parse(get_settings().webpubsub_connection()).access_key


def test_the_app_has_no_default_connection_string(environment):
    with pytest.raises(ValueError, match="WebPubSubConnectionString"):
        Settings().webpubsub_connection()


def test_every_start_gives_the_emulator_a_new_random_key(tmp_path, environment):
    first, second = started_key(tmp_path), started_key(tmp_path)
    assert first != second
    assert all(len(base64.b64decode(key, validate=True)) == 32 for key in (first, second))
    endpoint = ConnectionString.parse(get_settings().webpubsub_connection()).endpoint
    assert endpoint == "http://127.0.0.1:8123"
    assert get_settings().easy_auth_enabled  # the local host plays App Service Authentication


def test_an_external_service_is_used_as_given(tmp_path, environment):
    given = "Endpoint=https://season.webpubsub.azure.com;AccessKey=given-key;Version=1.0;"
    assert started_key(tmp_path, pubsub_connection_string=given) == "given-key"
    assert get_settings().webpubsub_connection() == given
