"""Who the caller is: the Easy Auth principal headers parsed as App Service documents them, when
they are trusted (Easy Auth on, in Azure without it, Core Tools, the local host), the roles each
route needs, and what the running app answers with no, a tampered, or a role-less principal."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import function_app
from localdev.host.functions import index_app
from localdev.host.server import LocalDeveloper
from shared.errors import ForbiddenError, UnauthenticatedError
from shared.identity import (
    DATA_ADMIN,
    PLANNER,
    Principal,
    authenticate,
    authorize,
    local_developer,
    principal_from_headers,
    principal_headers,
)
from shared.settings import Settings
from tests.support.errors import assert_error
from tests.support.live_stack import LiveStack, live_stack

ROLE_URI = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
EASY_AUTH: dict[str, Any] = {"website_auth_enabled": "True", "website_site_name": "season-planner"}
PRINCIPAL = "x-ms-client-principal"


def encoded(payload: Any) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


def entra_headers(roles: list[str], role_typ: str = ROLE_URI) -> dict[str, str]:
    """What Easy Auth with Entra ID injects (the shape of a real decoded principal)."""
    claims = [
        {"typ": "aud", "val": "8f3c1b9e-0000-4000-8000-000000000001"},
        {
            "typ": "http://schemas.microsoft.com/identity/claims/objectidentifier",
            "val": "0d5c7a52-1f0e-4b4e-9d7a-3c2f5e6a7b81",
        },
        {"typ": "name", "val": "Avery Planner"},
        {"typ": "preferred_username", "val": "avery@contoso.example"},
    ] + [{"typ": "roles", "val": role} for role in roles]
    return {
        "x-ms-client-principal-id": "0d5c7a52-1f0e-4b4e-9d7a-3c2f5e6a7b81",
        "x-ms-client-principal-name": "avery@contoso.example",
        "x-ms-client-principal-idp": "aad",
        "x-ms-client-principal": encoded(
            {
                "auth_typ": "aad",
                "claims": claims,
                "name_typ": "preferred_username",
                "role_typ": role_typ,
            }
        ),
    }


def test_an_entra_principal_with_its_app_roles():
    principal = principal_from_headers(entra_headers(["planner", "data-admin"]))
    assert principal == Principal(
        user_id="0d5c7a52-1f0e-4b4e-9d7a-3c2f5e6a7b81",
        name="avery@contoso.example",
        identity_provider="aad",
        roles=frozenset({"planner", "data-admin"}),
    )


def test_roles_are_the_claims_of_type_role_typ():
    headers = entra_headers([], role_typ="app_roles")
    payload = json.loads(base64.b64decode(headers["x-ms-client-principal"]))
    payload["claims"] += [{"typ": "app_roles", "val": "planner"}, {"typ": "group", "val": "x"}]
    headers["x-ms-client-principal"] = encoded(payload)
    principal = principal_from_headers(headers)
    assert principal is not None and principal.roles == {"planner"}


def test_without_the_claims_header_a_principal_has_no_roles():
    headers = {"x-ms-client-principal-id": "u-1", "x-ms-client-principal-name": "U"}
    principal = principal_from_headers(headers)
    assert principal is not None and principal.roles == frozenset()


def test_no_headers_is_no_principal():
    assert principal_from_headers({}) is None


def test_the_local_hosts_headers_round_trip():
    headers = {k.lower(): v for k, v in principal_headers("dev", "Dev", ["planner"]).items()}
    assert principal_from_headers(headers) == Principal(
        user_id="dev", name="Dev", identity_provider="localdev", roles=frozenset({"planner"})
    )


@pytest.mark.parametrize(
    "principal",
    [
        "not base64 at all!",
        base64.b64encode(b"\xff\xfe not utf-8").decode(),
        base64.b64encode(b"{not json").decode(),
        encoded(["a", "list"]),
        encoded({"claims": "planner"}),
        encoded({"claims": [{"typ": "roles", "val": 7}]}),
        encoded({"claims": [{"typ": "roles"}]}),
        encoded({"auth_typ": "aad", "claims": [], "role_typ": ["roles"]}),
        base64.b64encode(b"[" * 50_000).decode(),
        "A" * 100_000,
    ],
)
def test_a_tampered_principal_is_unauthenticated(principal):
    headers = {**entra_headers(["planner"]), PRINCIPAL: principal}
    with pytest.raises(UnauthenticatedError):
        principal_from_headers(headers)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-ms-client-principal": encoded({"claims": [{"typ": "roles", "val": "planner"}]})},
        {"x-ms-client-principal-name": "someone"},
        {"x-ms-client-principal-id": "bad\x00id"},
        {"x-ms-client-principal-id": "x" * 257},
    ],
)
def test_headers_without_a_valid_id_are_unauthenticated(headers):
    with pytest.raises(UnauthenticatedError):
        principal_from_headers(headers)


@settings(max_examples=300, deadline=None)
@given(
    principal=st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["auth_typ", "claims", "typ", "val", "role_typ", "name_typ"]),
                    children,
                    max_size=4,
                )
            ),
            max_leaves=10,
        ).map(encoded),
    )
)
def test_any_principal_header_parses_or_is_unauthenticated(principal):
    try:
        parsed = principal_from_headers({"x-ms-client-principal-id": "u", PRINCIPAL: principal})
    except UnauthenticatedError:
        return
    assert parsed is not None and parsed.user_id == "u"


def test_with_easy_auth_the_headers_are_the_caller_and_nothing_else():
    easy_auth = Settings(local_developer_id="dev", **EASY_AUTH)
    assert authenticate(entra_headers(["planner"]), easy_auth).name == "avery@contoso.example"
    with pytest.raises(UnauthenticatedError):
        authenticate({}, easy_auth)


def test_in_azure_without_easy_auth_nobody_is_signed_in():
    in_azure = Settings(local_developer_id="dev", website_instance_id="a1b2c3")
    assert local_developer(in_azure) is None
    assert local_developer(Settings(local_developer_id="dev", website_site_name="app")) is None
    with pytest.raises(UnauthenticatedError):
        authenticate(entra_headers(["planner"]), in_azure)
    with pytest.raises(UnauthenticatedError):
        authenticate({}, in_azure)


def test_under_core_tools_the_local_developer_has_every_role():
    developer = authenticate({}, Settings(local_developer_id="dev", local_developer_name="Dee"))
    assert developer == Principal(
        user_id="dev",
        name="Dee",
        identity_provider="localdev",
        roles=frozenset({PLANNER, DATA_ADMIN}),
    )
    with pytest.raises(UnauthenticatedError):
        authenticate({}, Settings(local_developer_id=""))


def test_without_easy_auth_or_the_local_host_principal_headers_are_not_believed():
    """Core Tools (or any host that is not App Service) has nobody who strips forged headers."""
    for configured in (Settings(local_developer_id="dev"), Settings()):
        with pytest.raises(UnauthenticatedError) as refused:
            authenticate(entra_headers(["planner"]), configured)
        assert "App Service Authentication" in refused.value.message


def test_authorize_needs_the_role():
    req = func.HttpRequest("GET", "http://x/api/me", body=b"", headers=entra_headers(["planner"]))
    easy_auth = Settings(**EASY_AUTH)
    assert authorize(req, PLANNER, easy_auth).user_id == "0d5c7a52-1f0e-4b4e-9d7a-3c2f5e6a7b81"
    assert authorize(req, None, easy_auth).roles == {"planner"}
    with pytest.raises(ForbiddenError) as refused:
        authorize(req, DATA_ADMIN, easy_auth)
    assert refused.value.status_code == 403 and refused.value.error_type == "FORBIDDEN"


# ------------------------------------------------------------------ over the running app

HTTP_ROUTES = sorted(
    (entry.name, entry.trigger["route"], method.upper())
    for entry in index_app(function_app.app).values()
    if entry.trigger_type == "httpTrigger"
    for method in entry.trigger.get("methods") or ["GET", "POST"]
)


@pytest.fixture(scope="module")
def anonymous_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """The local stack with its default user switched off: only principal headers sign in."""
    with live_stack(tmp_path_factory.mktemp("identity"), developer=None) as running:
        yield running


@pytest.fixture(scope="module")
def client(anonymous_stack: LiveStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=anonymous_stack.base_url, timeout=30) as http:
        yield http


@pytest.mark.parametrize("name,route,method", HTTP_ROUTES)
def test_every_route_answers_401_without_a_principal(client, name, route, method):
    """Before reading anything else: a body that would be a 422 is still a 401."""
    path = route.replace("{workflow_id}", "wf-anything")
    response = client.request(
        method,
        f"/api/{path}",
        params={"session_id": "s"},
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_error(response, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("name,route,method", HTTP_ROUTES)
def test_every_route_answers_401_to_a_tampered_principal(client, name, route, method):
    path = route.replace("{workflow_id}", "wf-anything")
    headers = {**entra_headers(["planner", "data-admin"]), PRINCIPAL: "eyJub3Qi=="}
    response = client.request(method, f"/api/{path}", headers=headers)
    assert_error(response, 401, "UNAUTHENTICATED")
    assert "eyJub3Qi" not in response.text


def test_me_is_the_signed_in_caller(client):
    response = client.get("/api/me", headers=entra_headers(["planner"]))
    assert response.status_code == 200
    assert response.json() == {
        "user_id": "0d5c7a52-1f0e-4b4e-9d7a-3c2f5e6a7b81",
        "name": "avery@contoso.example",
        "identity_provider": "aad",
        "roles": ["planner"],
    }


def test_planner_routes_need_the_planner_role(client):
    viewer = entra_headers([])
    for method, path in (
        ("POST", "/api/orchestrator/extract-parameters"),
        ("POST", "/api/orchestrator/run-workflow"),
        ("GET", "/api/orchestrator/negotiate?session_id=s"),
        ("GET", "/api/orchestrator/workflows/wf-1"),
        ("GET", "/api/forecasts/wf-1"),
        ("GET", "/api/stores/clusters"),
    ):
        error = assert_error(client.request(method, path, headers=viewer), 403, "FORBIDDEN")
        assert error.details["required_role"] == "planner"
    assert client.get("/api/categories", headers=viewer).status_code == 200


def test_import_needs_data_admin(client):
    files = {"categories": ("c.csv", b"category_id,name\n", "text/csv")}
    planner = client.post("/api/data/import", headers=entra_headers(["planner"]), files=files)
    assert assert_error(planner, 403, "FORBIDDEN").details["required_role"] == "data-admin"
    admin = client.post("/api/data/import", headers=entra_headers(["data-admin"]), files=files)
    assert admin.status_code == 422 and admin.json()["error_type"] == "INVALID_PARAMETERS"


def test_the_default_local_user_is_the_developer_with_every_role(tmp_path):
    developer = LocalDeveloper(user_id="dev-7", name="Dev Seven")
    with live_stack(tmp_path, developer=developer) as stack:
        me = httpx.get(f"{stack.base_url}/api/me", timeout=30).json()
        as_given = httpx.get(
            f"{stack.base_url}/api/me", headers=entra_headers(["planner"]), timeout=30
        ).json()
        tampered = httpx.get(
            f"{stack.base_url}/api/me", headers={PRINCIPAL: "bm90IGpzb24="}, timeout=30
        )
    assert tampered.status_code == 401  # given headers are never replaced by the default user
    assert me == {
        "user_id": "dev-7",
        "name": "Dev Seven",
        "identity_provider": "localdev",
        "roles": ["data-admin", "planner"],
    }
    assert as_given["name"] == "avery@contoso.example" and as_given["roles"] == ["planner"]
