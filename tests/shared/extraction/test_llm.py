"""The LLM extractor through the real openai SDK, with only the wire replaced.

openai 3.x sends through `httpx2`, so the endpoint is an `httpx2.MockTransport` handed to the SDK
as `http_client`: request building, retries, structured-output parsing and error classes are the
SDK's own.
"""

import json
from datetime import date
from typing import Any

import httpx2
import pytest

from shared.errors import (
    InvalidParametersError,
    LanguageModelUnavailableError,
    ParameterExtractionError,
)
from shared.extraction import extract_parameters, language_model_client
from shared.settings import Settings
from tests.support.extraction import ANSWER, KEY, SPEC, completion

TODAY = date(2024, 11, 4)


def azure(**overrides) -> Settings:
    values: dict[str, Any] = {
        "extractor": "auto",
        "azure_openai_endpoint": "https://contoso.openai.azure.com",
        "azure_openai_api_key": KEY,
        "llm_max_retries": 0,
        "llm_timeout_seconds": 7.5,
    }
    return Settings(**(values | overrides))


class Upstream:
    """Answers each request with the next queued response and records what it was sent."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self))

    def body(self, i: int = 0) -> dict:
        return json.loads(self.requests[i].content)


def ok(content: dict | str, **kw) -> httpx2.Response:
    text = content if isinstance(content, str) else json.dumps(content)
    return httpx2.Response(200, json=completion(text, **kw))


def error(status: int, body: dict | None = None, headers: dict | None = None) -> httpx2.Response:
    return httpx2.Response(status, json=body or {"error": {"message": "nope"}}, headers=headers)


def run(upstream: Upstream, settings: Settings | None = None, text: str = SPEC):
    return extract_parameters(text, settings or azure(), today=TODAY, http_client=upstream.client())


def test_azure_request_is_a_strict_structured_output_call_on_the_deployment():
    upstream = Upstream(ok(ANSWER))
    params = run(upstream)
    request = upstream.requests[0]
    assert request.method == "POST"
    assert request.url.host == "contoso.openai.azure.com"
    # The v1 API: one path for every deployment, no dated api-version, the deployment as model.
    assert request.url.path == "/openai/v1/chat/completions"
    assert "api-version" not in request.url.params
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-stainless-read-timeout"] == "7.5"
    body = upstream.body()
    assert body["model"] == "gpt-5.4-mini"
    # Parameters every chat model accepts, reasoning models included: no temperature, no max_tokens.
    assert "temperature" not in body and "max_tokens" not in body
    assert body["max_completion_tokens"] > 0
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema_text = json.dumps(fmt["json_schema"]["schema"])
    for banned in ('"minimum"', '"maximum"', '"format"', '"exclusiveMinimum"'):
        assert banned not in schema_text
    assert set(fmt["json_schema"]["schema"]["required"]) >= {
        "forecast_horizon_weeks",
        "season_start_date",
        "replenishment_strategy",
        "dc_holdback_percentage",
    }
    messages = body["messages"]
    assert messages[0]["role"] == "system" and "2024-11-04" in messages[0]["content"]
    assert messages[-1] == {"role": "user", "content": SPEC}
    few_shot = json.loads(messages[2]["content"])
    assert few_shot["season_start_date"] == "2025-01-01"
    assert few_shot["forecast_horizon_weeks"] == 12
    assert params.model_dump(mode="json") | {"extraction_reasoning": None} == {
        "forecast_horizon_weeks": 12,
        "season_start_date": "2025-01-01",
        "season_end_date": "2025-03-26",
        "replenishment_strategy": "weekly",
        "dc_holdback_percentage": 0.15,
        "extraction_reasoning": None,
        "confidence_score": 0.96,
        "markdown_checkpoint_week": None,
        "markdown_threshold": None,
        "unit_target": 8000,
    }
    assert "rules extractor agrees on forecast_horizon_weeks" in params.extraction_reasoning
    assert "Model's reasoning: '12 weeks'" in params.extraction_reasoning


def test_disagreement_with_the_rules_lowers_confidence_and_names_the_field():
    upstream = Upstream(ok(ANSWER | {"forecast_horizon_weeks": 13}))
    params = run(upstream)
    assert params.forecast_horizon_weeks == 13  # the model's answer stands
    assert params.confidence_score < 0.8
    assert "disagrees on forecast_horizon_weeks (llm 13, rules 12)" in params.extraction_reasoning


def test_openai_compatible_server_gets_bearer_auth_and_the_configured_model():
    settings = Settings(
        openai_api_key=KEY,
        openai_base_url="http://llm.internal:8000/v1",
        openai_model="llama-3.1-8b",
        llm_max_retries=0,
    )
    upstream = Upstream(ok(ANSWER))
    assert run(upstream, settings).dc_holdback_percentage == 0.15
    request = upstream.requests[0]
    assert str(request.url) == "http://llm.internal:8000/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert upstream.body()["model"] == "llama-3.1-8b"


def test_model_saying_a_field_is_missing_is_a_400_like_the_rules():
    upstream = Upstream(ok(ANSWER | {"season_start_date": None, "forecast_horizon_weeks": None}))
    with pytest.raises(ParameterExtractionError) as info:
        run(upstream, text="Weekly replenishment, 15% DC holdback, 8000 units.")
    err = info.value
    assert err.status_code == 400
    assert err.details["missing_parameters"] == ["forecast_horizon_weeks", "season_start_date"]
    assert err.details["extracted_parameters"]["dc_holdback_percentage"] == 0.15
    assert err.details["extractor"] == "llm"


@pytest.mark.parametrize(
    "answer,field",
    [
        (ANSWER | {"forecast_horizon_weeks": 60}, "forecast_horizon_weeks"),
        (ANSWER | {"dc_holdback_percentage": 1.5}, "dc_holdback_percentage"),
        (ANSWER | {"season_start_date": "2025-02-30"}, "season_start_date"),
        (ANSWER | {"season_start_date": "Jan 1st"}, "season_start_date"),
        (ANSWER | {"replenishment_strategy": "monthly"}, "replenishment_strategy"),
    ],
)
def test_out_of_contract_answers_are_422_naming_the_field(answer, field):
    with pytest.raises(InvalidParametersError) as info:
        run(Upstream(ok(answer)))
    assert info.value.status_code == 422
    assert field in info.value.details["invalid_parameters"]


def test_refusal_is_a_400_with_the_reason():
    upstream = Upstream(httpx2.Response(200, json=completion(None, refusal="I can't help.")))
    with pytest.raises(ParameterExtractionError) as info:
        run(upstream)
    assert info.value.status_code == 400 and info.value.details["reason"] == "refusal"


def test_truncated_answer_is_a_422():
    with pytest.raises(ParameterExtractionError) as info:
        run(Upstream(ok('{"forecast_horizon_weeks": 12, "seas', finish_reason="length")))
    assert info.value.status_code == 422 and "cut off" in info.value.message


@pytest.mark.parametrize("content", ["Sure! 12 weeks starting Jan 1.", '{"weeks": 12}', "[]"])
def test_garbage_content_is_a_422(content):
    with pytest.raises(ParameterExtractionError) as info:
        run(Upstream(ok(content)))
    assert info.value.status_code == 422
    assert info.value.details["reason"] == "the answer did not match the parameter schema"


def test_content_filter_on_the_prompt_is_a_400():
    body = {"error": {"code": "content_filter", "message": "filtered"}}
    with pytest.raises(ParameterExtractionError) as info:
        run(Upstream(error(400, body)))
    assert info.value.status_code == 400 and info.value.details["reason"] == "content_filter"


def test_rate_limit_is_503_with_the_upstream_retry_after():
    upstream = Upstream(error(429, headers={"retry-after": "7"}))
    with pytest.raises(LanguageModelUnavailableError) as info:
        run(upstream)
    err = info.value
    assert err.status_code == 503 and err.headers == {"Retry-After": "7"}
    assert "Retry in 7 seconds" in err.suggestions[0]
    assert len(upstream.requests) == 1  # llm_max_retries=0


def test_bounded_retries_then_503():
    upstream = Upstream(error(429, headers={"retry-after-ms": "5"}))
    with pytest.raises(LanguageModelUnavailableError) as info:
        run(upstream, azure(llm_max_retries=2))
    assert len(upstream.requests) == 3
    assert info.value.headers == {"Retry-After": "1"}


def test_retry_recovers_from_one_server_error():
    upstream = Upstream(error(500, headers={"retry-after-ms": "5"}), ok(ANSWER))
    assert run(upstream, azure(llm_max_retries=1)).forecast_horizon_weeks == 12
    assert [r.headers["x-stainless-retry-count"] for r in upstream.requests] == ["0", "1"]


def test_server_error_is_503_with_a_default_retry_after():
    with pytest.raises(LanguageModelUnavailableError) as info:
        run(Upstream(error(502)))
    assert info.value.headers == {"Retry-After": "10"}
    assert info.value.details["upstream_status"] == 502


def test_timeout_is_503():
    with pytest.raises(LanguageModelUnavailableError) as info:
        run(Upstream(httpx2.ReadTimeout("slow")))
    assert "7.5 s" in info.value.message and info.value.headers["Retry-After"] == "10"


def test_connection_error_is_503():
    with pytest.raises(LanguageModelUnavailableError) as info:
        run(Upstream(httpx2.ConnectError("refused")))
    assert info.value.status_code == 503 and "Retry-After" in info.value.headers


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_names_the_setting_never_the_key(status):
    body = {"error": {"message": f"Incorrect API key provided: {KEY}", "code": "invalid_api_key"}}
    with pytest.raises(LanguageModelUnavailableError) as info:
        run(Upstream(error(status, body)))
    err = info.value
    assert "AZURE_OPENAI_API_KEY" in err.message
    dumped = err.to_response("rid").model_dump_json() + str(err.headers)
    assert KEY not in dumped and KEY[:12] not in dumped
    assert "Retry-After" not in err.headers  # retrying will not fix a bad key


def test_unknown_deployment_names_the_deployment_setting():
    with pytest.raises(LanguageModelUnavailableError) as info:
        run(Upstream(error(404)), azure(azure_openai_deployment="gpt-4o-typo"))
    assert "AZURE_OPENAI_DEPLOYMENT" in info.value.message and "gpt-4o-typo" in info.value.message


def test_openai_key_rejected_names_openai_api_key():
    settings = Settings(openai_api_key=KEY, llm_max_retries=0)
    with pytest.raises(LanguageModelUnavailableError) as info:
        run(Upstream(error(401)), settings)
    assert "OPENAI_API_KEY" in info.value.message and "AZURE" not in info.value.message


def test_llm_mode_without_a_model_configured_is_503_naming_the_settings():
    upstream = Upstream(ok(ANSWER))
    with pytest.raises(LanguageModelUnavailableError) as info:
        run(upstream, Settings(extractor="llm"))
    assert "AZURE_OPENAI_ENDPOINT" in info.value.suggestions[0]
    assert upstream.requests == []


def test_auto_mode_without_a_model_uses_the_rules_and_sends_nothing():
    upstream = Upstream(ok(ANSWER))
    params = run(upstream, Settings(extractor="auto"))
    assert params.extraction_reasoning.startswith("Rules extractor")
    assert upstream.requests == []


def test_rules_mode_ignores_a_configured_model():
    upstream = Upstream(ok(ANSWER))
    run(upstream, azure(extractor="rules"))
    assert upstream.requests == []


def test_client_is_built_once_per_configuration():
    settings = azure()
    assert language_model_client(settings) is language_model_client(azure())
    assert language_model_client(settings) is not language_model_client(
        azure(azure_openai_deployment="other")
    )


def test_the_prompt_carries_today_the_known_categories_and_the_season_year_rules():
    from shared.extraction import read_strategy
    from tests.support.phrasings import CATEGORIES

    text = "FW25 outerwear: 16 weeks from January 5, weekly replenishment, no DC holdback."
    answer = ANSWER | {
        "forecast_horizon_weeks": 16,
        "season_start_date": "2026-01-05",
        "dc_holdback_percentage": 0.0,
        "unit_target": None,
        "product_as_written": "outerwear",
        "year_reasoning": "FW25 is Fall/Winter 2025; its January falls in 2026.",
    }
    upstream = Upstream(ok(answer))
    reading = read_strategy(
        text, azure(), today=TODAY, categories=CATEGORIES, http_client=upstream.client()
    )
    system = upstream.body()["messages"][0]["content"]
    assert "Today is 2024-11-04." in system
    assert (
        "Denim (denim; also jeans), Graphic tees (graphic_tees), "
        "Outerwear (outerwear; also coat, jacket, parka)"
    ) in system
    assert "an explicit full date always wins" in system
    assert "Fall/Winter, Fall, Winter or Holiday season fall in the following year" in system
    schema = upstream.body()["response_format"]["json_schema"]["schema"]
    assert {"product_as_written", "year_reasoning"} <= set(schema["required"])
    assert reading.category_id == "outerwear" and reading.field_sources["category_id"] == "stated"
    assert reading.parameters.season_start_date.isoformat() == "2026-01-05"
    assert "Year: FW25 is Fall/Winter 2025" in (reading.parameters.extraction_reasoning or "")


def test_when_the_model_contradicts_the_text_the_text_wins_and_says_so():
    """The text states 'Spring 2025 ... March 3' and 'swimwear'; the model answers the next
    March 3 and denim. What the text states wins, the reasoning says the model was overruled,
    and the confidence drops."""
    from shared.extraction import read_strategy
    from tests.support.phrasings import CATEGORIES

    text = "Spring 2025 swimwear: 12 weeks from March 3, weekly replenishment, 15% DC holdback."
    answer = ANSWER | {
        "season_start_date": "2025-03-03",
        "unit_target": None,
        "product_as_written": "swimwear",
    }
    agreeing = read_strategy(
        text, azure(), today=TODAY, categories=CATEGORIES, http_client=Upstream(ok(answer)).client()
    )
    wrong = answer | {"season_start_date": "2026-03-03", "product_as_written": "denim"}
    reading = read_strategy(
        text, azure(), today=TODAY, categories=CATEGORIES, http_client=Upstream(ok(wrong)).client()
    )
    params = reading.parameters
    assert params.season_start_date.isoformat() == "2025-03-03"
    assert reading.field_sources["season_start_date"] == "stated"
    assert reading.category_id == "swimwear"
    reasoning = params.extraction_reasoning or ""
    assert "the model answered 2026-03-03" in reasoning
    assert "The text overrules the model on season_start_date." in reasoning
    assert (params.confidence_score or 0) < (agreeing.parameters.confidence_score or 0)


def test_a_model_product_the_text_does_not_contain_is_ignored():
    from shared.extraction import read_strategy
    from tests.support.phrasings import CATEGORIES

    text = "12 weeks from March 3, 2025, weekly replenishment, 15% DC holdback."
    answer = ANSWER | {"season_start_date": "2025-03-03", "product_as_written": "Dresses"}
    reading = read_strategy(
        text, azure(), today=TODAY, categories=CATEGORIES, http_client=Upstream(ok(answer)).client()
    )
    assert reading.category_id is None and reading.field_sources["category_id"] == "not_mentioned"
