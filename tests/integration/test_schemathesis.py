"""Schemathesis against the live local stack, signed in: every operation of the served OpenAPI
document gets property-based cases (valid and invalid input), then stateful scenarios follow
the links Schemathesis infers from the document (run-workflow's `workflow_id` into status,
events, terminate and the result routes). No answer may be a 5xx, and every answer must have a
documented status, media type, headers and schema.

The document is the one the stack serves (`GET /api/openapi.json`). The caller is a planner who
is also data-admin, signed in through the principal headers Easy Auth would inject (the stack
signs nobody in by default here, so a request without them would be a 401). Bounded: a fixed
number of cases per operation and of stateful scenarios, with a fixed seed database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import max_response_time
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from orchestrator.http.contract.openapi import openapi_document
from shared.identity import APP_ROLES, principal_headers
from tests.support.errors import assert_error
from tests.support.live_stack import LiveStack, live_stack

SIGNED_IN = principal_headers("schemathesis", "Schemathesis", APP_ROLES)
CASES_PER_OPERATION = 12
STATEFUL_SCENARIOS = 15
STEPS_PER_SCENARIO = 4
# Not the document's promises:
# - that data the schema allows is accepted: a season must also be consistent across fields (its
#   end = start + 7 x weeks, the checkpoint within it), which no JSON Schema states, and such a
#   request is rightly a documented 422;
# - response times (benchmarks measure them);
# - that the documented credentials (Easy Auth's session cookie or an Entra bearer token) are
#   enforced: the local stack stands in for Easy Auth with the principal headers Easy Auth
#   would inject, so the credential it checks is not one Schemathesis can remove. That every
#   operation refuses a caller without them is test_every_operation_refuses_the_unsigned below.
NOT_PROMISED = [positive_data_acceptance, max_response_time, ignored_auth]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("schemathesis"), developer=None) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(stack: LiveStack) -> OpenApiSchema:
    served = httpx.get(f"{stack.base_url}/api/openapi.json", headers=SIGNED_IN, timeout=30)
    served.raise_for_status()
    loaded = schemathesis.openapi.from_dict(served.json())
    loaded.config.update(base_url=stack.base_url, headers=SIGNED_IN, request_timeout=30)
    loaded.config.checks.update(excluded_check_names=[check.__name__ for check in NOT_PROMISED])
    return loaded


OPERATIONS = sorted(
    (path, method.upper()) for path, item in openapi_document()["paths"].items() for method in item
)


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_answers_as_documented(api_schema: OpenApiSchema, path, method):
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(cases)
    @settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def answers_as_documented(case) -> None:
        case.call_and_validate()

    answers_as_documented()


def test_every_operation_refuses_the_unsigned(stack: LiveStack):
    """Every documented operation, called without the principal headers: a 401 ErrorResponse
    before anything else is read (so no body or valid value is needed)."""
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        for path, method in OPERATIONS:
            response = client.request(method, re.sub(r"\{\w+\}", "x", path))
            assert_error(response, 401, "UNAUTHENTICATED")


def test_stateful_scenarios_answer_as_documented(api_schema: OpenApiSchema):
    machine = api_schema.as_state_machine()
    machine.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STEPS_PER_SCENARIO,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
