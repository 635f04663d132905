"""Microsoft Entra ID access to the emulator's REST API, checked as the service checks it.

A keyless `WebPubSubServiceClient` sends `Authorization: Bearer <Entra access token>` for the
scope `https://webpubsub.azure.com/.default`. The service verifies the token's RS256 signature
against the tenant's signing keys, its audience and expiry, then authorizes the caller (the
token's `oid`) through Azure RBAC: REST calls need the "Web PubSub Service Owner" role.

The emulator has no Entra tenant: it is given the public key of the token issuer it trusts and
the object ids holding the role. A token signed by anyone else is refused with 401; a valid
token for a principal without the role gets 403, like a missing role assignment in Azure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jwt

WEBPUBSUB_AUDIENCES = ("https://webpubsub.azure.com", "https://webpubsub.azure.com/")
CLOCK_SKEW_SECONDS = 5


class EntraAuthError(Exception):
    """The token is not a valid Entra token for this service (401)."""


class EntraForbidden(Exception):
    """A valid token whose principal holds no role on the resource (403)."""


@dataclass(frozen=True)
class EntraTrust:
    """The issuer the emulator trusts and the principals with "Web PubSub Service Owner"."""

    issuer: str
    public_key: str
    service_owners: frozenset[str] = field(default_factory=frozenset)


def is_entra_token(token: str) -> bool:
    """Entra tokens are RS256-signed; the access-key tokens the SDK signs itself are HS256."""
    try:
        return jwt.get_unverified_header(token).get("alg") == "RS256"
    except jwt.InvalidTokenError:
        return False


def authorize(token: str, trust: EntraTrust) -> str:
    """The caller's object id, when the token is valid and the caller may use the REST API."""
    try:
        claims = jwt.decode(
            token,
            trust.public_key,
            algorithms=["RS256"],
            audience=list(WEBPUBSUB_AUDIENCES),
            issuer=trust.issuer,
            options={"require": ["exp", "aud", "iss", "oid"]},
            leeway=CLOCK_SKEW_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise EntraAuthError("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise EntraAuthError(f"invalid token: {type(exc).__name__}") from None
    principal = str(claims["oid"])
    if principal not in trust.service_owners:
        raise EntraForbidden("the principal has no role assignment on this resource")
    return principal
