"""Bad input never crashes: every HTTP function of the real app, served by the local stack over
real HTTP, answers arbitrary route values, query strings, bodies (among them integers of
thousands of digits and dates from year 1 to 9999, in bodies, parameters and strategy texts) and
principals (none, any roles, garbage) with a documented ErrorResponse (or success), never a 5xx,
and always with its request id."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import function_app
from localdev.host.functions import index_app
from shared.identity import principal_headers
from tests.support.errors import assert_error
from tests.support.live_stack import LiveStack, live_stack

HTTP_ROUTES = sorted(
    (entry.trigger["route"], method.upper())
    for entry in index_app(function_app.app).values()
    if entry.trigger_type == "httpTrigger"
    for method in entry.trigger.get("methods") or ["GET", "POST"]
)
PLACEHOLDER = re.compile(r"\{([^}:?]+)[^}]*\}")

HUGE_INTEGER = re.compile(r'"\\u0000(-?)(\d+)\\u0000"')
huge_integers = st.builds(
    lambda sign, digits: f"\x00{sign}{digits}\x00",
    st.sampled_from(["", "-"]),
    st.integers(min_value=4301, max_value=6000),
)
"""A marker that `render` turns into an integer literal of 4,301-6,000 digits: more than Python's
int() accepts by default, and more than json.dumps could write."""
extreme_dates = (
    st.sampled_from([date.min, date.max, date(9999, 12, 1), date(2199, 12, 31), date(1899, 12, 31)])
    | st.dates()
)
season_parameters = st.fixed_dictionaries(
    {
        "forecast_horizon_weeks": st.integers(-10, 60) | huge_integers,
        "season_start_date": extreme_dates.map(date.isoformat),
        "replenishment_strategy": st.sampled_from(["none", "weekly", "bi-weekly"]),
        "dc_holdback_percentage": st.floats(0, 1) | huge_integers,
    },
    optional={
        "season_end_date": extreme_dates.map(date.isoformat),
        "unit_target": st.integers() | huge_integers,
    },
)
strategy_texts = st.builds(
    lambda weeks, day, style: f"{weeks} weeks starting {day.strftime(style)}, weekly, 15% holdback",
    st.integers(1, 99999),
    extreme_dates,
    st.sampled_from(["%b %d, %Y", "%Y-%m-%d", "%m/%d/%Y", "%d %B %Y"]),
)


def render(value: object) -> bytes:
    """JSON text of `value` with every huge-integer marker replaced by its digits."""
    return HUGE_INTEGER.sub(lambda m: m[1] + "9" * int(m[2]), json.dumps(value)).encode()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | huge_integers
    | st.floats()
    | st.text(max_size=40)
    | extreme_dates.map(date.isoformat),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)
request_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(render),
    st.fixed_dictionaries(
        {},
        optional={
            "strategy_description": json_values | strategy_texts,
            "session_id": json_values,
            "parameters": json_values | season_parameters,
            "category_id": json_values,
            "reason": json_values,
        },
    ).map(render),
    st.fixed_dictionaries({"session_id": st.just("fuzz"), "parameters": season_parameters}).map(
        render
    ),
    st.fixed_dictionaries({"strategy_description": strategy_texts}).map(render),
)
route_values = st.text(min_size=1, max_size=80)
content_types = st.sampled_from(
    ["application/json", "multipart/form-data; boundary=b0undary", "text/csv", "text/plain"]
)
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(
    str.strip
)  # what a header value can carry on the wire
principals: st.SearchStrategy[dict[str, str]] = st.one_of(
    st.just({}),  # the local host signs the default developer in
    st.builds(
        principal_headers,
        header_text.filter(bool),
        header_text,
        st.lists(st.sampled_from(["planner", "data-admin", "viewer"]), max_size=3),
    ),
    st.dictionaries(
        st.sampled_from(["X-MS-CLIENT-PRINCIPAL-ID", "X-MS-CLIENT-PRINCIPAL"]),
        header_text,
        min_size=1,
    ),
)
queries = st.dictionaries(
    st.sampled_from(["session_id", "after", "workflow_id", "mode", "x"]),
    st.text(max_size=40) | st.integers(1000, 6000).map(lambda n: "9" * n),
    max_size=3,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@pytest.fixture(scope="module")
def client(stack: LiveStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


@pytest.mark.parametrize("route,method", HTTP_ROUTES)
def test_arbitrary_requests_get_documented_answers(client: httpx.Client, route: str, method: str):
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        values=st.lists(route_values, min_size=3, max_size=3),
        query=queries,
        body=request_bodies,
        content_type=content_types,
        principal=principals,
    )
    def check(
        values: list[str],
        query: dict[str, str],
        body: bytes,
        content_type: str,
        principal: dict[str, str],
    ) -> None:
        substitutes = iter(values)
        path = PLACEHOLDER.sub(lambda _m: quote(next(substitutes), safe=""), route)
        response = client.request(
            method,
            f"/api/{path}",
            params=query,
            content=body if method != "GET" else None,
            headers={"content-type": content_type, **principal},
        )
        assert response.status_code < 500, (path, response.text)
        assert response.headers["x-request-id"]
        if response.status_code >= 400:
            assert_error(response, response.status_code)

    check()
