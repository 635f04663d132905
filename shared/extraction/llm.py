"""Season parameters read by a language model (Azure OpenAI or any OpenAI-compatible server).

The model fills a JSON schema through structured outputs; the schema carries only plain types
(str/int/float/null) because strict mode rejects numeric bounds and `date` formats, so the
contract's ranges are checked afterwards, in combine.py, exactly as for the rules extractor.
Every SDK failure becomes a documented error: unreachable -> 503 with Retry-After, misconfigured
-> an error naming the app setting to fix (never its value), unusable answer -> 400/422.

Azure OpenAI is reached with its key when `AZURE_OPENAI_API_KEY` is set, otherwise keyless: the
SDK asks an Entra token provider (the managed identity, which needs the "Cognitive Services
OpenAI User" role) for a bearer token before each request.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from datetime import date
from typing import TypedDict

import httpx2
import openai
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.credentials import COGNITIVE_SERVICES_SCOPE, default_credential
from shared.errors import (
    AppError,
    LanguageModelUnavailableError,
    ParameterExtractionError,
)
from shared.extraction.combine import Draft, Finding
from shared.extraction.products import KnownCategory, category_list
from shared.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_SECONDS = 10
# Reasoning models spend part of this on thinking before the answer (about 150 tokens).
MAX_ANSWER_TOKENS = 4000


class SeasonAnswer(BaseModel):
    """The JSON schema the model must fill: every field present, null when the text is silent."""

    model_config = ConfigDict(extra="forbid")

    forecast_horizon_weeks: int | None = Field(
        description="Season length in whole weeks (3 months = 13 weeks, 6 months = 26); "
        "null if the text gives neither a length nor an end date."
    )
    season_start_date: str | None = Field(
        description="First day of the season as YYYY-MM-DD; null if not stated."
    )
    replenishment_strategy: str | None = Field(
        description="'none', 'weekly' or 'bi-weekly' as stated (any other cadence verbatim, "
        "e.g. 'monthly'); null if not stated."
    )
    dc_holdback_percentage: float | None = Field(
        description="Share of inventory held back at the distribution center as a fraction "
        "(15% -> 0.15, no holdback -> 0.0); null if not stated."
    )
    unit_target: int | None = Field(description="Total units to plan for; null if not stated.")
    markdown_checkpoint_week: int | None = Field(
        description="Season week at which sell-through is checked for markdowns; "
        "null if not stated."
    )
    markdown_threshold: float | None = Field(
        description="Sell-through fraction below which to mark down (60% -> 0.6); "
        "null if not stated."
    )
    reasoning: str = Field(description="One or two sentences: which words gave which value.")
    product_as_written: str | None = Field(
        None,
        description="The product or category the season is for, copied exactly as the text "
        "writes it (e.g. 'Dresses', 'denim'); null if the text names none or only a generic "
        "word (fashion, apparel, merchandise, season).",
    )
    year_reasoning: str | None = Field(
        None,
        description="How the start date's year was decided: the words that name it (a full "
        "date, a season such as 'Spring 2025' or 'FW25'), or 'assumed <year>: the text names "
        "no year'.",
    )


SYSTEM_PROMPT = """You extract retail season-planning parameters from a planner's description.
Today is {today}. Report only what the text states or directly implies; never invent a value:
use null for anything the text does not give. Percentages are fractions (15% -> 0.15). A season
given by an end date has length (end - start) / 7 weeks.
Years: an explicit full date always wins ("March 3, 2026"). A day without a year takes the
year of the season the text names ("Spring 2025 ... from March 3" -> 2025-03-03; "FW25", "AW25"
= Fall/Winter 2025, "SS26" = Spring/Summer 2026, "HO25" = Holiday 2025, "summer '26" = 2026,
"Q3 2025" starts 2025-07-01, "first half of 2026" starts 2026-01-01). January to June of a
Fall/Winter, Fall, Winter or Holiday season fall in the following year (FW25 from January 5 ->
2026-01-05). Resort 2026 reaches stores in November 2025. A season named without a day starts on
its default day: Spring March 1, Summer June 1, Spring/Summer February 1, Pre-fall June 1, Back
to school July 15, Fall September 1, Fall/Winter August 1, Winter December 1, Holiday November
1, Resort November 1 of the year before. Only when nothing names a year, take the next such
date on or after today, and say so in year_reasoning. Resolve relative dates ("next Monday")
against today.
Product: copy the product the season is for exactly as written, whether or not it is one of the
known categories ({categories}); never replace it with another.
Replenishment: "weekly shipments" -> weekly; "bi-weekly", "every two weeks", "fortnightly" ->
bi-weekly; "no replenishment", "one initial allocation" -> none. Holdback: "no DC holdback",
"all inventory to stores" -> 0.0. Copy out-of-range values as stated (e.g. 60 weeks, 1.5 for
150%); they are checked later."""

FEW_SHOT: tuple[tuple[str, SeasonAnswer], ...] = (
    (
        "I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly replenishment. "
        "15% DC holdback.",
        SeasonAnswer(
            forecast_horizon_weeks=12,
            season_start_date="2025-01-01",
            replenishment_strategy="weekly",
            dc_holdback_percentage=0.15,
            unit_target=8000,
            markdown_checkpoint_week=None,
            markdown_threshold=None,
            reasoning="'12 weeks' is the horizon, 'Jan 1, 2025' the start (season ends "
            "2025-03-26), 'Weekly replenishment', '15% DC holdback', '8000 units'.",
        ),
    ),
    (
        "6-month season from March 3, 2025, shipments every two weeks, all inventory to "
        "stores. Mark down at week 10 if sell-through is below 55%.",
        SeasonAnswer(
            forecast_horizon_weeks=26,
            season_start_date="2025-03-03",
            replenishment_strategy="bi-weekly",
            dc_holdback_percentage=0.0,
            unit_target=None,
            markdown_checkpoint_week=10,
            markdown_threshold=0.55,
            reasoning="'6-month' is 26 weeks, 'every two weeks' is bi-weekly, 'all inventory "
            "to stores' means no holdback, checkpoint week 10 at 55% sell-through.",
        ),
    ),
    (
        "FW25 outerwear: 16 weeks from January 5, weekly replenishment, no DC holdback.",
        SeasonAnswer(
            forecast_horizon_weeks=16,
            season_start_date="2026-01-05",
            replenishment_strategy="weekly",
            dc_holdback_percentage=0.0,
            unit_target=None,
            markdown_checkpoint_week=None,
            markdown_threshold=None,
            reasoning="'16 weeks', 'January 5' in FW25, 'weekly replenishment', 'no DC holdback'.",
            product_as_written="outerwear",
            year_reasoning="FW25 is Fall/Winter 2025, whose January falls in 2026.",
        ),
    ),
    (
        "Weekly replenishment and hold back 10% at the DC.",
        SeasonAnswer(
            forecast_horizon_weeks=None,
            season_start_date=None,
            replenishment_strategy="weekly",
            dc_holdback_percentage=0.1,
            unit_target=None,
            markdown_checkpoint_week=None,
            markdown_threshold=None,
            reasoning="Cadence and holdback are stated; the text gives no season length and "
            "no start date.",
        ),
    ),
)


def _uses_azure(settings: Settings) -> bool:
    return bool(settings.azure_openai_endpoint)


def _uses_identity(settings: Settings) -> bool:
    return _uses_azure(settings) and not settings.azure_openai_api_key


def model_name(settings: Settings) -> str:
    return settings.azure_openai_deployment if _uses_azure(settings) else settings.openai_model


class _ClientOptions(TypedDict):
    """What every client kind (Azure with a key, Azure keyless, OpenAI) is built with."""

    timeout: float
    max_retries: int
    http_client: httpx2.Client | None


def azure_v1_base_url(endpoint: str) -> str:
    """The Azure OpenAI v1 API under a resource endpoint: `https://<name>.openai.azure.com/openai/v1/`.

    Microsoft Learn, "Azure OpenAI in Microsoft Foundry Models v1 API" (api-version-lifecycle):
    since August 2025 the v1 API takes the plain OpenAI client with this base URL, no dated
    `api-version`, and the deployment name as `model`; its Python samples authenticate with
    `api_key=<key>` or `api_key=get_bearer_token_provider(credential, cognitive services scope)`.
    """
    return f"{endpoint.rstrip('/')}/openai/v1/"


def build_client(
    settings: Settings,
    http_client: httpx2.Client | None = None,
    credential: TokenCredential | None = None,
) -> openai.OpenAI:
    """The SDK client, with the timeout and retry budget from settings (the SDK default is a
    600 s timeout). Build once per process and reuse: it holds the connection pool.
    `credential` replaces the managed identity for keyless Azure OpenAI.

    Azure OpenAI is called on its v1 API with the plain `openai.OpenAI` client rather than the
    dated `AzureOpenAI` paths: no preview API version paired with the model, and the same client
    class for Azure and OpenAI. Keyless, `api_key` is the Entra token provider, which the SDK
    (openai 3.54.0, `_refresh_api_key`) calls before every request, so tokens refresh."""
    common = _ClientOptions(
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        http_client=http_client,
    )
    if settings.azure_openai_endpoint:
        if settings.azure_openai_api_key:
            return openai.OpenAI(
                base_url=azure_v1_base_url(settings.azure_openai_endpoint),
                api_key=settings.azure_openai_api_key.get_secret_value(),
                **common,
            )
        from azure.identity import get_bearer_token_provider

        return openai.OpenAI(
            base_url=azure_v1_base_url(settings.azure_openai_endpoint),
            api_key=get_bearer_token_provider(
                credential or default_credential(), COGNITIVE_SERVICES_SCOPE
            ),
            **common,
        )
    if settings.openai_api_key is None:
        raise not_configured()
    return openai.OpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        **common,
    )


def not_configured() -> LanguageModelUnavailableError:
    return LanguageModelUnavailableError(
        "No language model is configured.",
        details={"settings": ["AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_KEY"]},
        suggestions=[
            "Set AZURE_OPENAI_ENDPOINT (with AZURE_OPENAI_API_KEY, or keyless through the "
            "managed identity) or OPENAI_API_KEY, or set EXTRACTOR=rules to use the "
            "deterministic parser."
        ],
    )


def messages_for(
    text: str, today: date, categories: Sequence[KnownCategory] = ()
) -> list[ChatCompletionMessageParam]:
    """System rules (today's date, the known categories), the few-shot pairs, then the text."""
    known = category_list(categories, with_aliases=True) or "none loaded"
    system = SYSTEM_PROMPT.format(today=today.isoformat(), categories=known)
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": system}]
    for example, answer in FEW_SHOT:
        messages.append({"role": "user", "content": example})
        messages.append({"role": "assistant", "content": answer.model_dump_json()})
    messages.append({"role": "user", "content": text})
    return messages


def extract(
    text: str,
    client: openai.OpenAI,
    settings: Settings,
    today: date,
    categories: Sequence[KnownCategory] = (),
) -> Draft:
    """Ask the model and turn its answer into a Draft (raising documented errors only)."""
    try:
        completion = client.chat.completions.parse(
            model=model_name(settings),
            messages=messages_for(text, today, categories),
            response_format=SeasonAnswer,
            # Only parameters every chat model accepts: reasoning models (GPT-5 family) refuse
            # `max_tokens` and any temperature but their default.
            max_completion_tokens=MAX_ANSWER_TOKENS,
            timeout=settings.llm_timeout_seconds,
        )
    except (openai.OpenAIError, ValidationError, ClientAuthenticationError) as exc:
        raise map_error(exc, settings) from None
    message = completion.choices[0].message
    if message.refusal:
        raise ParameterExtractionError(
            "The language model declined to read this strategy description.",
            details={"reason": "refusal", "refusal": message.refusal[:300]},
            suggestions=[
                "Describe only the season: length, start date, replenishment and DC holdback."
            ],
        )
    if message.parsed is None:
        raise _unreadable("the answer was empty")
    return to_draft(message.parsed)


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CADENCES = {
    "none": "none",
    "weekly": "weekly",
    "bi-weekly": "bi-weekly",
    "biweekly": "bi-weekly",
    "bi weekly": "bi-weekly",
    "fortnightly": "bi-weekly",
}


def to_draft(answer: SeasonAnswer) -> Draft:
    """Plain-typed answer -> Draft; a malformed date or cadence is a problem, not a crash."""
    reasoning = answer.reasoning
    if answer.year_reasoning:
        reasoning = f"{reasoning} Year: {answer.year_reasoning}"
    draft = Draft(extractor="llm", reasoning=reasoning, product=answer.product_as_written)
    source = ""
    for name in (
        "forecast_horizon_weeks",
        "dc_holdback_percentage",
        "unit_target",
        "markdown_checkpoint_week",
        "markdown_threshold",
    ):
        value = getattr(answer, name)
        if value is not None:
            draft.findings[name] = Finding(value, source)
    if answer.season_start_date is not None:
        raw = answer.season_start_date.strip()
        try:
            if not _ISO.match(raw):
                raise ValueError(raw)
            draft.findings["season_start_date"] = Finding(date.fromisoformat(raw), source)
        except ValueError:
            draft.problems["season_start_date"] = f"'{raw[:40]}' is not a YYYY-MM-DD date"
    if answer.replenishment_strategy is not None:
        raw = answer.replenishment_strategy.strip().lower()
        if raw in _CADENCES:
            draft.findings["replenishment_strategy"] = Finding(_CADENCES[raw], source)
        else:
            draft.problems["replenishment_strategy"] = (
                f"'{raw[:40]}' is not one of none, weekly, bi-weekly"
            )
    return draft


def _unreadable(reason: str) -> ParameterExtractionError:
    return ParameterExtractionError(
        f"The language model's answer could not be used: {reason}.",
        status_code=422,
        details={"reason": reason},
        suggestions=["Retry the request; if it keeps failing, set EXTRACTOR=rules."],
    )


def retry_after_seconds(headers: httpx2.Headers | None, default: int) -> int:
    """Seconds the client should wait, from the upstream headers when they say, within 1-300."""
    if headers is not None:
        for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            try:
                value = float(headers.get(name, "")) * scale
            except ValueError:
                continue
            if not math.isnan(value):
                return math.ceil(min(max(value, 1), 300))
    return default


def _unavailable(reason: str, retry_after: int, details: dict[str, object]) -> AppError:
    return LanguageModelUnavailableError(
        f"The language model is unavailable ({reason}).",
        details={"reason": reason, "retry_after_seconds": retry_after, **details},
        suggestions=[
            f"Retry in {retry_after} seconds, or set EXTRACTOR=rules to use the "
            "deterministic parser."
        ],
        headers={"Retry-After": str(retry_after)},
    )


def _misconfigured(setting: str, reason: str, status: int) -> AppError:
    return LanguageModelUnavailableError(
        f"The language model endpoint is misconfigured ({reason}); check the {setting} app "
        "setting.",
        details={"reason": reason, "setting": setting, "upstream_status": status},
        suggestions=[f"Fix the {setting} app setting, or set EXTRACTOR=rules."],
    )


def map_error(exc: Exception, settings: Settings) -> AppError:
    """One SDK exception -> the documented error. Upstream messages are never passed on: an
    authentication error can echo part of the key."""
    azure = _uses_azure(settings)
    if isinstance(exc, ClientAuthenticationError):
        logger.warning("No Entra token for Azure OpenAI: %s", type(exc).__name__)
        return _misconfigured("AZURE_CLIENT_ID", "no managed identity token", 401)
    if isinstance(exc, openai.LengthFinishReasonError):
        return _unreadable("the answer was cut off at the token limit")
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return ParameterExtractionError(
            "The strategy description was blocked by the content filter.",
            details={"reason": "content_filter"},
            suggestions=["Rephrase the description in plain planning terms."],
        )
    if isinstance(exc, ValidationError):
        return _unreadable("the answer did not match the parameter schema")
    if isinstance(exc, openai.APITimeoutError):
        return _unavailable(
            f"no answer within {settings.llm_timeout_seconds:g} s", DEFAULT_RETRY_AFTER_SECONDS, {}
        )
    if isinstance(exc, openai.APIConnectionError):
        return _unavailable("connection failed", DEFAULT_RETRY_AFTER_SECONDS, {})
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        logger.warning("Language model answered HTTP %s", status)
        if status in (401, 403):
            if _uses_identity(settings):
                return _misconfigured(
                    "AZURE_CLIENT_ID",
                    "identity rejected: it needs the Cognitive Services OpenAI User role",
                    status,
                )
            key = "AZURE_OPENAI_API_KEY" if azure else "OPENAI_API_KEY"
            return _misconfigured(key, "credentials rejected", status)
        if status == 404:
            setting = "AZURE_OPENAI_DEPLOYMENT" if azure else "OPENAI_MODEL"
            return _misconfigured(setting, f"model '{model_name(settings)}' not found", status)
        if status == 400:
            code = getattr(exc, "code", None)
            if code == "content_filter":
                return ParameterExtractionError(
                    "The strategy description was blocked by the content filter.",
                    details={"reason": "content_filter"},
                    suggestions=["Rephrase the description in plain planning terms."],
                )
            setting = "AZURE_OPENAI_DEPLOYMENT" if azure else "OPENAI_MODEL"
            return _misconfigured(
                setting, "request rejected (structured outputs unsupported?)", status
            )
        default = 30 if status == 429 else DEFAULT_RETRY_AFTER_SECONDS
        reason = "rate limited" if status == 429 else f"upstream HTTP {status}"
        return _unavailable(
            reason, retry_after_seconds(exc.response.headers, default), {"upstream_status": status}
        )
    return _unavailable(type(exc).__name__, DEFAULT_RETRY_AFTER_SECONDS, {})
