"""Who is calling: the signed-in principal, as App Service Authentication ("Easy Auth") passes it.

In Azure the Function App sits behind Easy Auth with Microsoft Entra ID. Easy Auth removes any
`X-MS-*` header a client sent and injects the caller's identity
(learn.microsoft.com/azure/app-service/configure-authentication-user-identities):

    X-MS-CLIENT-PRINCIPAL-ID     the identity provider's stable id of the caller (Entra: object id)
    X-MS-CLIENT-PRINCIPAL-NAME   a human-readable name (e-mail, user principal name)
    X-MS-CLIENT-PRINCIPAL-IDP    the identity provider ("aad" for Entra ID)
    X-MS-CLIENT-PRINCIPAL        base64 JSON {auth_typ, claims: [{typ, val}], name_typ, role_typ}

App roles are the claims whose `typ` is `role_typ`. Entra ID v2 tokens carry them under the
JWT claim name `roles` while `role_typ` names the long WS-Federation role URI, so claims typed
`roles` count as roles too (the same rule Microsoft.Identity.Web applies to App Service tokens).

When the headers are trusted (`authenticate`):
* Easy Auth is on (the platform sets WEBSITE_AUTH_ENABLED=True): the headers are the caller;
  none means not signed in.
* In Azure without Easy Auth (WEBSITE_INSTANCE_ID / WEBSITE_SITE_NAME set, no
  WEBSITE_AUTH_ENABLED): anyone could forge the headers, so nobody is signed in.
* `python -m localdev serve` plays Easy Auth and sets WEBSITE_AUTH_ENABLED=True for the app:
  the headers it passes on are the caller, as in Azure.
* Anywhere else (Core Tools on a developer's machine, or a host that is not App Service): no
  one vouches for the headers, so they are refused (401) rather than believed; a request
  without them is the developer LOCAL_DEVELOPER_ID names (Core Tools' zero set-up), else
  nobody. Trusting client-sent principal headers is thus only ever done by the local host.
A principal header that is not base64 of that JSON is answered 401, as a missing one is.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Annotated

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, StrictStr, StringConstraints, ValidationError

from shared.errors import ForbiddenError, UnauthenticatedError
from shared.settings import Settings

logger = logging.getLogger(__name__)

PLANNER = "planner"
DATA_ADMIN = "data-admin"
APP_ROLES = (PLANNER, DATA_ADMIN)

ID_HEADER = "x-ms-client-principal-id"
NAME_HEADER = "x-ms-client-principal-name"
IDP_HEADER = "x-ms-client-principal-idp"
PRINCIPAL_HEADER = "x-ms-client-principal"
PRINCIPAL_HEADERS = (ID_HEADER, NAME_HEADER, IDP_HEADER, PRINCIPAL_HEADER)

ENTRA_ROLES_CLAIM = "roles"
LOCAL_IDENTITY_PROVIDER = "localdev"
MAX_PRINCIPAL_BYTES = 32_768

PrincipalText = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class PrincipalClaim(BaseModel):
    """One `{typ, val}` entry of the principal's claims."""

    model_config = ConfigDict(extra="ignore")

    typ: StrictStr
    val: StrictStr


class ClientPrincipal(BaseModel):
    """The decoded `X-MS-CLIENT-PRINCIPAL` payload, field for field as App Service documents it."""

    model_config = ConfigDict(extra="ignore")

    auth_typ: StrictStr | None = None
    claims: list[PrincipalClaim] = Field(default_factory=list, max_length=1000)
    name_typ: StrictStr | None = None
    role_typ: StrictStr | None = None

    def values(self, typ: str | None) -> list[str]:
        return [c.val for c in self.claims if typ and c.typ == typ]

    def roles(self) -> frozenset[str]:
        role_types = {self.role_typ, ENTRA_ROLES_CLAIM} - {None}
        return frozenset(c.val for c in self.claims if c.typ in role_types)


class Principal(BaseModel):
    """The signed-in caller: what the app keys ownership on and checks roles against."""

    model_config = ConfigDict(frozen=True)

    user_id: PrincipalText
    name: str = Field(max_length=256)
    identity_provider: str = Field(max_length=64)
    roles: frozenset[str]

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def public(self) -> dict[str, object]:
        """`GET /api/me`: who is signed in (roles sorted, so the answer is stable)."""
        return {
            "user_id": self.user_id,
            "name": self.name,
            "identity_provider": self.identity_provider,
            "roles": sorted(self.roles),
        }


def _tampered(reason: str) -> UnauthenticatedError:
    logger.warning("principal headers refused: %s", reason)
    return UnauthenticatedError(
        "The sign-in headers are not valid",
        details={"reason": reason},
        suggestions=[
            "Sign in again at /.auth/login/aad: only the identity App Service Authentication "
            "sends counts."
        ],
    )


