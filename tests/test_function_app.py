"""Every function function_app.py registers would be accepted by the Functions host.

Generic over the app's index, so functions added later are checked without editing this file.
"""

import importlib.util
import inspect
from collections import Counter

import pytest

import function_app
from localdev.host.functions import index_app

KNOWN_BINDINGS = {
    "httpTrigger",
    "http",
    "orchestrationTrigger",
    "activityTrigger",
    "durableClient",
    "timerTrigger",
    "entityTrigger",
}
AUTH_LEVELS = {"anonymous", "function", "admin"}
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

FUNCTIONS = index_app(function_app.app)
ENTRIES = sorted(FUNCTIONS.values(), key=lambda e: e.name)


def test_app_registers_the_extraction_endpoint():
    entry = FUNCTIONS["extract_parameters"]
    trigger = entry.trigger
    assert trigger["type"] == "httpTrigger"
    assert trigger["route"] == "orchestrator/extract-parameters"
    assert [m.upper() for m in trigger["methods"]] == ["POST"]
    assert trigger["authLevel"].lower() == "anonymous"


def test_function_names_are_unique():
    """On a fresh app object: `get_functions()` may run once per app (it raises on a duplicate
    name, and on a second call), and the shared app has been indexed already."""
    spec = importlib.util.spec_from_file_location("function_app_fresh", function_app.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = [fn.get_function_name() for fn in module.app.get_functions()]
    assert len(names) == len(set(names)) == len(FUNCTIONS), Counter(names).most_common(3)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_bindings_are_known_and_name_real_parameters(entry):
    bindings = entry.function_json["bindings"]
    triggers = [b for b in bindings if b["type"].endswith("Trigger")]
    assert len(triggers) == 1
    parameters = set(inspect.signature(entry.user_function).parameters)
    for binding in bindings:
        assert binding["type"] in KNOWN_BINDINGS
        if binding["name"] != "$return":
            assert binding["name"] in parameters, (binding, parameters)


HTTP_ENTRIES = [e for e in ENTRIES if e.trigger_type == "httpTrigger"]


@pytest.mark.parametrize("entry", HTTP_ENTRIES, ids=[e.name for e in HTTP_ENTRIES])
def test_http_triggers_are_well_formed(entry):
    trigger = entry.trigger
    route = trigger.get("route")
    assert route and not route.startswith("/") and not route.startswith("api/")
    assert trigger["authLevel"].lower() in AUTH_LEVELS
    outputs = [b for b in entry.function_json["bindings"] if b["type"] == "http"]
    assert len(outputs) == 1 and outputs[0]["direction"].upper() == "OUT"


def test_route_and_method_pairs_are_unique():
    pairs: Counter[tuple[str, str]] = Counter()
    for entry in HTTP_ENTRIES:
        methods = entry.trigger.get("methods") or ALL_METHODS
        for method in methods:
            pairs[(entry.trigger["route"].lower(), method.upper())] += 1
    assert [pair for pair, count in pairs.items() if count > 1] == []
