"""The workflow HTTP functions, invoked as the host invokes them: from the app's function index,
with an azure.functions.HttpRequest and the durableClient binding JSON, so the real
DurableOrchestrationClient talks HTTP to the local runtime's extension API."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import pytest_asyncio
from azure.durable_functions.models.utils import http_utils
from sqlalchemy import func as sqlfunc
from sqlalchemy import select

from localdev.durable import DurableRuntime
from localdev.durable.store import InstanceRow
from localdev.host.functions import index_app
from orchestrator.http.dependencies import check_category, overridden
from shared.data.db import get_engine, session_scope
from shared.data.events import fetch_events
from shared.errors import DataNotFoundError
from shared.identity import principal_headers
from shared.messaging.publisher import Publisher
from shared.settings import Settings
from tests.support.durable_app import PARAMETERS, SCRIPT, app, fast_settings
from tests.support.functions import call_http

# The SDK keeps one process-wide aiohttp session, bound to the loop that first used it, as the
# Functions worker (one loop) does: these tests share one loop too.
pytestmark = pytest.mark.asyncio(loop_scope="module")

CATEGORIES = {"CAT-1", "CAT-2"}


def known_category(category_id):
    if category_id is None:
        return "CAT-1"
    if category_id not in CATEGORIES:
        raise DataNotFoundError(f"Unknown category '{category_id}'")
    return category_id


REFUSED = "Endpoint=http://127.0.0.1:9;AccessKey=" + "k" * 44 + ";Version=1.0;"


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    """The module's database: the task hub, and the owners and keys the functions record."""
    return f"sqlite:///{tmp_path_factory.mktemp('api')}/hub.db"


def app_settings(database_url, **overrides):
    """The module's settings: a short Demand timeout unless the test says otherwise."""
    return fast_settings(
        **{"database_url": database_url, "demand_agent_timeout_seconds": 0.3, **overrides}
    )


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def runtime(database_url):
    publisher = Publisher(
        Settings(database_url=database_url, webpubsub_connection_string=REFUSED),
        get_engine(database_url),
    )
    with overridden(
        settings=app_settings(database_url), check_category=known_category, publisher=publisher
    ):
        rt = DurableRuntime(app, database_url)
        await rt.start()
        yield rt
        await rt.stop()
    publisher.close()
    SCRIPT.reset()
    await http_utils._close_session()


@pytest.fixture(autouse=True)
def script():
    SCRIPT.reset()
    yield SCRIPT
    SCRIPT.reset()


async def call(runtime, name, method="GET", body=b"", headers=None, route_params=None):
    response = await call_http(
        app,
        name,
        method,
        body=body,
        headers=headers,
        route_params=route_params,
        client=runtime.client_binding_json(),
    )
    return response, json.loads(response.get_body() or b"null")


def run_body(**overrides):
    return json.dumps({"session_id": "sess-1", "parameters": PARAMETERS, **overrides}).encode()


def instance_count(runtime):
    with session_scope(runtime.store.engine) as session:
        return session.scalar(select(sqlfunc.count()).select_from(InstanceRow))


async def test_functions_are_registered_with_their_routes(runtime):
    index = index_app(app)
    routes = {
        name: index[name].trigger.get("route")
        for name in ("run_workflow", "get_workflow", "terminate_workflow")
    }
    assert routes == {
        "run_workflow": "orchestrator/run-workflow",
        "get_workflow": "orchestrator/workflows/{workflow_id}",
        "terminate_workflow": "orchestrator/workflows/{workflow_id}/terminate",
    }
    assert index["season_workflow"].trigger_type == "orchestrationTrigger"


