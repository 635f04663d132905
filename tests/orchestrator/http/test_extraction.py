"""POST /api/orchestrator/extract-parameters, invoked the way the Functions host invokes it.

The app is built from function_app.py, the function taken from its index, and called with an
azure.functions.HttpRequest. Settings come from the environment (as app settings do). The
language model, where one is used, is a local HTTP server speaking the chat-completions wire
format on 127.0.0.1, so the real SDK client, its connection pool and its error classes run.
"""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

import function_app
from localdev.sample_data import generate_sample, load_sample
from orchestrator.http.dependencies import overridden
from shared.data.db import dispose_engine, get_engine
from shared.data.schema import create_schema
from shared.extraction import language_model_client
from shared.schemas import RunWorkflowRequest, SeasonParameters
from shared.settings import Settings
from tests.support.errors import assert_error
from tests.support.extraction import ANSWER, KEY, SPEC, SPEC_FIELDS, completion
from tests.support.functions import call_http

ENV_NAMES = (
    "EXTRACTOR",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "LLM_MAX_RETRIES",
    "LLM_TIMEOUT_SECONDS",
)


@pytest.fixture(autouse=True)
def rules_env(monkeypatch, tmp_path):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EXTRACTOR", "rules")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    # Settings read from the environment at every call: a test may change a variable.
    with overridden(settings=Settings):
        yield monkeypatch


def post(body: bytes | str | dict, headers: dict | None = None) -> func.HttpResponse:
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    return call_http(
        function_app.app,
        "extract_parameters",
        body=body,
        headers={"content-type": "application/json", **(headers or {})},
    )


def payload(resp: func.HttpResponse) -> dict:
    return json.loads(resp.get_body())


class FakeModel:
    """A chat-completions endpoint on 127.0.0.1: each request gets the next queued answer."""

    def __init__(self, answers: list[tuple[int, dict, dict]]):
        self.answers = answers
        self.seen: list[tuple[str, str | None, int]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 5

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.seen.append(
                    (self.path, self.headers.get("authorization"), self.client_address[1])
                )
                queued = outer.answers
                status, headers, body = queued.pop(0) if len(queued) > 1 else queued[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"content-type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def use_azure(monkeypatch, endpoint: str) -> None:
    monkeypatch.setenv("EXTRACTOR", "auto")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("LLM_TIMEOUT_SECONDS", "5")


def test_spec_example_returns_the_parameters():
    resp = post({"strategy_description": SPEC})
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = payload(resp)
    assert {k: body[k] for k in SPEC_FIELDS} == SPEC_FIELDS
    assert body["confidence_score"] == 0.95 and body["extraction_reasoning"]
    assert resp.headers["x-request-id"]


def test_answer_says_where_each_value_came_from_and_can_be_sent_back():
    body = payload(
        post(
            {"strategy_description": "12-week season from next Monday, bi-weekly, 20% DC holdback"},
        )
    )
    assert body["field_sources"] == {
        "forecast_horizon_weeks": "stated",
        "season_start_date": "inferred",
        "replenishment_strategy": "stated",
        "dc_holdback_percentage": "stated",
        "season_end_date": "computed",
        "unit_target": "not_mentioned",
        "markdown_checkpoint_week": "not_mentioned",
        "markdown_threshold": "not_mentioned",
        "category_id": "not_mentioned",
    }
    assert body["unit_target"] is None and body["markdown_threshold"] is None
    assert body["category_id"] is None
    # The inferred start says why, in words; stated values need no note.
    assert list(body["field_notes"]) == ["season_start_date"]
    assert body["field_notes"]["season_start_date"].startswith("resolved from today ")
    # The whole answer is valid run-workflow parameters: the provenance is dropped, not rejected.
    params = SeasonParameters.model_validate(body)
    assert params.dc_holdback_percentage == 0.2 and "field_sources" not in params.model_dump()
    assert "field_notes" not in params.model_dump()


@pytest.fixture
def sample_categories(rules_env, tmp_path):
    """A database holding the sample's denim, outerwear and swimwear."""
    url = f"sqlite:///{tmp_path / 'sample.db'}"
    engine = get_engine(url)
    create_schema(engine)
    load_sample(engine, generate_sample(stores=3, weeks=8, categories=3))
    rules_env.setenv("DATABASE_URL", url)
    yield url
    dispose_engine(url)


def test_the_category_named_in_the_text_comes_back_with_its_source(sample_categories):
    text = "Swimwear for spring: 16-week season starting March 3, 2025, weekly, 10% DC holdback."
    body = payload(post({"strategy_description": text}))
    assert body["category_id"] == "swimwear"
    assert body["field_sources"]["category_id"] == "stated"
    assert body["season_start_date"] == "2025-03-03"
    assert "category_id=swimwear from 'Swimwear'" in body["extraction_reasoning"]
    # Sent back as the parameters, the category rides along to run-workflow.
    request = RunWorkflowRequest.model_validate({"session_id": "s1", "parameters": body})
    assert request.category_id == "swimwear"
    assert "category_id" not in request.parameters.model_dump()


def test_a_generic_product_leaves_the_category_to_the_default(sample_categories):
    text = "Spring 2025 fashion: 12 weeks from March 3, weekly, 10% DC holdback."
    body = payload(post({"strategy_description": text}))
    assert body["category_id"] is None
    assert body["field_sources"]["category_id"] == "not_mentioned"
    assert "the run uses the default category" in body["extraction_reasoning"]


def test_an_unknown_product_is_refused_in_words_listing_the_categories(sample_categories):
    text = "Dresses for spring 2025: 12 weeks from March 3, weekly, 10% DC holdback."
    error = assert_error(post({"strategy_description": text}), 422, "INVALID_PARAMETERS")
    assert error.message == (
        "The description plans 'Dresses', which is not a category with sales history. "
        "Categories that exist: Denim (denim), Outerwear (outerwear), Swimwear (swimwear)."
    )
    assert error.details["product"] == "Dresses"
    assert error.details["available_categories"] == ["denim", "outerwear", "swimwear"]
    assert any("Denim (denim)" in s for s in error.suggestions)


def test_caller_request_id_is_echoed():
    resp = post({"strategy_description": SPEC}, {"x-request-id": "planner-42"})
    assert resp.headers["x-request-id"] == "planner-42"


def test_incomplete_description_is_400_with_missing_and_found():
    resp = post(
        {"strategy_description": "Weekly replenishment, 10% DC holdback."},
        {"x-request-id": "rid-400"},
    )
    error = assert_error(resp, 400, "PARAMETER_EXTRACTION_ERROR")
    assert error.request_id == "rid-400"
    assert error.details["missing_parameters"] == ["forecast_horizon_weeks", "season_start_date"]
    assert error.details["extracted_parameters"] == {
        "replenishment_strategy": "weekly",
        "dc_holdback_percentage": 0.1,
    }
    assert len(error.suggestions) == 2


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json at all",
        b"\xff\xfe\x00",
        b"[1, 2, 3]",
        b'"just a string"',
        b"{}",
        b'{"strategy_description": 12}',
        b'{"strategy_description": null}',
        b'{"strategy_description": "too short"}',
        json.dumps({"strategy_description": "x" * 501}).encode(),
        json.dumps({"strategy_description": SPEC, "extra": 1}).encode(),
        json.dumps({"description": SPEC}).encode(),
    ],
    ids=[
        "empty",
        "not-json",
        "not-utf8",
        "array",
        "string",
        "no-field",
        "int",
        "null",
        "short",
        "long",
        "extra-field",
        "wrong-name",
    ],
)
def test_bad_bodies_are_422(raw):
    assert_error(post(raw), 422, "INVALID_PARAMETERS")


