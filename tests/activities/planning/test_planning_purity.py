"""The planning package stays pure: importing it loads no database, Azure or settings code.

Why it matters: the numerics are tested, benchmarked and reasoned about without a database or a
Functions host, and an import of SQLAlchemy or the settings from here would quietly tie them
back together. The check runs in a fresh interpreter, because this test process has long since
imported everything.
"""

from __future__ import annotations

import pkgutil

import activities.planning
from tests.support.fresh_interpreter import modules_loaded_after

FORBIDDEN = ("sqlalchemy", "azure", "pydantic_settings", "shared.data", "shared.settings")
"""Modules the planning package must never load (pydantic is fine: the result contracts)."""


def _planning_modules() -> list[str]:
    return sorted(
        f"activities.planning.{module.name}"
        for module in pkgutil.iter_modules(activities.planning.__path__)
    )


def test_the_package_holds_the_agents_numerics_and_their_contexts():
    assert set(_planning_modules()) >= {
        f"activities.planning.{name}"
        for name in (
            "contexts",
            "forecasting",
            "clustering",
            "demand",
            "inventory",
            "pricing",
            "stock_flow",
        )
    }


def test_importing_every_planning_module_loads_no_database_azure_or_settings_code():
    imports = "\n".join(f"import {module}" for module in _planning_modules())
    assert modules_loaded_after(imports, FORBIDDEN) == set()