async def test_run_then_get_a_completed_workflow(runtime):
    response, body = await call(runtime, "run_workflow", "POST", run_body())

    assert response.status_code == 202
    workflow_id = body["workflow_id"]
    assert uuid.UUID(workflow_id)
    assert body["status"] == "started" and body["session_id"] == "sess-1"
    assert body["category_id"] == "CAT-1"
    # Relative without PUBLIC_BASE_URL: never built from the Host the request named.
    assert body["status_url"] == f"/api/orchestrator/workflows/{workflow_id}"
    assert response.headers["Location"] == body["status_url"]
    assert body["terminate_url"].endswith(f"/workflows/{workflow_id}/terminate")
    assert body["events_url"].endswith(f"/workflows/{body['workflow_id']}/events?after=0")
    assert body["negotiate_url"].endswith("/negotiate?session_id=sess-1")
    assert response.headers["x-request-id"]
    await runtime.wait_for(workflow_id, 10)

    response, status = await call(
        runtime, "get_workflow", route_params={"workflow_id": workflow_id}
    )

    assert response.status_code == 200
    assert status["runtime_status"] == "Completed" and status["status"] == "completed"
    assert status["progress"] == 100 and status["current_agent"] is None
    assert list(status["results"]) == ["Demand Agent", "Inventory Agent", "Pricing Agent"]
    assert status["output"]["results"] == status["results"]
    assert [e["attempts"] for e in status["execution_log"]] == [1, 1, 1]
    assert status["session_id"] == "sess-1" and status["category_id"] == "CAT-1"
    assert status["created_time"] and status["last_updated_time"]


async def test_the_extracted_category_is_planned_when_the_request_names_none(runtime):
    """The extraction's answer sent back unchanged carries the category the text named."""
    answer = {**PARAMETERS, "category_id": "CAT-2", "field_sources": {"category_id": "stated"}}
    body = {"session_id": "sess-1", "parameters": answer}
    _, started = await call(runtime, "run_workflow", "POST", json.dumps(body).encode())
    assert started["category_id"] == "CAT-2"
    await runtime.wait_for(started["workflow_id"], 10)
    # A category named in the request wins; null in the answer means the default.
    named = json.dumps({**body, "category_id": "CAT-1"}).encode()
    _, given = await call(runtime, "run_workflow", "POST", named)
    assert given["category_id"] == "CAT-1"
    await runtime.wait_for(given["workflow_id"], 10)
    unnamed = {"session_id": "sess-1", "parameters": {**PARAMETERS, "category_id": None}}
    _, default = await call(runtime, "run_workflow", "POST", json.dumps(unnamed).encode())
    assert default["category_id"] == "CAT-1"
    await runtime.wait_for(default["workflow_id"], 10)


async def test_failed_workflow_shows_failed_and_keeps_finished_results(runtime, script):
    script.set("inventory_agent", "fail_always")
    _, body = await call(runtime, "run_workflow", "POST", run_body(category_id="CAT-2"))
    await runtime.wait_for(body["workflow_id"], 10)

    _, status = await call(
        runtime, "get_workflow", route_params={"workflow_id": body["workflow_id"]}
    )

    assert status["runtime_status"] == "Failed" and status["status"] == "failed"
    assert list(status["results"]) == ["Demand Agent"]
    assert status["error"]["error_type"] == "AGENT_EXECUTION_ERROR"
    assert status["output"]["results"] == status["results"]
    assert "Inventory Agent failed after 3 attempt(s)" in status["output"]["failure"]


async def test_same_idempotency_key_returns_the_existing_workflow(runtime, script):
    headers = {"Idempotency-Key": "plan-2025-spring"}
    first, body1 = await call(runtime, "run_workflow", "POST", run_body(), headers)
    second, body2 = await call(runtime, "run_workflow", "POST", run_body(), headers)

    assert first.status_code == 202 and second.status_code == 200
    assert body1["workflow_id"] == body2["workflow_id"]
    assert body2["idempotent_replay"] is True and body2["session_id"] == "sess-1"
    await runtime.wait_for(body1["workflow_id"], 10)
    assert len(script.calls_to("demand_agent", body1["workflow_id"])) == 1


async def test_an_idempotency_key_reused_with_another_body_is_422(runtime, script):
    headers = {"Idempotency-Key": "plan-reused"}
    first, body1 = await call(runtime, "run_workflow", "POST", run_body(), headers)
    before = instance_count(runtime)

    response, error = await call(
        runtime, "run_workflow", "POST", run_body(session_id="sess-2"), headers
    )

    assert first.status_code == 202
    assert response.status_code == 422 and error["error_type"] == "INVALID_PARAMETERS"
    assert "already used with a different request body" in error["message"]
    assert error["details"] == {
        "idempotency_key": "plan-reused",
        "workflow_id": body1["workflow_id"],
    }
    assert instance_count(runtime) == before
    reordered = json.dumps({"parameters": PARAMETERS, "session_id": "sess-1"}, indent=2).encode()
    again, body2 = await call(runtime, "run_workflow", "POST", reordered, headers)
    assert again.status_code == 200 and body2["workflow_id"] == body1["workflow_id"]
    await runtime.wait_for(body1["workflow_id"], 10)


