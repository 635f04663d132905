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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from shared.errors import InvalidParametersError
from shared.extraction import rules
from shared.extraction.combine import (
    Draft,
    FieldSource,
    field_notes,
    field_sources,
    finalize,
    prefer_the_text,
)
from shared.extraction.products import (
    KnownCategory,
    ProductReading,
    category_list,
    match_product,
    read_product,
)
from shared.schemas import SeasonParameters
from shared.settings import Settings

if TYPE_CHECKING:
    import httpx2
    import openai

__all__ = [
    "KnownCategory",
    "StrategyReading",
    "extract_parameters",
    "language_model_client",
    "language_model_configured",
    "read_strategy",
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
    return read_strategy(text, settings, today=today, http_client=http_client).parameters


@dataclass(frozen=True)
class StrategyReading:
    """Everything one reading of a strategy description gives: the season parameters, where
    each value came from (`category_id` included), and the category the text names (None when
    it names none, or only a generic word: the run then uses the default category)."""

    parameters: SeasonParameters
    field_sources: dict[str, FieldSource]
    category_id: str | None = None
    product: str | None = None
    field_notes: dict[str, str] = field(default_factory=dict)


def read_strategy(
    text: str,
    settings: Settings,
    *,
    today: date | None = None,
    http_client: httpx2.Client | None = None,
    categories: Sequence[KnownCategory] | None = None,
) -> StrategyReading:
    """Read a strategy description once, for every client.

    `categories` are those the database has (None: not known, the product is not read). A
    product the database does not have is a 422 naming it as written and listing what exists;
    the text wins over a language model that contradicts it (`combine.prefer_the_text`, and a
    category named verbatim in the text).
    """
    today = today or datetime.now(UTC).date()
    by_rules = rules.extract(text, today)
    known = list(categories or ())
    product = read_product(text, known) if known else ProductReading()
    cross_check: Draft | None = None
    draft = by_rules
    if uses_language_model(settings):
        from shared.extraction import llm

        if not language_model_configured(settings):
            raise llm.not_configured()
        client = language_model_client(settings, http_client)
        draft = llm.extract(text, client, settings, today, known)
        prefer_the_text(draft, by_rules)
        cross_check = by_rules
        if known:
            product = _model_product(text, draft, product, known)
    if product.unknown is not None:
        raise unknown_product(product.unknown, known, near=product.near)
    params = finalize(draft, cross_check=cross_check)
    sources = field_sources(draft)
    notes = field_notes(draft)
    sources["category_id"] = "stated" if product.category_id else "not_mentioned"
    if product.near_spelling:
        sources["category_id"] = "inferred"
        notes["category_id"] = f"read '{product.as_written}' as {_name_of(product, known)}"
    if known:
        params = params.model_copy(
            update={
                "extraction_reasoning": (
                    f"{params.extraction_reasoning} {_category_reason(product)}"
                )[:4000]
            }
        )
    return StrategyReading(params, sources, product.category_id, product.as_written, notes)


def _name_of(product: ProductReading, known: Sequence[KnownCategory]) -> str:
    return next(c.name for c in known if c.category_id == product.category_id)


def _model_product(
    text: str, draft: Draft, by_rules: ProductReading, known: list[KnownCategory]
) -> ProductReading:
    """The category when a language model read the text: a category the text names itself wins;
    otherwise the model's product counts only when the text contains it as written."""
    if by_rules.category_id is not None or not draft.product:
        return by_rules
    if draft.product.strip().lower() not in text.lower():
        return by_rules
    return match_product(draft.product, known)


def _category_reason(product: ProductReading) -> str:
    if product.category_id is not None and product.near_spelling:
        return (
            f"category_id={product.category_id} from '{product.as_written}', read as a near "
            "spelling of it."
        )
    if product.category_id is not None:
        return f"category_id={product.category_id} from '{product.as_written}'."
    if product.as_written:
        return (
            f"'{product.as_written}' names no particular product: the run uses the default "
            "category."
        )
    return "The text names no product: the run uses the default category."


def unknown_product(
    product: str, categories: Sequence[KnownCategory], *, near: KnownCategory | None = None
) -> InvalidParametersError:
    """422: the text plans a product the database has no category for; never swapped. A
    product close to a category's name offers it ("did you mean"), the planner decides."""
    names = category_list(categories)
    guess = f"Did you mean {near.name}? " if near is not None else ""
    suggestions = [
        f"Name one of the categories that exist: {names}.",
        "Or load this product's sales as a new category: `localdev load --categories "
        "categories.csv --sales sales.csv --append` (POST /api/data/import on a deployed app); "
        "the categories file's aliases column lists other words planners use for a category.",
    ]
    if near is not None:
        suggestions.insert(0, f"Did you mean {near.name}? Write '{near.name}' in the description.")
    details: dict[str, object] = {
        "product": product,
        "available_categories": [c.category_id for c in categories],
    }
    if near is not None:
        details["did_you_mean"] = near.category_id
    return InvalidParametersError(
        f"The description plans '{product}', which is not a category with sales history. "
        f"{guess}Categories that exist: {names}.",
        details=details,
        suggestions=suggestions,
    )