def decode_client_principal(value: str) -> ClientPrincipal:
    """`X-MS-CLIENT-PRINCIPAL` as its model; UnauthenticatedError unless it is base64 of the
    documented JSON."""
    text = value.strip()
    if len(text) > MAX_PRINCIPAL_BYTES * 4 // 3 + 4:
        raise _tampered("X-MS-CLIENT-PRINCIPAL is too large")
    try:
        raw = base64.b64decode(text, validate=True)
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):
        raise _tampered("X-MS-CLIENT-PRINCIPAL is not base64-encoded JSON") from None
    try:
        return ClientPrincipal.model_validate(data)
    except ValidationError:
        raise _tampered("X-MS-CLIENT-PRINCIPAL does not have the documented shape") from None


def principal_from_headers(headers: Mapping[str, str]) -> Principal | None:
    """The principal the X-MS-CLIENT-PRINCIPAL-* headers describe; None when there is none.

    `headers` must be case-insensitive or lower-case (azure.functions lower-cases them). The id
    header is what makes a request signed in; roles come only from the claims.
    """
    # Compared exactly, never normalised: `alice\u00a0` is not `alice` (str.strip would make
    # it so), and Easy Auth sends the id exactly as the identity provider issued it.
    user_id = headers.get(ID_HEADER) or ""
    encoded = headers.get(PRINCIPAL_HEADER)
    if not user_id:
        if encoded or headers.get(NAME_HEADER):
            raise _tampered("X-MS-CLIENT-PRINCIPAL-ID is missing")
        return None
    claims = decode_client_principal(encoded) if encoded else ClientPrincipal()
    names = claims.values(claims.name_typ)
    try:
        return Principal(
            user_id=user_id,
            name=(headers.get(NAME_HEADER) or (names[0] if names else "")).strip()[:256],
            identity_provider=(headers.get(IDP_HEADER) or claims.auth_typ or "").strip()[:64],
            roles=claims.roles(),
        )
    except ValidationError:
        raise _tampered("X-MS-CLIENT-PRINCIPAL-ID is not a valid id") from None


def principal_headers(
    user_id: str,
    name: str,
    roles: Iterable[str],
    identity_provider: str = LOCAL_IDENTITY_PROVIDER,
) -> dict[str, str]:
    """The headers Easy Auth would inject for this caller (used by the local host and tests)."""
    name_typ = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
    payload = {
        "auth_typ": identity_provider,
        "claims": [{"typ": name_typ, "val": name}]
        + [{"typ": ENTRA_ROLES_CLAIM, "val": role} for role in roles],
        "name_typ": name_typ,
        "role_typ": ENTRA_ROLES_CLAIM,
    }
    encoded = base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    return {
        "X-MS-CLIENT-PRINCIPAL-ID": user_id,
        "X-MS-CLIENT-PRINCIPAL-NAME": name,
        "X-MS-CLIENT-PRINCIPAL-IDP": identity_provider,
        "X-MS-CLIENT-PRINCIPAL": encoded,
    }


def local_developer(settings: Settings) -> Principal | None:
    """The LOCAL_DEVELOPER_ID developer with every role; None when unset or in Azure."""
    user_id = (settings.local_developer_id or "").strip()
    if not user_id:
        return None
    if settings.running_in_azure:
        logger.error("LOCAL_DEVELOPER_ID is ignored: the app runs in Azure")
        return None
    return Principal(
        user_id=user_id,
        name=settings.local_developer_name,
        identity_provider=LOCAL_IDENTITY_PROVIDER,
        roles=frozenset(APP_ROLES),
    )


def _not_signed_in() -> UnauthenticatedError:
    return UnauthenticatedError(
        "Sign in to use this API",
        suggestions=[
            "Sign in at /.auth/login/aad (App Service Authentication with Microsoft Entra ID).",
            "Locally, `python -m localdev serve` signs you in as the local developer.",
        ],
    )


def authenticate(headers: Mapping[str, str], settings: Settings) -> Principal:
    """The caller, trusted as the module docstring explains; UnauthenticatedError otherwise."""
    if settings.easy_auth_enabled:
        principal = principal_from_headers(headers)
    elif settings.running_in_azure:
        logger.error("App Service Authentication is off: nobody can be signed in")
        principal = None
    elif any(headers.get(name) for name in PRINCIPAL_HEADERS):
        raise UnauthenticatedError(
            "Principal headers are trusted only behind App Service Authentication",
            suggestions=[
                "In Azure, sign in at /.auth/login/aad: App Service Authentication sends them.",
                "Locally, use `python -m localdev serve` to sign in as someone else; under Core "
                "Tools, leave them out: LOCAL_DEVELOPER_ID signs you in.",
            ],
        )
    else:
        principal = local_developer(settings)
    if principal is None:
        raise _not_signed_in()
    return principal


def authorize(req: func.HttpRequest, role: str | None, settings: Settings) -> Principal:
    """The signed-in caller of `req` holding `role` (None: any signed-in caller).

    Every HTTP function calls this first, before reading its input, so an anonymous caller
    learns nothing but 401 and a caller without the role nothing but 403.
    """
    principal = authenticate(req.headers, settings)
    if role is not None and not principal.has_role(role):
        raise ForbiddenError(
            f"This action needs the '{role}' app role",
            details={"required_role": role, "roles": sorted(principal.roles & set(APP_ROLES))},
            suggestions=[f"Ask an administrator to assign you the '{role}' app role."],
        )
    return principal