async def test_the_same_key_from_another_planner_is_another_workflow(runtime, script, database_url):
    """Behind Easy Auth (WEBSITE_AUTH_ENABLED), as two signed-in planners."""
    key = {"Idempotency-Key": "shared-key"}
    me = {**key, **principal_headers("planner-a", "Planner A", ["planner"])}
    other = {**key, **principal_headers("planner-b", "Planner B", ["planner"])}
    with overridden(settings=app_settings(database_url, website_auth_enabled="True")):
        await _same_key_from_two_planners(runtime, me, other)


async def _same_key_from_two_planners(runtime, me, other):
    _, mine = await call(runtime, "run_workflow", "POST", run_body(), me)
    response, theirs = await call(runtime, "run_workflow", "POST", run_body(), other)

    assert response.status_code == 202 and theirs["workflow_id"] != mine["workflow_id"]
    for workflow_id in (mine["workflow_id"], theirs["workflow_id"]):
        await runtime.wait_for(workflow_id, 10)
    route = {"workflow_id": mine["workflow_id"]}
    for name, method in (("get_workflow", "GET"), ("terminate_workflow", "POST")):
        response, error = await call(runtime, name, method, headers=other, route_params=route)
        assert response.status_code == 404 and error["error_type"] == "DATA_NOT_FOUND"
    response, status = await call(runtime, "get_workflow", headers=me, route_params=route)
    assert response.status_code == 200 and status["runtime_status"] == "Completed"


@pytest.mark.parametrize(
    "body,status,error_type",
    [
        (json.dumps({"parameters": PARAMETERS}).encode(), 422, "INVALID_PARAMETERS"),
        (
            run_body(parameters={**PARAMETERS, "forecast_horizon_weeks": 3}),
            422,
            "INVALID_PARAMETERS",
        ),
        (run_body(session_id="bad id with spaces"), 422, "INVALID_PARAMETERS"),
        (b"{not json", 422, "INVALID_PARAMETERS"),
        (b"", 422, "INVALID_PARAMETERS"),
        (b"[1, 2]", 422, "INVALID_PARAMETERS"),
        (run_body(category_id="NOPE"), 404, "DATA_NOT_FOUND"),
    ],
)
async def test_bad_requests_get_an_error_response_and_start_nothing(
    runtime, body, status, error_type
):
    before = instance_count(runtime)

    response, error = await call(runtime, "run_workflow", "POST", body)

    assert response.status_code == status
    assert error["error_type"] == error_type
    assert error["request_id"] == response.headers["x-request-id"]
    assert set(error) == {"error_type", "message", "details", "suggestions", "request_id"}
    assert instance_count(runtime) == before


async def test_unknown_workflow_is_404(runtime):
    for name, method in (("get_workflow", "GET"), ("terminate_workflow", "POST")):
        response, error = await call(
            runtime, name, method, route_params={"workflow_id": "does-not-exist"}
        )
        assert response.status_code == 404
        assert error["error_type"] == "DATA_NOT_FOUND"


@pytest.mark.parametrize("workflow_id", ["{", "a/b", "x" * 129, "", "id with space"])
async def test_malformed_workflow_ids_are_422_and_never_reach_the_task_hub(runtime, workflow_id):
    for name, method in (("get_workflow", "GET"), ("terminate_workflow", "POST")):
        response, error = await call(
            runtime, name, method, route_params={"workflow_id": workflow_id}
        )
        assert response.status_code == 422, error
        assert error["error_type"] == "INVALID_PARAMETERS"


