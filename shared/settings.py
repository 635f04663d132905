"""Every setting the app reads, with its default, in one place.

Azure Functions exposes app settings (and `local.settings.json` "Values" under Core Tools) as
environment variables, so pydantic-settings reads them from the environment. Tests build a
`Settings(...)` directly instead of patching the environment.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.upper(), name.lower())


class Settings(BaseSettings):
    """App settings; the field alias is the app-setting name."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, case_sensitive=False)

    database_url: str = Field(
        "sqlite:///./fashion_forecast.db", validation_alias=_env("DATABASE_URL")
    )

    # The connection pool of each process (shared/data/db.py; SQLite ignores it). In Azure every
    # Flex Consumption instance holds its own pool: instances x (size + overflow) must fit the
    # server's user connections, which tests/test_infra.py checks against the template.
    db_pool_size: int = Field(5, ge=1, le=100, validation_alias=_env("DB_POOL_SIZE"))
    db_max_overflow: int = Field(10, ge=0, le=100, validation_alias=_env("DB_MAX_OVERFLOW"))
    db_pool_timeout_seconds: float = Field(
        30.0, gt=0, validation_alias=_env("DB_POOL_TIMEOUT_SECONDS")
    )
    db_pool_pre_ping: bool = Field(True, validation_alias=_env("DB_POOL_PRE_PING"))
    # Below the 4-minute idle timeout Azure's network applies to outbound TCP connections, so a
    # pooled connection is replaced before a silently dropped one can be handed out.
    db_pool_recycle_seconds: int = Field(
        180, ge=1, validation_alias=_env("DB_POOL_RECYCLE_SECONDS")
    )
    # A new connection's Entra token is fetched again once the cached one is this close to expiry.
    db_token_refresh_margin_seconds: int = Field(
        300, ge=0, le=3000, validation_alias=_env("DB_TOKEN_REFRESH_MARGIN_SECONDS")
    )

    extractor: Literal["auto", "llm", "rules"] = Field("auto", validation_alias=_env("EXTRACTOR"))
    azure_openai_endpoint: str | None = Field(None, validation_alias=_env("AZURE_OPENAI_ENDPOINT"))
    azure_openai_api_key: SecretStr | None = Field(
        None, validation_alias=_env("AZURE_OPENAI_API_KEY")
    )
    # The template's deployment (infra/core/openai.bicep), called on the v1 API (no dated API
    # version: shared/extraction/llm.py) with the deployment name as the model.
    azure_openai_deployment: str = Field(
        "gpt-5.4-mini", validation_alias=_env("AZURE_OPENAI_DEPLOYMENT")
    )
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    openai_model: str = Field("gpt-5.4-mini", validation_alias=_env("OPENAI_MODEL"))
    llm_timeout_seconds: float = Field(20.0, gt=0, validation_alias=_env("LLM_TIMEOUT_SECONDS"))
    llm_max_retries: int = Field(2, ge=0, le=5, validation_alias=_env("LLM_MAX_RETRIES"))

    # No default: a published constant key would be one a forgotten setting makes the deployed
    # app sign with. The local stack generates a key per start (localdev/stack.py).
    webpubsub_connection_string: SecretStr | None = Field(
        None, validation_alias=_env("WebPubSubConnectionString")
    )
    webpubsub_endpoint: str | None = Field(
        None, pattern=r"^(https?://.+)?$", validation_alias=_env("WebPubSubEndpoint")
    )
    webpubsub_hub: str = Field("season_planning", validation_alias=_env("WebPubSubHub"))
    negotiate_token_minutes: int = Field(
        60, ge=1, le=1440, validation_alias=_env("NEGOTIATE_TOKEN_MINUTES")
    )
    heartbeat_window_minutes: int = Field(
        60, ge=1, le=1440, validation_alias=_env("HEARTBEAT_WINDOW_MINUTES")
    )

    demand_agent_timeout_seconds: float = Field(
        30.0, gt=0, validation_alias=_env("DEMAND_AGENT_TIMEOUT_SECONDS")
    )
    inventory_agent_timeout_seconds: float = Field(
        30.0, gt=0, validation_alias=_env("INVENTORY_AGENT_TIMEOUT_SECONDS")
    )
    pricing_agent_timeout_seconds: float = Field(
        30.0, gt=0, validation_alias=_env("PRICING_AGENT_TIMEOUT_SECONDS")
    )
    agent_max_attempts: int = Field(3, ge=1, le=10, validation_alias=_env("AGENT_MAX_ATTEMPTS"))
    agent_retry_interval_ms: int = Field(
        1000, ge=1, validation_alias=_env("AGENT_RETRY_INTERVAL_MS")
    )
    # Admission (shared/data/admission.py): how many plans one planner may have running; one
    # more is a 429 with Retry-After, so one planner's flood never holds up everyone else.
    max_running_plans_per_user: int = Field(
        3, ge=1, le=1000, validation_alias=_env("MAX_RUNNING_PLANS_PER_USER")
    )

    def longest_plan_seconds(self) -> float:
        """How long a plan can possibly run: every agent's deadline (each covers all its
        attempts) back to back, plus a minute for the orchestrator's own steps."""
        return (
            self.demand_agent_timeout_seconds
            + self.inventory_agent_timeout_seconds
            + self.pricing_agent_timeout_seconds
            + 60.0
        )

    # A live season pushes `actuals_late` when a week's actuals are this many days overdue
    # after the week ended (docs/seasons.md).
    season_actuals_late_days: float = Field(
        3.0, ge=0, le=60, allow_inf_nan=False, validation_alias=_env("SEASON_ACTUALS_LATE_DAYS")
    )

    # The activity process's context cache (shared/data/context.py): category histories held
    # in memory, least recently used dropped first once they exceed this many MiB.
    context_cache_mb: int = Field(512, ge=1, le=65_536, validation_alias=_env("CONTEXT_CACHE_MB"))

    # The DC's replenishment policy (activities/planning/replenishment.py): each store topped up
    # to cover its forecast until the next delivery (or this many weeks), plus safety stock in
    # weeks of that forecast; deliveries arrive this many weeks after they ship.
    replenishment_cover_weeks: int | None = Field(
        None, ge=1, le=26, validation_alias=_env("REPLENISHMENT_COVER_WEEKS")
    )
    replenishment_safety_weeks: float = Field(
        0.5, ge=0, le=8, validation_alias=_env("REPLENISHMENT_SAFETY_WEEKS")
    )
    replenishment_transit_weeks: int = Field(
        0, ge=0, le=4, validation_alias=_env("REPLENISHMENT_TRANSIT_WEEKS")
    )

    # Local runtime only (localdev/durable): latency added to every activity dispatch, timer and
    # orchestrator episode, the storage-queue round trip each costs on Azure; 0 = none.
    local_hop_delay_ms: float = Field(
        0.0, ge=0, le=10_000, validation_alias=_env("LOCAL_HOP_DELAY_MS")
    )

    # Telemetry (shared/telemetry): Application Insights through the Azure Monitor distro when
    # the connection string is set (the template sets it); locally, console or OTLP export.
    applicationinsights_connection_string: SecretStr | None = Field(
        None, validation_alias=_env("APPLICATIONINSIGHTS_CONNECTION_STRING")
    )
    otel_traces_exporter: str = Field("none", validation_alias=_env("OTEL_TRACES_EXPORTER"))

    # Where clients reach the app (`https://plans.example.com`): the absolute base of the URLs
    # responses carry (Location, status_url, ...). Unset, they are paths relative to the host
    # the client called; never taken from the request's Host header.
    public_base_url: str | None = Field(
        None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$", validation_alias=_env("PUBLIC_BASE_URL")
    )

    # How long an HTTP request's database statements wait for a lock before the request
    # answers 503 DATABASE_UNAVAILABLE with Retry-After (shared/data/lock_wait.py).
    http_database_wait_ms: int = Field(
        2000, ge=1, le=60000, validation_alias=_env("HTTP_DATABASE_WAIT_MS")
    )

    # Identity (shared/identity.py). Under Core Tools, with no Easy Auth in front, a request
    # without a principal is this developer (every role); never honoured in Azure.
    local_developer_id: str | None = Field(None, validation_alias=_env("LOCAL_DEVELOPER_ID"))
    local_developer_name: str = Field(
        "Local Developer", validation_alias=_env("LOCAL_DEVELOPER_NAME")
    )
    # Set by the platform, never by hand: App Service injects WEBSITE_AUTH_ENABLED=True when
    # App Service Authentication is on, and WEBSITE_INSTANCE_ID / WEBSITE_SITE_NAME on every
    # app it runs (learn.microsoft.com/azure/app-service/reference-app-settings).
    website_auth_enabled: str | None = Field(None, validation_alias=_env("WEBSITE_AUTH_ENABLED"))
    website_instance_id: str | None = Field(None, validation_alias=_env("WEBSITE_INSTANCE_ID"))
    website_site_name: str | None = Field(None, validation_alias=_env("WEBSITE_SITE_NAME"))

    def webpubsub_connection(self) -> str:
        """The Web PubSub connection string; ValueError naming the setting when it is unset."""
        value = self.webpubsub_connection_string
        if value is None or not value.get_secret_value().strip():
            raise ValueError(
                "the WebPubSubConnectionString setting is not set "
                "(or set WebPubSubEndpoint to use an identity)"
            )
        return value.get_secret_value()

    @property
    def easy_auth_enabled(self) -> bool:
        """App Service Authentication is in front of the app (it strips client-sent X-MS-*
        headers and injects the signed-in caller's)."""
        return (self.website_auth_enabled or "").strip().lower() == "true"

    @property
    def running_in_azure(self) -> bool:
        """The app runs on App Service / Azure Functions infrastructure."""
        return bool(self.website_instance_id or self.website_site_name)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
