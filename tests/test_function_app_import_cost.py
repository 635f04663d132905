"""Importing the app stays free of the scientific stack and the LLM SDK.

A fresh worker imports function_app before it answers anything; statsforecast (statsmodels,
scipy), scikit-learn, pandas, numpy and openai cost seconds, so they load where they are used
(the agent activities, the data routes, the LLM extractor). Each check runs in a fresh
interpreter, because this test process has long since imported everything.
"""

from __future__ import annotations

from tests.support.fresh_interpreter import last_json_line, modules_loaded_after

HEAVY = (
    "statsforecast",
    "statsmodels",
    "scipy",
    "sklearn",
    "pandas",
    "numpy",
    "openai",
    "pyarrow",
    "fugue",
    "coreforecast",
)


def _loaded_after(code: str) -> set[str]:
    """Top-level packages among HEAVY that a fresh interpreter holds after running `code`."""
    return {name.split(".")[0] for name in modules_loaded_after(code, HEAVY)}


def test_importing_the_app_loads_no_heavy_library():
    assert _loaded_after("import function_app") == set()


# OpenTelemetry's SDK, exporters and the Azure Monitor distro load only when telemetry is on.
# (The Durable SDK itself imports the OpenTelemetry API's trace-context propagator.)
TELEMETRY = (
    "opentelemetry.sdk",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
    "opentelemetry.metrics",
    "azure.monitor",
)


def _telemetry_loaded_after(code: str, **env: str) -> set[str]:
    """Which of TELEMETRY a fresh interpreter holds after `code`, with only `env`'s telemetry
    settings (the parent's are removed)."""
    settings = ("APPLICATIONINSIGHTS_CONNECTION_STRING", "OTEL_TRACES_EXPORTER")
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted({{p for m in sys.modules for p in {TELEMETRY!r} "
        f"if m == p or m.startswith(p + '.')}})))"
    )
    return set(last_json_line(probe, env=env, unset=[n for n in settings if n not in env]))


def test_telemetry_stays_off_the_cold_path_unless_configured():
    assert _telemetry_loaded_after("import function_app") == set()


def test_telemetry_loads_its_sdk_when_configured():
    loaded = _telemetry_loaded_after("import function_app", OTEL_TRACES_EXPORTER="console")
    assert {"opentelemetry.sdk", "opentelemetry.metrics"} <= loaded
    assert "azure.monitor" not in loaded  # the distro is for Application Insights only


def test_indexing_the_functions_as_the_worker_does_loads_no_heavy_library():
    code = "from function_app import app\nfor f in app.get_functions(): f.get_function_json()"
    assert _loaded_after(code) == set()


def test_modules_the_http_functions_use_are_light():
    modules = [
        "shared.schemas",
        "shared.results",
        "shared.errors",
        "shared.http",
        "shared.data.db",
        "shared.extraction",
        "shared.messaging.publisher",
        "shared.messaging.listeners",
        "orchestrator.workflow",
    ]
    assert _loaded_after("\n".join(f"import {module}" for module in modules)) == set()


def test_the_rules_extractor_answers_without_the_llm_sdk():
    code = (
        "from datetime import date\n"
        "from shared.extraction import extract_parameters\n"
        "from shared.settings import Settings\n"
        "extract_parameters('I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly "
        "replenishment. 15% DC holdback.', Settings(extractor='rules'), today=date(2024, 11, 4))"
    )
    assert _loaded_after(code) == set()


def test_the_agents_load_their_stack_on_first_use():
    """The other side of the bargain: the implementation module does bring what it needs."""
    loaded = _loaded_after("import activities.agent_runs")
    assert {"statsforecast", "sklearn", "pandas", "numpy"} <= loaded