async def test_terminate_a_stuck_workflow_then_409(runtime, script, database_url):
    script.set("demand_agent", "hang")
    with overridden(settings=fast_settings(database_url=database_url)):
        _, body = await call(runtime, "run_workflow", "POST", run_body())
    workflow_id = body["workflow_id"]
    route = {"workflow_id": workflow_id}

    response, answer = await call(
        runtime, "terminate_workflow", "POST", json.dumps({"reason": "stuck"}).encode(), None, route
    )
    assert response.status_code == 202 and answer["status"] == "terminating"
    await runtime.wait_for(workflow_id, 10)

    _, status = await call(runtime, "get_workflow", route_params=route)
    assert status["runtime_status"] == "Terminated" and status["status"] == "terminated"
    assert status["output"]["failure"] == "stuck"
    assert status["current_agent"] is None
    # The browser is told: the running agent failed because the workflow was terminated.
    events = fetch_events(get_engine(runtime.database_url), workflow_id).events
    assert [(e["type"], e["agent_name"], e.get("status")) for e in events] == [
        ("error", "Demand Agent", None),
        ("agent_status", "Demand Agent", "failed"),
    ]
    assert events[0]["error_type"] == "WORKFLOW_TERMINATED"
    assert events[0]["error_message"] == "The workflow was terminated: stuck"
    response, error = await call(runtime, "terminate_workflow", "POST", route_params=route)
    assert response.status_code == 409 and error["error_type"] == "WORKFLOW_ALREADY_FINISHED"
    response, error = await call(
        runtime, "terminate_workflow", "POST", b"not json", route_params=route
    )
    assert response.status_code == 422


async def test_terminate_announces_an_accepted_result_the_next_agent_had_not(
    runtime, script, database_url
):
    """Demand was accepted and handed to Inventory's activity to announce, which never got to
    record anything: the termination announces Demand's result before Inventory's error."""
    script.set("inventory_agent", "stalled")
    with overridden(settings=fast_settings(database_url=database_url)):
        _, body = await call(runtime, "run_workflow", "POST", run_body())
    workflow_id = body["workflow_id"]
    route = {"workflow_id": workflow_id}
    for _ in range(500):
        _, status = await call(runtime, "get_workflow", route_params=route)
        if status["current_agent"] == "Inventory Agent":
            break
        await asyncio.sleep(0.01)
    demand = status["results"]["Demand Agent"]

    response, _ = await call(runtime, "terminate_workflow", "POST", route_params=route)
    assert response.status_code == 202
    await runtime.wait_for(workflow_id, 10)

    events = fetch_events(get_engine(runtime.database_url), workflow_id).events
    assert [(e["type"], e["agent_name"], e.get("status")) for e in events] == [
        ("complete", "Demand Agent", None),
        ("agent_status", "Demand Agent", "completed"),
        ("error", "Inventory Agent", None),
        ("agent_status", "Inventory Agent", "failed"),
    ]
    assert events[0]["result"] == demand


async def test_default_category_check_uses_the_data_layer(tmp_path):
    from localdev.sample_data import generate_sample, load_sample
    from shared.data.db import get_engine
    from shared.settings import Settings

    url = f"sqlite:///{tmp_path}/cats.db"
    with overridden(settings=Settings(database_url=url)):
        with pytest.raises(DataNotFoundError) as empty:
            check_category("CAT-9")
        assert "POST /api/data/import" in " ".join(empty.value.suggestions)
        load_sample(get_engine(url), generate_sample(stores=3, weeks=60, categories=2))
        categories = sorted(
            generate_sample(stores=3, weeks=60, categories=2).categories.category_id
        )
        assert check_category(categories[1]) == categories[1]
        assert check_category(None) == categories[0]
        with pytest.raises(DataNotFoundError) as unknown:
            check_category("CAT-9")
        assert unknown.value.details["available_categories"] == categories


