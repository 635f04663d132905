"""Access tokens, checked the way the Web PubSub service checks them.

Both token kinds are HS256 JWTs signed with the hub's access key:

* REST calls (what `WebPubSubServiceClient` sends): `Authorization: Bearer <jwt>` whose `aud` is
  the full request URL the SDK built (scheme, host, path and query) and whose `exp` is ~60 s out.
* Client connections (what `get_client_access_token` signs locally): `aud` is
  `<endpoint>/client/hubs/<hub>`; optional `sub` (user id), `role` (permissions) and
  `webpubsub.group` (groups joined on connect).

The service compares the audience with its own address, so the emulator compares it with the
address the request reached (`Host` header), which is what a client configured with the
emulator's endpoint signs.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

import jwt

GROUP_CLAIM = "webpubsub.group"
ROLE_CLAIM = "role"
CLOCK_SKEW_SECONDS = 5


def generate_access_key() -> str:
    """A fresh access key (256 random bits, base64 like the service's own keys)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


class AuthError(Exception):
    """The token is missing, forged, expired or meant for another address; answered with 401."""


@dataclass(frozen=True)
class ClientClaims:
    """What a client token grants its connection."""

    user_id: str | None
    roles: frozenset[str]
    groups: tuple[str, ...]


@dataclass(frozen=True)
class ConnectionString:
    endpoint: str
    access_key: str

    @classmethod
    def parse(cls, text: str) -> ConnectionString:
        """Parse `Endpoint=...;AccessKey=...;Version=1.0;` (keys case-insensitive)."""
        fields: dict[str, str] = {}
        for segment in text.split(";"):
            if not segment.strip():
                continue
            key, sep, value = segment.partition("=")
            if not sep:
                raise ValueError("connection string segments must be key=value")
            fields[key.strip().lower()] = value.strip()
        if "endpoint" not in fields or "accesskey" not in fields:
            raise ValueError("connection string needs Endpoint and AccessKey")
        return cls(endpoint=fields["endpoint"].rstrip("/"), access_key=fields["accesskey"])


def _decode(token: str, access_key: str) -> dict:
    try:
        return jwt.decode(
            token,
            access_key,
            algorithms=["HS256"],
            options={"require": ["exp", "aud"], "verify_aud": False},
            leeway=CLOCK_SKEW_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {type(exc).__name__}") from None


def _same_host(aud_netloc: str, host: str) -> bool:
    return aud_netloc.lower() == host.lower()


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("missing bearer token")
    return token.strip()


def verify_service_token(
    token: str, access_key: str, *, host: str, path: str, query: list[tuple[str, str]]
) -> None:
    """Check a REST call's token: signature, expiry, and `aud` equal to the URL called."""
    claims = _decode(token, access_key)
    aud = urlsplit(str(claims["aud"]))
    if not _same_host(aud.netloc, host):
        raise AuthError("audience host does not match")
    if unquote(aud.path) != unquote(path):
        raise AuthError("audience path does not match")
    if sorted(parse_qsl(aud.query, keep_blank_values=True)) != sorted(query):
        raise AuthError("audience query does not match")


def verify_client_token(token: str, access_key: str, *, host: str, hub: str) -> ClientClaims:
    """Check a client connection's token and return what it grants."""
    claims = _decode(token, access_key)
    aud = urlsplit(str(claims["aud"]))
    if not _same_host(aud.netloc, host):
        raise AuthError("audience host does not match")
    if aud.path.rstrip("/").lower() != f"/client/hubs/{hub}".lower():
        raise AuthError("token was issued for another hub")
    return ClientClaims(
        user_id=str(claims["sub"]) if claims.get("sub") else None,
        roles=frozenset(_as_list(claims.get(ROLE_CLAIM))),
        groups=tuple(dict.fromkeys(_as_list(claims.get(GROUP_CLAIM)))),
    )


def _as_list(value: object) -> list[str]:
    """A claim may hold one string or a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise AuthError("malformed claim")


def sign_client_token(
    access_key: str,
    *,
    audience: str,
    lifetime_seconds: int,
    now: float,
    user_id: str | None = None,
    roles: list[str] | None = None,
    groups: list[str] | None = None,
) -> str:
    """The service's own `:generateToken`, for callers that authenticate without the key."""
    payload: dict[str, object] = {
        "aud": audience,
        "iat": int(now),
        "exp": int(now) + lifetime_seconds,
    }
    if user_id:
        payload["sub"] = user_id
    if roles:
        payload[ROLE_CLAIM] = roles
    if groups:
        payload[GROUP_CLAIM] = groups
    return jwt.encode(payload, access_key, algorithm="HS256")
