"""The `WebPubSubServiceClient` for the app's settings: keyless in Azure, keyed elsewhere.

* `WebPubSubEndpoint` set: the client authenticates with Microsoft Entra ID (the managed
  identity through `DefaultAzureCredential`, or the credential passed in), which needs the
  "Web PubSub Service Owner" role on the resource. Client tokens then come from the service's
  `:generateToken` REST call, since there is no key to sign them with.
* Otherwise `WebPubSubConnectionString` (endpoint and access key; the local emulator's by
  default): REST calls and client tokens are signed with the key, no call needed for a token.

azure-core refuses bearer tokens over plain HTTP; the only HTTP endpoint that makes sense with a
credential is the local emulator, so that refusal is lifted for loopback hosts and nowhere else.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.core.credentials import TokenCredential
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import BearerTokenCredentialPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from shared.credentials import WEBPUBSUB_SCOPE, default_credential
from shared.settings import Settings


def is_loopback(endpoint: str) -> bool:
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LoopbackBearerTokenPolicy(BearerTokenCredentialPolicy[Any, Any]):
    """Bearer tokens over plain HTTP, for an emulator on this machine only."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.context.options["enforce_https"] = False
        super().on_request(request)


def uses_identity(settings: Settings) -> bool:
    """Whether Web PubSub is reached with an Entra credential rather than an access key."""
    return bool(settings.webpubsub_endpoint)


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def pooled_transport(
    connections: int, *, connection_timeout: float, read_timeout: float
) -> RequestsTransport:
    """An HTTP transport for a sender that calls the service many times a second.

    Keeps up to `connections` connections open (one per concurrent sender, so none waits for
    another's socket or reconnects), and reads the proxy environment variables once here
    rather than on every request as `requests` otherwise does: profiled per published
    message, that scan of the environment was a third of the SDK's own Python calls. When a
    proxy variable is set, the environment stays in charge (per request, as before). The
    timeouts bound each try (a transport given to the SDK takes its timeouts from here).
    """
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=connections)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    uses_proxy = any(
        os.environ.get(name) or os.environ.get(name.lower()) for name in PROXY_VARIABLES
    )
    return RequestsTransport(
        session=session,
        session_owner=True,
        use_env_settings=uses_proxy,
        connection_timeout=connection_timeout,
        read_timeout=read_timeout,
    )


def build_service_client(
    settings: Settings, *, credential: TokenCredential | None = None, **options: Any
) -> WebPubSubServiceClient:
    """A service client for `settings.webpubsub_hub`; `options` go to the SDK (retry policy,
    timeouts). `credential` replaces the managed identity (tests, other identities)."""
    if not uses_identity(settings):
        return WebPubSubServiceClient.from_connection_string(
            settings.webpubsub_connection(), hub=settings.webpubsub_hub, **options
        )
    endpoint = str(settings.webpubsub_endpoint).rstrip("/")
    credential = credential or default_credential()
    if endpoint.lower().startswith("http://"):
        if not is_loopback(endpoint):
            raise ValueError("WebPubSubEndpoint must be https:// (http:// for a local emulator)")
        options["authentication_policy"] = LoopbackBearerTokenPolicy(credential, WEBPUBSUB_SCOPE)
    return WebPubSubServiceClient(
        endpoint=endpoint, hub=settings.webpubsub_hub, credential=credential, **options
    )
