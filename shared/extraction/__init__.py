"""Natural-language season parameters: one entry point, two extractors behind it.

`settings.extractor` picks the reader: `rules` (deterministic), `llm` (a language model), or
`auto` (the language model when one is configured, else rules). Behind a language model the
rules extractor still reads the same text, as a cross-check that moves the confidence score.

The language-model extractor (shared.extraction.llm) brings the openai SDK, about 0.4 s of
imports, so it is imported where a request first needs it: the rules path, and the app's cold
start, never load openai.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from shared.extraction import rules
from shared.extraction.combine import Draft, FieldSource, field_sources, finalize
from shared.schemas import SeasonParameters
from shared.settings import Settings

if TYPE_CHECKING:
    import httpx2
    import openai

__all__ = [
    "extract_parameters",
    "extract_with_sources",
    "language_model_client",
    "language_model_configured",
    "uses_language_model",
]

_clients: dict[tuple[object, ...], openai.OpenAI] = {}
_clients_lock = threading.Lock()


def language_model_configured(settings: Settings) -> bool:
    """An LLM is configured: an Azure OpenAI endpoint (with its key, or keyless through the
    app's managed identity), or an OpenAI(-compatible) key."""
    return bool(settings.azure_openai_endpoint) or settings.openai_api_key is not None


def uses_language_model(settings: Settings) -> bool:
    """Whether `extract_parameters` will ask a language model under these settings."""
    if settings.extractor == "auto":
        return language_model_configured(settings)
    return settings.extractor == "llm"


def language_model_client(
    settings: Settings, http_client: httpx2.Client | None = None
) -> openai.OpenAI:
    """The process-wide SDK client for these settings: created once, reused by every request
    (it owns the connection pool). Keyed by the settings it was built from, so a changed
    configuration gets its own client; an injected `http_client` (tests) keys its own too, and
    the cached client keeps it alive, so its id cannot be reused."""
    from shared.extraction import llm

    secret = settings.azure_openai_api_key or settings.openai_api_key
    key = (
        settings.azure_openai_endpoint,
        settings.azure_openai_deployment,
        settings.azure_openai_api_version,
        settings.openai_base_url,
        settings.openai_model,
        settings.llm_timeout_seconds,
        settings.llm_max_retries,
        hashlib.sha256(secret.get_secret_value().encode()).hexdigest() if secret else None,
        id(http_client) if http_client is not None else None,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = llm.build_client(settings, http_client)
        return client


def extract_parameters(
    text: str,
    settings: Settings,
    *,
    today: date | None = None,
    http_client: httpx2.Client | None = None,
) -> SeasonParameters:
    """Season parameters from the planner's text.

    Raises ParameterExtractionError (400: something required is missing; 422: the model's
    answer was unusable), InvalidParametersError (422: a value outside the contract) or
    LanguageModelUnavailableError (503, with Retry-After when retrying can help).
    """
    return extract_with_sources(text, settings, today=today, http_client=http_client)[0]


def extract_with_sources(
    text: str,
    settings: Settings,
    *,
    today: date | None = None,
    http_client: httpx2.Client | None = None,
) -> tuple[SeasonParameters, dict[str, FieldSource]]:
    """`extract_parameters` plus where each value came from (see `combine.field_sources`):
    the endpoint returns both, so a client never mistakes an absent value for a stated one."""
    today = today or datetime.now(UTC).date()
    by_rules = rules.extract(text, today)
    if not uses_language_model(settings):
        return finalize(by_rules), field_sources(by_rules)
    from shared.extraction import llm

    if not language_model_configured(settings):
        raise llm.not_configured()
    client = language_model_client(settings, http_client)
    by_model: Draft = llm.extract(text, client, settings, today)
    return finalize(by_model, cross_check=by_rules), field_sources(by_model)
