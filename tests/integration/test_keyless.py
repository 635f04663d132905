"""Keyless connections at the wire: the real SDKs authenticate with Microsoft Entra tokens.

The credential is the one seam azure-identity defines (`get_token(*scopes) -> AccessToken`);
everything after it is real: the Web PubSub service SDK against the local emulator (which checks
Entra tokens and role assignments the way the service does), the openai SDK through an httpx2
mock transport, and psycopg against a throwaway PostgreSQL that checks passwords.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import time
from datetime import date

import httpx2
import jwt
import psycopg
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import make_url, text
from websockets.sync.client import connect

from localdev.webpubsub import EmulatorThread
from localdev.webpubsub.entra import EntraTrust
from orchestrator.http.negotiate import negotiate_response
from shared.credentials import (
    COGNITIVE_SERVICES_SCOPE,
    POSTGRES_SCOPE,
    WEBPUBSUB_SCOPE,
    CachedToken,
)
from shared.data.db import dispose_engine, get_engine, uses_entra_auth
from shared.errors import LanguageModelUnavailableError, WebSocketConnectionError
from shared.extraction import language_model_configured, llm
from shared.messaging.publisher import Publisher
from shared.messaging.webpubsub_client import build_service_client, uses_identity
from shared.settings import Settings
from tests.support.extraction import ANSWER, SPEC, completion
from tests.support.postgres import postgres_server

HUB = "season_planning"
ISSUER = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0"
APP_IDENTITY = "11111111-1111-1111-1111-111111111111"
OWNER = "planner-avery"
RUNNING = {"type": "agent_status", "agent_name": "Demand Agent", "status": "running"}


class FakeCredential:
    """A TokenCredential: hands out the next token for each scope and records every request."""

    def __init__(self, issue, *, clock=time.time, lifetime=3600):
        self.issue = issue
        self.clock = clock
        self.lifetime = lifetime
        self.requests: list[tuple[str, ...]] = []

    def get_token(self, *scopes, **_kwargs) -> AccessToken:
        self.requests.append(scopes)
        expires = int(self.clock()) + self.lifetime
        return AccessToken(self.issue(scopes, len(self.requests), expires), expires)


class Issuer:
    """Signs Entra-shaped access tokens (RS256, `aud` from the scope, `oid`) with its own key."""

    def __init__(self, issuer: str = ISSUER):
        self.issuer = issuer
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def public_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def credential(self, oid: str) -> FakeCredential:
        def issue(scopes, _count, expires):
            audience = scopes[0].removesuffix("/.default")
            claims = {
                "aud": audience,
                "iss": self.issuer,
                "oid": oid,
                "exp": expires,
                "iat": int(time.time()),
            }
            return jwt.encode(claims, self._key, algorithm="RS256")

        return FakeCredential(issue)


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def emulator(issuer):
    trust = EntraTrust(
        issuer=ISSUER, public_key=issuer.public_pem, service_owners=frozenset({APP_IDENTITY})
    )
    with EmulatorThread(access_key=secrets.token_urlsafe(32), entra=trust) as running:
        yield running


def keyless_settings(endpoint: str, tmp_path) -> Settings:
    return Settings(
        webpubsub_endpoint=endpoint,
        webpubsub_hub=HUB,
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        negotiate_token_minutes=5,
    )


# --- Web PubSub ---------------------------------------------------------------------------------


def test_neither_setting_is_a_503_naming_both(tmp_path):
    unset = Settings(webpubsub_connection_string="", database_url=f"sqlite:///{tmp_path}/a.db")
    with pytest.raises(WebSocketConnectionError) as refused:
        negotiate_response("s-1", OWNER, unset)
    assert refused.value.status_code == 503
    assert "WebPubSubEndpoint or WebPubSubConnectionString" in refused.value.suggestions[0]


def test_endpoint_setting_selects_the_identity(tmp_path):
    assert not uses_identity(Settings())
    assert uses_identity(keyless_settings("https://x.webpubsub.azure.com", tmp_path))
    with pytest.raises(ValueError):
        build_service_client(
            keyless_settings("http://pubsub.example.com", tmp_path),
            credential=FakeCredential(lambda *_: "t"),
        )


def test_generate_token_call_matches_the_sdk_request(emulator, issuer, tmp_path):
    """The SDK's `:generateToken` request (userId, role, group, minutesToExpire, clientType,
    api-version) answered with a client token the emulator itself accepts."""
    credential = issuer.credential(APP_IDENTITY)
    client = build_service_client(
        keyless_settings(emulator.endpoint, tmp_path), credential=credential
    )
    access = client.get_client_access_token(
        user_id="alice",
        roles=["webpubsub.joinLeaveGroup.g1"],
        groups=["g1", "g2"],
        minutes_to_expire=7,
    )
    claims = jwt.decode(
        access["token"],
        emulator.emulator.access_key,
        algorithms=["HS256"],
        audience=f"{emulator.endpoint}/client/hubs/{HUB}",
    )
    assert claims["sub"] == "alice"
    assert claims["role"] == ["webpubsub.joinLeaveGroup.g1"]
    assert claims["webpubsub.group"] == ["g1", "g2"]
    assert claims["exp"] - claims["iat"] == 7 * 60
    client_url = f"ws://127.0.0.1:{emulator.port}/client/hubs/{HUB}"
    assert access["url"].startswith(f"{client_url}?access_token=")
    assert credential.requests == [(WEBPUBSUB_SCOPE,)]


def test_negotiate_and_publish_keyless_reach_the_browser(emulator, issuer, tmp_path):
    settings = keyless_settings(emulator.endpoint, tmp_path)
    credential = issuer.credential(APP_IDENTITY)
    body = negotiate_response("s-keyless", OWNER, settings, credential=credential)
    assert jwt.decode(body["token"], options={"verify_signature": False})["sub"] == OWNER
    publisher = Publisher(
        settings,
        get_engine(settings.database_url),
        service_client=build_service_client(settings, credential=credential),
    )
    try:
        with connect(body["url"], open_timeout=5) as ws:
            deadline = time.monotonic() + 5
            while not emulator.emulator.hub(HUB).group_connections(body["group"]):
                assert time.monotonic() < deadline, "the connection never joined its group"
                time.sleep(0.02)
            sent = publisher.publish(
                RUNNING, session_id="s-keyless", workflow_id="wf-keyless-1", owner_id=OWNER
            )
            assert sent.recorded and sent.queued
            received = json.loads(ws.recv(timeout=5))
        assert received == sent.message
        # The bearer policy caches the token: one token for negotiate, one for the publisher.
        assert credential.requests == [(WEBPUBSUB_SCOPE,), (WEBPUBSUB_SCOPE,)]
    finally:
        publisher.close()
        dispose_engine(settings.database_url)


def test_identity_without_role_assignment_is_refused(emulator, issuer, tmp_path, caplog):
    """403 from the service (no "Web PubSub Service Owner"): negotiate answers 503, the
    publisher records the message and logs the refused delivery."""
    settings = keyless_settings(emulator.endpoint, tmp_path)
    stranger = issuer.credential("22222222-2222-2222-2222-222222222222")
    with pytest.raises(WebSocketConnectionError) as refused:
        negotiate_response("s-1", OWNER, settings, credential=stranger)
    assert refused.value.status_code == 503
    assert refused.value.details == {"reason": "the service answered HTTP 403"}
    publisher = Publisher(
        settings,
        get_engine(settings.database_url),
        service_client=build_service_client(settings, credential=stranger),
    )
    try:
        with caplog.at_level(logging.WARNING, logger="shared.messaging.publisher"):
            sent = publisher.publish(
                RUNNING, session_id="s-1", workflow_id="wf-keyless-2", owner_id=OWNER
            )
            assert sent.recorded and sent.sequence == 1
            assert publisher.flush(10)
        assert "HttpResponseError (HTTP 403)" in caplog.text
    finally:
        publisher.close()
        dispose_engine(settings.database_url)


def test_token_from_an_untrusted_issuer_is_unauthorized(emulator, tmp_path):
    forger = Issuer().credential(APP_IDENTITY)  # same claims, another signing key
    client = build_service_client(
        keyless_settings(emulator.endpoint, tmp_path), credential=forger, retry_total=0
    )
    with pytest.raises(HttpResponseError) as refused:
        client.send_to_all(message={"x": 1}, content_type="application/json")
    assert refused.value.status_code == 401


def test_unavailable_identity_is_a_503_not_a_crash(emulator, tmp_path):
    def no_identity(*_args):
        raise ClientAuthenticationError("ManagedIdentityCredential: no identity assigned")

    with pytest.raises(WebSocketConnectionError) as refused:
        negotiate_response(
            "s-1",
            OWNER,
            keyless_settings(emulator.endpoint, tmp_path),
            credential=FakeCredential(no_identity),
        )
    assert refused.value.details == {"reason": "the app's identity could not get an Entra token"}
    assert "no identity" not in str(refused.value.to_response("r"))


def test_unreachable_service_is_a_503(issuer, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(WebSocketConnectionError) as refused:
        negotiate_response(
            "s-1",
            OWNER,
            keyless_settings(closed, tmp_path),
            credential=issuer.credential(APP_IDENTITY),
        )
    assert refused.value.details == {"reason": "the service is unreachable"}


# --- Azure OpenAI ------------------------------------------------------------------------------


def _keyless_openai() -> Settings:
    return Settings(azure_openai_endpoint="https://contoso.openai.azure.com", llm_max_retries=0)


def test_azure_openai_without_key_sends_the_entra_token():
    seen: list[httpx2.Request] = []

    def upstream(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=completion(ANSWER))

    settings = _keyless_openai()
    assert language_model_configured(settings)
    credential = FakeCredential(lambda scopes, n, _exp: f"entra-token-{n}")
    client = llm.build_client(
        settings, httpx2.Client(transport=httpx2.MockTransport(upstream)), credential=credential
    )
    for _ in range(2):
        draft = llm.extract(SPEC, client, settings, date(2024, 11, 4))
    assert draft.findings["forecast_horizon_weeks"].value == 12
    assert [r.headers["authorization"] for r in seen] == ["Bearer entra-token-1"] * 2
    assert all("api-key" not in r.headers for r in seen)
    assert seen[0].url.path == "/openai/v1/chat/completions"
    assert "api-version" not in seen[0].url.params
    assert json.loads(seen[0].content)["model"] == "gpt-5.4-mini"
    assert credential.requests == [(COGNITIVE_SERVICES_SCOPE,)]


def test_the_v1_client_asks_for_a_new_token_once_the_old_one_expires():
    """The token provider is the client's api_key, which the SDK calls before every request: a
    token that expired is replaced, never sent again (a long-lived worker outlives an hour)."""
    seen: list[httpx2.Request] = []

    def upstream(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=completion(ANSWER))

    # Every token this credential issues has expired by the time the next request goes out.
    credential = FakeCredential(lambda scopes, n, _exp: f"entra-token-{n}", lifetime=-1)
    settings = _keyless_openai()
    client = llm.build_client(
        settings, httpx2.Client(transport=httpx2.MockTransport(upstream)), credential=credential
    )
    for _ in range(2):
        llm.extract(SPEC, client, settings, date(2024, 11, 4))
    assert [r.headers["authorization"] for r in seen] == [
        "Bearer entra-token-1",
        "Bearer entra-token-2",
    ]


@pytest.mark.parametrize("failure", ["no token", "rejected"])
def test_azure_openai_identity_problems_name_the_setting(failure):
    def upstream(_request):
        return httpx2.Response(401, json={"error": {"code": "PermissionDenied", "message": "x"}})

    def issue(*_args):
        if failure == "no token":
            raise ClientAuthenticationError("DefaultAzureCredential failed")
        return "entra-token"

    settings = _keyless_openai()
    client = llm.build_client(
        settings,
        httpx2.Client(transport=httpx2.MockTransport(upstream)),
        credential=FakeCredential(issue),
    )
    with pytest.raises(LanguageModelUnavailableError) as raised:
        llm.extract(SPEC, client, settings, date(2024, 11, 4))
    assert raised.value.details["setting"] == "AZURE_CLIENT_ID"
    assert raised.value.status_code == 503


# --- PostgreSQL --------------------------------------------------------------------------------


def test_azure_postgres_url_without_password_means_entra():
    azure_host = "pg-x.postgres.database.azure.com"
    assert uses_entra_auth(
        make_url(f"postgresql+psycopg://id-planner@{azure_host}/planning?sslmode=require")
    )
    assert not uses_entra_auth(make_url(f"postgresql+psycopg://u:pw@{azure_host}/planning"))
    assert not uses_entra_auth(make_url("postgresql+psycopg://app@127.0.0.1:5432/postgres"))
    assert not uses_entra_auth(make_url("sqlite:///x.db"))


def test_cached_token_refreshes_only_near_expiry():
    now = [1000.0]
    credential = FakeCredential(lambda scopes, n, _exp: f"t{n}", clock=lambda: now[0])
    token = CachedToken(credential, POSTGRES_SCOPE, margin=300, clock=lambda: now[0])
    assert [token(), token()] == ["t1", "t1"]
    now[0] += 3600 - 301
    assert token() == "t1"
    now[0] += 2
    assert token() == "t2"
    assert credential.requests == [(POSTGRES_SCOPE,)] * 2


def test_postgres_connects_with_the_token_as_password_and_refreshes_it():
    now = [time.time()]
    tokens = iter(["entra-token-one", "entra-token-two"])
    credential = FakeCredential(lambda *_: next(tokens), clock=lambda: now[0])
    password = CachedToken(credential, POSTGRES_SCOPE, clock=lambda: now[0])
    with postgres_server(password="entra-token-one") as url:
        engine = get_engine(url, password=password)
        try:
            for _ in range(2):
                engine.dispose()  # a new pooled connection each time
                with engine.begin() as conn:
                    assert conn.execute(text("select current_user")).scalar() == "app"
            assert len(credential.requests) == 1
            with engine.begin() as conn:
                conn.execute(text("alter role app password 'entra-token-two'"))
            now[0] += 3600 - 60  # within the refresh margin of the first token's expiry
            engine.dispose()
            with engine.begin() as conn:
                assert conn.execute(text("select 1")).scalar() == 1
            assert credential.requests == [(POSTGRES_SCOPE,)] * 2
            plain = make_url(url)
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(
                    host=plain.host,
                    port=plain.port,
                    user="app",
                    dbname="postgres",
                    password="entra-token-one",
                ).close()
        finally:
            dispose_engine(url)
