"""The app's schema is the same in every process, whatever that process imported.

Each schema here is created by a fresh interpreter (this test process has long since imported
everything, the local Durable runtime included), once with nothing imported beforehand and once
after the local runtime and the whole local stack: both must create exactly the app's tables,
with the same columns, keys and indexes. The task hub's store creates its own tables, apart.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.fresh_interpreter import last_json_line

APP_TABLES = {
    "stores",
    "categories",
    "historical_sales",
    "data_versions",
    "agent_results",
    "workflow_owners",
    "idempotency_keys",
    "workflow_event_log",
    "workflow_event_streams",
    "listener_windows",
    "seasons",
    "season_plan_versions",
    "season_uploads",
    "season_actuals",
}
TASK_HUB_TABLES = {"durable_instances", "durable_history", "durable_pending_events"}
LOCAL_RUNTIME = ("localdev.durable", "localdev.durable.store", "localdev.stack", "function_app")

_DESCRIBE = """
import json, sys
from sqlalchemy import create_engine, inspect

def describe(engine):
    inspector = inspect(engine)
    return {
        table: {
            "columns": [
                [c["name"], str(c["type"]), c["nullable"], str(c.get("default"))]
                for c in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted(
                [fk["constrained_columns"], fk["referred_table"], fk["referred_columns"]]
                for fk in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                [i["name"], i["column_names"], bool(i["unique"])]
                for i in inspector.get_indexes(table)
            ),
            "unique": sorted(
                [u["name"], u["column_names"]] for u in inspector.get_unique_constraints(table)
            ),
            "checks": sorted(c["name"] for c in inspector.get_check_constraints(table)),
        }
        for table in sorted(inspector.get_table_names())
    }
"""


def _in_fresh_interpreter(code: str) -> Any:
    """What `code` prints last (JSON), run by a new interpreter from the project root."""
    return last_json_line(_DESCRIBE + code)


def _app_schema(url: str, imported_first: tuple[str, ...]) -> dict[str, Any]:
    """The tables `create_schema` makes in a fresh interpreter that first imported
    `imported_first`, as the database describes them."""
    preload = "".join(f"import {module}\n" for module in imported_first)
    return _in_fresh_interpreter(
        f"{preload}"
        "from shared.data.schema import create_schema\n"
        f"engine = create_engine({url!r})\n"
        "create_schema(engine)\n"
        "print(json.dumps(describe(engine)))\n"
    )


@pytest.mark.parametrize("imported_first", [(), LOCAL_RUNTIME], ids=["alone", "after-localdev"])
def test_the_app_schema_is_its_tables_alone_whatever_was_imported_first(tmp_path, imported_first):
    schema = _app_schema(f"sqlite:///{tmp_path / 'app.db'}", imported_first)
    assert set(schema) == APP_TABLES


def test_the_app_schema_is_identical_with_and_without_the_local_runtime_imported(tmp_path):
    alone = _app_schema(f"sqlite:///{tmp_path / 'alone.db'}", ())
    after_localdev = _app_schema(f"sqlite:///{tmp_path / 'after.db'}", LOCAL_RUNTIME)
    assert alone == after_localdev
    assert alone["workflow_event_log"]["unique"] == [
        ["uq_event_log_message_key", ["workflow_id", "message_key"]],
        ["uq_event_log_sequence", ["workflow_id", "sequence"]],
    ]
    assert ["ix_workflow_owners_owner_id", ["owner_id"], False] in alone["workflow_owners"][
        "indexes"
    ]


def test_the_task_hub_store_creates_its_own_tables_and_no_app_table(tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    schema = _in_fresh_interpreter(
        "from localdev.durable.store import DurableStore\n"
        f"engine = create_engine({url!r})\n"
        "DurableStore(engine).create_tables()\n"
        "DurableStore(engine).create_tables()\n"
        "print(json.dumps(describe(engine)))\n"
    )
    assert set(schema) == TASK_HUB_TABLES
    assert schema["durable_history"]["foreign_keys"] == [
        [["instance_id"], "durable_instances", ["instance_id"]]
    ]
