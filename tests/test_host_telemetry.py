"""One telemetry pipeline in Azure: the worker's Azure Monitor distro exports every span, metric
and log record of the app; the Functions host exports only what it alone knows.

The host has its own Application Insights pipeline, and the Python worker forwards every log
record to it over gRPC (azure-functions-python-worker, `Dispatcher.on_logging`: an RpcLog per
record, category User unless the logger is the worker's own). The host logs a record sent during
an invocation under `Function.<name>.User` and worker output outside one under
`Host.Function.Console` (azure-functions-host, `WorkerConstants.FunctionConsoleLogCategoryName`;
Microsoft Learn, "Configure monitoring for Azure Functions", the category table: `Function.<name>`
= the host's own started/completed/exception rows, `Function.<name>.User` = user-generated logs,
`Host.Results` = the `requests` rows, `Host.Aggregator` = the aggregated `customMetrics`). Left
on, each of the app's log lines reached `traces` twice, and the host's `requests` rows carried
the host's operation id instead of the plan's trace.

The host's OpenTelemetry mode (`"telemetryMode": "OpenTelemetry"`) is the other way to one
pipeline, but Microsoft Learn's "Use OpenTelemetry with Azure Functions" supports it only for
HTTP, Service Bus and Event Hubs triggers (not the Durable orchestration and activity triggers
that run a plan) and turns off the portal's log streaming. So host.json keeps the default mode
and turns down exactly the categories that duplicate the distro's export.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from function_app import app
from localdev.host.functions import index_app

HOST_JSON = Path(__file__).resolve().parents[1] / "host.json"


def log_levels() -> dict[str, str]:
    document: dict[str, Any] = json.loads(HOST_JSON.read_text())
    return dict(document["logging"]["logLevel"])


def test_the_host_stays_in_application_insights_mode():
    document = json.loads(HOST_JSON.read_text())
    assert document.get("telemetryMode", "ApplicationInsights") == "ApplicationInsights"


def test_every_functions_user_logs_are_left_to_the_distro():
    levels = log_levels()
    names = set(index_app(app))
    user_categories = {c for c in levels if c.startswith("Function.") and c.endswith(".User")}
    # A function added without its entry would log everything twice again; an entry for a
    # function that no longer exists is dead configuration.
    assert user_categories == {f"Function.{name}.User" for name in names}
    assert all(levels[c] == "None" for c in user_categories)


def test_host_rows_that_duplicate_the_worker_are_off_and_host_only_rows_stay():
    levels = log_levels()
    assert levels["Host.Function.Console"] == "None"  # worker output outside invocations
    assert levels["Host.Results"] == "None"  # requests: the app's server spans are the requests
    # The host's own invocation rows (started, completed, the exception that failed one) and
    # its aggregated counts exist only in the host: kept.
    assert levels["Function"] == "Information"
    assert levels["Host.Aggregator"] == "Trace"


def test_the_distro_is_what_exports_in_azure():
    """The template sets the connection string that makes function_app.py configure the distro
    (tests/integration/test_application_insights.py holds that path at the wire)."""
    from tests.test_infra import template_app_settings

    settings = template_app_settings()
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in settings
    assert "Authorization=AAD" in settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