async def test_terminating_while_pricing_finishes_tells_one_truth(script, tmp_path):
    """Issue 32 case 3: Pricing finishes while the terminate is on its way (queue latency, as
    on Azure): the orchestrator accepts Pricing's result, then the termination lands, and its
    announcement has already closed the event stream with Pricing's error. Status, output and
    event stream agree on the agents that completed; no summary of an unserved result."""
    url = f"sqlite:///{tmp_path}/race.db"
    publisher = Publisher(
        Settings(database_url=url, webpubsub_connection_string=REFUSED), get_engine(url)
    )
    script.set("pricing_agent", "hang")
    with overridden(
        settings=app_settings(url, pricing_agent_timeout_seconds=30),
        check_category=known_category,
        publisher=publisher,
    ):
        async with DurableRuntime(app, url, hop_delay_seconds=0.5) as hub:
            _, body = await call(hub, "run_workflow", "POST", run_body())
            route = {"workflow_id": body["workflow_id"]}
            for _ in range(1000):
                _, status = await call(hub, "get_workflow", route_params=route)
                if status["current_agent"] == "Pricing Agent":
                    break
                await asyncio.sleep(0.02)
            real_terminate = hub.terminate

            async def terminate_behind_the_acceptance(instance_id: str, reason: str) -> str:
                # The terminate message waits in the queue while the orchestrator accepts
                # Pricing's result (the handler read the status before that).
                for _ in range(500):
                    current = await hub.get_status(instance_id) or {}
                    custom = current.get("customStatus") or {}
                    if "Pricing Agent" in custom.get("completed_agents", []):
                        break
                    await asyncio.sleep(0.02)
                return await real_terminate(instance_id, reason)

            hub.terminate = terminate_behind_the_acceptance  # type: ignore[method-assign]
            script.release.set()  # Pricing finishes now
            response, _ = await call(hub, "terminate_workflow", "POST", route_params=route)
            assert response.status_code == 202
            await hub.wait_for(body["workflow_id"], 30)
            _, status = await call(hub, "get_workflow", route_params=route)
    publisher.close()

    events = fetch_events(get_engine(url), body["workflow_id"]).events
    announced = [e["agent_name"] for e in events if e["type"] == "complete"]
    assert events[-2]["error_type"] == "WORKFLOW_TERMINATED"
    stopped = events[-2]["agent_name"]
    assert status["runtime_status"] == "Terminated"
    assert stopped not in status["completed_agents"]
    assert status["completed_agents"] == announced == ["Demand Agent", "Inventory Agent"]
    assert list(status["results"]) == announced
    assert list(status["output"]["results"]) == announced
    assert status["progress"] == round(100 * len(announced) / 3)
    assert [e["agent_name"] for e in status["execution_log"] if e["status"] == "completed"] == (
        announced
    )


async def test_a_planner_past_the_running_plan_limit_gets_429_and_others_do_not(
    runtime, script, database_url
):
    """Issue 32 case 2: one planner's flood is refused past MAX_RUNNING_PLANS_PER_USER with a
    documented 429 + Retry-After; another planner still starts; a finished plan frees a slot;
    the same Idempotency-Key again is the same plan, never refused."""
    script.set("demand_agent", "hang")
    flooder = principal_headers("flooder", "Flooder", ["planner"])
    other = principal_headers("other", "Other", ["planner"])
    settings = app_settings(database_url, max_running_plans_per_user=2, website_auth_enabled="True")
    with overridden(settings=settings):
        answers = await asyncio.gather(
            *(call(runtime, "run_workflow", "POST", run_body(), {**flooder}) for _ in range(12))
        )
        statuses = sorted(response.status_code for response, _ in answers)
        assert statuses == [202, 202] + [429] * 10, statuses
        refused = next(body for response, body in answers if response.status_code == 429)
        response = next(response for response, _ in answers if response.status_code == 429)
        assert refused["error_type"] == "TOO_MANY_RUNNING_PLANS"
        assert refused["details"] == {"running_plans": 2, "max_running_plans_per_user": 2}
        assert int(response.headers["Retry-After"]) >= 1
        assert "MAX_RUNNING_PLANS_PER_USER" not in refused["message"]
        assert "2 plans running" in refused["message"]

        response, _ = await call(runtime, "run_workflow", "POST", run_body(), {**other})
        assert response.status_code == 202

        keyed = {**other, "Idempotency-Key": "same-plan"}
        first, body = await call(runtime, "run_workflow", "POST", run_body(), keyed)
        again, repeat = await call(runtime, "run_workflow", "POST", run_body(), keyed)
        assert (first.status_code, again.status_code) == (202, 200)
        assert repeat["workflow_id"] == body["workflow_id"]

        script.release.set()  # the flooder's plans finish: a slot is free again
        started = [body["workflow_id"] for response, body in answers if response.status_code == 202]
        for workflow_id in started:
            await runtime.wait_for(workflow_id, 30)
        response, _ = await call(runtime, "run_workflow", "POST", run_body(), {**flooder})
        assert response.status_code == 202