def test_out_of_contract_values_are_422_naming_the_field():
    resp = post({"strategy_description": "60 weeks starting Jan 1 2025, weekly, 10% DC holdback"})
    error = assert_error(resp, 422, "INVALID_PARAMETERS")
    assert "forecast_horizon_weeks" in error.details["invalid_parameters"]


def test_language_model_answer_through_the_endpoint(rules_env):
    with FakeModel([(200, {}, completion(ANSWER))]) as model:
        use_azure(rules_env, model.url)
        first = post({"strategy_description": SPEC})
        second = post({"strategy_description": SPEC})
    assert first.status_code == second.status_code == 200
    body = payload(first)
    assert body["confidence_score"] == 0.96
    assert "rules extractor agrees" in body["extraction_reasoning"]
    paths = {path for path, _, _ in model.seen}
    assert paths == {"/openai/v1/chat/completions"}
    assert {key for _, key, _ in model.seen} == {f"Bearer {KEY}"}
    # one client per process: the second request reuses the first one's pooled connection
    assert model.seen[0][2] == model.seen[1][2]
    assert language_model_client(Settings()) is language_model_client(Settings())


def test_rate_limited_model_is_503_with_retry_after(rules_env):
    limited = (429, {"retry-after": "12"}, {"error": {"message": f"slow down {KEY}"}})
    with FakeModel([limited]) as model:
        use_azure(rules_env, model.url)
        resp = post({"strategy_description": SPEC}, {"x-request-id": "rid-503"})
    error = assert_error(resp, 503, "PARAMETER_EXTRACTION_ERROR")
    assert resp.headers["Retry-After"] == "12" and error.request_id == "rid-503"
    assert KEY not in resp.get_body().decode()


def test_unreachable_model_is_503(rules_env):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    use_azure(rules_env, f"http://127.0.0.1:{port}")
    resp = post({"strategy_description": SPEC})
    error = assert_error(resp, 503, "PARAMETER_EXTRACTION_ERROR")
    assert error.details["reason"] == "connection failed"
    assert resp.headers["Retry-After"] == "10"


def test_rejected_key_is_reported_by_setting_name(rules_env):
    rejected: tuple[int, dict, dict] = (
        401,
        {},
        {"error": {"message": f"Incorrect API key provided: {KEY}"}},
    )
    with FakeModel([rejected]) as model:
        use_azure(rules_env, model.url)
        resp = post({"strategy_description": SPEC})
    error = assert_error(resp, 503, "PARAMETER_EXTRACTION_ERROR")
    assert error.details["setting"] == "AZURE_OPENAI_API_KEY"
    assert KEY not in resp.get_body().decode()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4)
    ),
    max_leaves=12,
)


@hyp_settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=520))
def test_any_description_never_500(text):
    resp = post({"strategy_description": text})
    assert resp.status_code in (200, 400, 422)
    assert resp.headers["x-request-id"]
    if resp.status_code != 200:
        assert payload(resp)["request_id"] == resp.headers["x-request-id"]


@hyp_settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(JSON | st.dictionaries(st.just("strategy_description"), JSON, min_size=1))
def test_any_json_body_never_500(body):
    resp = post(json.dumps(body))
    assert resp.status_code in (200, 400, 422)
    assert resp.headers["x-request-id"]
