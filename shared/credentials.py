"""Microsoft Entra credentials for keyless connections to Azure services.

In Azure the Function App runs as a user-assigned managed identity: `DefaultAzureCredential`
finds it through the `AZURE_CLIENT_ID` app setting (the identity's client id), and on a
developer laptop it falls back to the Azure CLI / azd sign-in. Every keyless path (Web PubSub,
Azure OpenAI, PostgreSQL) takes a `TokenCredential` parameter so tests pass their own object
implementing `get_token`, the seam azure-identity defines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # azure-core loads with the first keyless connection, not with the app
    from azure.core.credentials import AccessToken, TokenCredential

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"
POSTGRES_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
WEBPUBSUB_SCOPE = "https://webpubsub.azure.com/.default"

REFRESH_MARGIN_SECONDS = 300


@lru_cache(maxsize=1)
def default_credential() -> TokenCredential:
    """The process-wide `DefaultAzureCredential` (imported on first use: key-based setups never
    load azure-identity). It caches its own tokens, so one instance serves every client."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


class CachedToken:
    """One scope's access token, fetched on first use and again only when it is within
    `margin` seconds of expiring, so a new database connection costs no token request.

    Thread-safe: activities open connections from several threads at once.
    """

    def __init__(
        self,
        credential: TokenCredential,
        scope: str,
        *,
        margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credential = credential
        self._scope = scope
        self._margin = margin
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._token.expires_on - self._margin <= self._clock():
                self._token = self._credential.get_token(self._scope)
            return self._token.token
