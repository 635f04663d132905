"""The app's registered functions, indexed the way the Functions host indexes them.

`app.get_functions()` may be called only once per app object (the SDK validates and builds on
the first call), so the index is cached per app.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import azure.functions as func


@dataclass(frozen=True)
class FunctionEntry:
    """One registered function: its name, the host's function.json, and the user callable."""

    name: str
    function_json: dict[str, Any]
    user_function: Callable[..., Any]

    @property
    def trigger(self) -> dict[str, Any]:
        return next(b for b in self.function_json["bindings"] if b["type"].endswith("Trigger"))

    @property
    def trigger_type(self) -> str:
        return self.trigger["type"]


@cache
def index_app(app: func.FunctionApp) -> dict[str, FunctionEntry]:
    entries = {}
    for fn in app.get_functions():
        name = fn.get_function_name()
        if name is None:
            raise ValueError(f"function {fn.get_user_function().__qualname__} has no name")
        entries[name] = FunctionEntry(
            name=name,
            function_json=json.loads(fn.get_function_json()),
            user_function=fn.get_user_function(),
        )
    return entries


def functions_of_type(app: func.FunctionApp, trigger_type: str) -> list[FunctionEntry]:
    return [e for e in index_app(app).values() if e.trigger_type == trigger_type]
