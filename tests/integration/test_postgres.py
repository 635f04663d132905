"""The real data layer, the local Durable task hub and one real workflow on PostgreSQL.

Proof that nothing the app runs is SQLite-only: the same functions the SQLite tests cover run
against a throwaway PostgreSQL server (tests/support/postgres.py, the `postgres_url` fixture of
conftest.py), each test in a fresh database. `make test` installs PostgreSQL when it is missing;
a skip here is reported loudly and fails the run under CI=true (tests/support/real_components.py).
"""

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import create_engine, inspect, text

import function_app
from localdev.__main__ import main as localdev_main
from localdev.durable import DurableRuntime
from localdev.durable import history as h
from localdev.durable.store import DurableStore
from localdev.sample_data import ensure_sample_data, generate_sample, load_sample
from localdev.webpubsub import EmulatorThread
from orchestrator.workflow import ORCHESTRATOR_NAME, build_workflow_input
from shared.data import sales_totals
from shared.data.context import ContextAssembler
from shared.data.csv_import import DataImportError, import_csv
from shared.data.db import dispose_engine, get_engine
from shared.data.events import fetch_events, record_events
from shared.data.ownership import record_workflow
from shared.data.results_store import latest_workflow_with, list_results, load_result, save_result
from shared.data.schema import create_schema
from shared.data.tables import bump_data_version, read_data_version
from shared.errors import ContextAssemblyError, DataNotFoundError
from shared.messaging.publisher import get_publisher
from shared.results import DemandResult, InventoryResult, PricingResult
from shared.schemas import SeasonParameters
from shared.settings import Settings, get_settings
from tests.support.durable_app import PARAMETERS, SCRIPT, fast_settings
from tests.support.durable_app import app as scripted_app
from tests.support.results import demand_result, inventory_result

PARAMS = SeasonParameters(
    forecast_horizon_weeks=12,
    season_start_date=date(2025, 1, 1),
    replenishment_strategy="weekly",
    dc_holdback_percentage=0.15,
)
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
SALES_HEADER = "week_start_date,store_id,category_id,units_sold\n"
STORES_HEADER = (
    "store_id,store_name,region,store_size_sqft,location_tier,median_income,store_format\n"
)
TABLES = ("stores", "categories", "historical_sales", "data_versions")
PUBSUB_KEY = "postgres-test-access-key-0123456789abcdefgh"


@pytest.fixture
def seeded(postgres_url: str) -> str:
    load_sample(get_engine(postgres_url), generate_sample(stores=6, weeks=60, categories=2))
    return postgres_url


def _dump(engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        return {
            table: pd.read_sql_query(text(f"SELECT * FROM {table} ORDER BY 1, 2"), conn)
            for table in TABLES
        }


def _sales_csv(rows: list[str]) -> bytes:
    return (SALES_HEADER + "".join(f"{r}\n" for r in rows)).encode()


def _weekly(category: str, store: str, units: int, weeks: int = 60) -> bytes:
    mondays = pd.date_range("2023-10-30", periods=weeks, freq="7D")
    return _sales_csv([f"{w:%Y-%m-%d},{store},{category},{units}" for w in mondays])


# -- schema and sample data ------------------------------------------------------------------


def test_schema_is_created_idempotently_with_every_table(postgres_url):
    """The app's schema is its tables alone; the task hub's store creates its own beside them."""
    engine = get_engine(postgres_url)
    create_schema(engine)
    create_schema(engine)
    app_tables = set(inspect(engine).get_table_names())
    assert app_tables == {
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
    store = DurableStore(engine)
    store.create_tables()
    store.create_tables()
    tables = set(inspect(engine).get_table_names())
    assert tables == app_tables | {"durable_instances", "durable_history", "durable_pending_events"}
    columns = {c["name"]: c for c in inspect(engine).get_columns("historical_sales")}
    assert str(columns["week_start_date"]["type"]) == "DATE"
    with engine.connect() as conn:
        assert read_data_version(conn) == 0


def test_sample_loads_once_and_a_reload_replaces_it(postgres_url):
    engine = get_engine(postgres_url)
    assert ensure_sample_data(engine, stores=6, weeks=60, categories=2) is True
    assert ensure_sample_data(engine, stores=6, weeks=60, categories=2) is False
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in TABLES[:3]}
        assert counts == {"stores": 6, "categories": 2, "historical_sales": 6 * 60 * 2}
        assert read_data_version(conn) == 1
    load_sample(engine, generate_sample(stores=6, weeks=60, categories=2, seed=3))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM historical_sales")).scalar() == 720
        assert read_data_version(conn) == 2


def test_the_data_commands_work_on_a_postgres_url(postgres_url, tmp_path, capsys):
    seed = [
        "seed",
        "--database-url",
        postgres_url,
        "--stores",
        "5",
        "--weeks",
        "60",
        "--categories",
        "1",
        "--end-date",
        "2025-01-01",
    ]
    assert localdev_main(seed) == 0
    (tmp_path / "sales.csv").write_bytes(_weekly("socks", "S0001", 2, weeks=3))
    load = ["load", "--database-url", postgres_url, "--sales", str(tmp_path / "sales.csv")]
    assert localdev_main(load) == 0
    capsys.readouterr()
    assert localdev_main(["info", "--database-url", postgres_url]) == 0
    shown = capsys.readouterr().out
    assert "data version: 2, stores: 5" in shown
    assert "outerwear: 300 rows, 60 weeks" in shown and "socks: 3 rows, 3 weeks" in shown


# -- CSV import ------------------------------------------------------------------------------


def test_import_good_bad_and_replace(seeded):
    engine = get_engine(seeded)
    stores = STORES_HEADER + "N1,New One,West,9000,B,61000,street\n"
    report = import_csv(engine, stores.encode(), _weekly("socks", "N1", 3, weeks=3))
    assert (report.stores, report.sales_rows, report.categories_created) == (1, 3, ["socks"])
    assert report.data_version == 2

    before = _dump(engine)
    bad = _sales_csv(["2024-01-01,N1,socks,-4", "2024-01-08,NOPE,socks,2"])
    with pytest.raises(DataImportError) as info:
        import_csv(engine, STORES_HEADER.encode() + b"N2,Two,West,100,A,5000,mall\n", bad)
    assert info.value.details["problem_count"] == 2
    after = _dump(engine)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(after[table], frame, obj=table)

    replaced = import_csv(engine, None, _weekly("outerwear", "S0001", 7, weeks=5))
    assert replaced.sales_rows == 5 and replaced.data_version == 3
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT COUNT(*), SUM(units_sold) FROM historical_sales "
                "WHERE category_id='outerwear'"
            )
        ).one()
        swimwear = conn.execute(
            text("SELECT COUNT(*) FROM historical_sales WHERE category_id='swimwear'")
        ).scalar()
    assert tuple(rows) == (5, 35) and swimwear == 6 * 60

    with pytest.raises(DataImportError):  # append mode: a stored key is an error
        import_csv(engine, None, _weekly("outerwear", "S0001", 1, weeks=1), replace=False)


# -- context assembly ------------------------------------------------------------------------


def test_contexts_errors_and_cache_invalidation(seeded):
    engine = get_engine(seeded)
    assembler = ContextAssembler(engine)
    assert [c.category_id for c in assembler.list_categories()] == ["outerwear", "swimwear"]
    demand = assembler.assemble_demand_context("outerwear", PARAMS)
    # Summed by PostgreSQL as by SQLite: what summing the rows gives.
    weekly = demand.history.weekly_totals()
    rows = assembler.load_historical_sales("outerwear")
    assert str(weekly.index.dtype) == "datetime64[ns]" and weekly.dtype == "int64"
    assert weekly.index.is_monotonic_increasing and len(weekly) == 60
    assert weekly.to_dict() == rows.groupby("week_start_date")["units_sold"].sum().to_dict()
    assert weekly.index.max() == pd.Timestamp("2024-12-23")
    window = (date(2024, 10, 1), date(2024, 12, 23))
    inside = rows[rows["week_start_date"].between(*(pd.Timestamp(d) for d in window))]
    by_store = inside.groupby("store_id", observed=True)["units_sold"].sum()
    assert demand.history.store_window(*window)["units"].to_dict() == by_store.to_dict()
    assert len(demand.stores) == 6 and demand.stores["store_size_sqft"].dtype == "int64"
    again = assembler.assemble_demand_context("outerwear", PARAMS)
    assert again.history.weekly_totals() is weekly

    inventory = assembler.assemble_inventory_context(
        "outerwear", PARAMS, demand_result("outerwear")
    )
    assert len(inventory.stores) == 6
    replay = SeasonParameters(
        **{**PARAMS.model_dump(exclude={"season_end_date"}), "season_start_date": date(2024, 9, 2)}
    )
    pricing = assembler.assemble_pricing_context(
        "outerwear", replay, demand_result("outerwear"), inventory_result()
    )
    assert pricing.actual_sales is not None and len(pricing.actual_sales) == 12
    assert assembler.category_info("swimwear").full_price == 45.0

    with pytest.raises(DataNotFoundError) as info:
        assembler.assemble_demand_context("hats", PARAMS)
    assert info.value.details["available_categories"] == ["outerwear", "swimwear"]

    import_csv(engine, None, _weekly("outerwear", "S0002", 9))
    reloaded = assembler.load_historical_sales("outerwear")
    assert len(reloaded) == 60 and set(reloaded["units_sold"]) == {9}

    cached = assembler.load_historical_sales("swimwear")
    other_process = create_engine(seeded)  # an import elsewhere only moves the version
    with other_process.begin() as conn:
        bump_data_version(conn, NOW)
    other_process.dispose()
    assert assembler.load_historical_sales("swimwear") is not cached


@pytest.mark.parametrize("seek_cost", [0, 10**9], ids=["asking-per-store", "reading-rows"])
def test_stores_that_sold_only_before_the_recent_weeks_are_found_either_way(
    seeded, monkeypatch, seek_cost
):
    """A store that stopped selling is still one of the category's stores, whichever of the
    two queries the row counts choose."""
    monkeypatch.setattr(sales_totals, "SEEK_TO_ROW_COST", seek_cost)
    engine = get_engine(seeded)
    with engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM historical_sales WHERE store_id IN ('S0002', 'S0005') "
                "AND week_start_date >= '2024-03-01'"
            )
        )
        bump_data_version(conn, NOW)
    demand = ContextAssembler(engine).assemble_demand_context("outerwear", PARAMS)
    assert list(demand.stores["store_id"]) == [f"S{n:04d}" for n in range(1, 7)]
    recent = demand.history.store_window(date(2024, 7, 1), date(2024, 12, 23))["units"]
    assert "S0002" not in recent.index and len(recent) == 4


# -- results store and event log -------------------------------------------------------------


def test_results_store_round_trip_upsert_and_latest(postgres_url):
    engine = get_engine(postgres_url)
    create_schema(engine)
    assert load_result(engine, "wf-1", "demand", DemandResult) is None
    save_result(engine, "wf-1", "demand", demand_result("c", total_demand=100), now=NOW)
    save_result(engine, "wf-1", "demand", demand_result("c", total_demand=250), now=NOW)
    save_result(engine, "wf-1", "inventory", inventory_result(), now=NOW)
    assert load_result(engine, "wf-1", "demand", DemandResult) == demand_result(
        "c", total_demand=250
    )
    assert list(list_results(engine, "wf-1")) == ["demand", "inventory"]
    save_result(engine, "wf-2", "inventory", inventory_result(), now=NOW + timedelta(minutes=1))
    for workflow_id in ("wf-1", "wf-2"):
        record_workflow(engine, workflow_id=workflow_id, owner_id="planner-pg", session_id="s")
    assert latest_workflow_with(engine, "inventory", "planner-pg") == "wf-2"
    assert latest_workflow_with(engine, "pricing", "planner-pg") is None

    # A replayed activity racing its first run: update-then-insert must not lose or duplicate.
    barrier = threading.Barrier(6)

    def save(total: int) -> None:
        barrier.wait()
        save_result(engine, "wf-race", "demand", demand_result("c", total_demand=total), now=NOW)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(save, range(6)))
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT COUNT(*) FROM agent_results WHERE workflow_id='wf-race'")
            ).scalar()
            == 1
        )
    raced = load_result(engine, "wf-race", "demand", DemandResult)
    assert raced is not None and raced.total_demand in range(6)


def test_event_sequences_are_gap_free_under_concurrent_writers(postgres_url):
    """Eight writers replay the same two agents' progress at once (a re-run racing the
    original): every message is recorded once, numbers are gap-free, progress only rises."""
    engine = get_engine(postgres_url)
    create_schema(engine)
    threads, steps = 8, 15
    barrier = threading.Barrier(threads)
    agents = ("Demand Agent", "Pricing Agent")

    def write(worker: int) -> list[int]:
        barrier.wait()  # every first write races to create the workflow's stream row
        agent = agents[worker % 2]
        return [
            stored["sequence"]
            for i in range(1, steps + 1)
            for stored in record_events(
                engine,
                workflow_id="wf-conc",
                session_id="s1",
                created_at=NOW,
                messages=[
                    {
                        "type": "progress",
                        "agent_name": agent,
                        "progress": i,
                        "message": f"w{worker}",
                    }
                ],
                build=lambda message, seq: {**message, "sequence": seq},
            )
        ]

    with ThreadPoolExecutor(threads) as pool:
        got = [seq for seqs in pool.map(write, range(threads)) for seq in seqs]
    total = len(agents) * steps
    assert sorted(got) == list(range(1, total + 1))
    events = fetch_events(engine, "wf-conc").events
    for agent in agents:
        assert [e["progress"] for e in events if e["agent_name"] == agent] == list(
            range(1, steps + 1)
        )
    page = fetch_events(engine, "wf-conc", after=20, limit=5)
    assert [e["sequence"] for e in page.events] == list(range(21, 26))
    assert page.last_sequence == total
    assert fetch_events(engine, "wf-none").last_sequence == 0


# -- the local Durable task hub --------------------------------------------------------------


async def test_durable_runtime_persists_and_a_new_runtime_reads_it(postgres_url):
    SCRIPT.reset()
    parameters = SeasonParameters.model_validate(PARAMETERS)
    payload = build_workflow_input(
        "wf-pg", "s-pg", "CAT-1", parameters, fast_settings(), owner_id="planner-pg"
    )
    SCRIPT.set("inventory_agent", "fail", times=1)
    try:
        async with DurableRuntime(scripted_app, postgres_url) as runtime:
            await runtime.start_new(ORCHESTRATOR_NAME, "wf-pg", json.dumps(payload))
            status = await runtime.wait_for("wf-pg", 15)
            await runtime.start_new("retry_probe", "probe", json.dumps({"workflow_id": "probe"}))
            probe = await runtime.wait_for("probe", 15)
    finally:
        SCRIPT.reset()
    assert status is not None and probe is not None
    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["results"]["Pricing Agent"]["leftover_units"] == 144
    attempts = {e["agent_name"]: e["attempts"] for e in status["output"]["execution_log"]}
    assert attempts == {"Demand Agent": 1, "Inventory Agent": 2, "Pricing Agent": 1}
    assert probe["output"] == {"first": {"attempt": 1}, "both": [10, 20]}

    stored = DurableStore(get_engine(postgres_url)).load("wf-pg")
    assert stored is not None
    assert stored.runtime_status == "Completed" and stored.created_at.tzinfo is not None
    kinds = [e["EventType"] for e in stored.history]
    assert kinds[0] == h.EventType.ORCHESTRATOR_STARTED
    assert kinds.count(h.EventType.TASK_FAILED) == 1
    async with DurableRuntime(scripted_app, postgres_url) as again:
        again_status = await again.get_status("wf-pg")
        assert again_status is not None and again_status["output"] == status["output"]
        assert len(await again.history("wf-pg")) == len(stored.history)


async def test_full_workflow_with_the_real_agents(postgres_url, monkeypatch):
    """function_app.app end to end: real context, agents, results store, publisher, events."""
    ensure_sample_data(get_engine(postgres_url), stores=12, weeks=104, categories=1)
    with EmulatorThread(access_key=PUBSUB_KEY) as emulator:
        monkeypatch.setenv("DATABASE_URL", postgres_url)
        monkeypatch.setenv("WebPubSubConnectionString", emulator.connection_string)
        get_settings.cache_clear()
        get_publisher.cache_clear()
        try:
            payload = build_workflow_input(
                "wf-real", "s-real", "outerwear", PARAMS, Settings(), owner_id="planner-pg"
            )
            record_workflow(
                get_engine(postgres_url),
                workflow_id="wf-real",
                owner_id="planner-pg",
                session_id="s-real",
            )
            async with DurableRuntime(function_app.app, postgres_url) as runtime:
                await runtime.start_new(ORCHESTRATOR_NAME, "wf-real", json.dumps(payload))
                status = await runtime.wait_for("wf-real", 60)
                history = await runtime.history("wf-real")
        finally:
            get_publisher().close()
            get_publisher.cache_clear()
            get_settings.cache_clear()

    assert status is not None
    assert status["runtimeStatus"] == "Completed", status["output"]
    results = status["output"]["results"]
    assert list(results) == ["Demand Agent", "Inventory Agent", "Pricing Agent"]
    engine = get_engine(postgres_url)
    stored = list_results(engine, "wf-real")
    assert list(stored) == ["demand", "inventory", "pricing"]
    demand = load_result(engine, "wf-real", "demand", DemandResult)
    inventory = load_result(engine, "wf-real", "inventory", InventoryResult)
    pricing = load_result(engine, "wf-real", "pricing", PricingResult)
    assert demand is not None and inventory is not None and pricing is not None
    assert demand.total_demand > 0 and len(demand.forecast_by_week) == 12
    assert {s.store_id for s in demand.store_forecast} <= {f"S{i:04d}" for i in range(1, 13)}
    assert inventory.manufacturing_qty == results["Inventory Agent"]["manufacturing_qty"]
    assert pricing.inventory_units == inventory.manufacturing_qty
    assert latest_workflow_with(engine, "pricing", "planner-pg") == "wf-real"
    assert latest_workflow_with(engine, "pricing", "someone-else") is None

    events = fetch_events(engine, "wf-real").events
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    kinds = [
        (e["type"], e.get("status"), e["agent_name"]) for e in events if e["type"] != "progress"
    ]
    assert kinds == [
        step
        for agent in results
        for step in (
            ("agent_status", "running", agent),
            ("complete", None, agent),
            ("agent_status", "completed", agent),
        )
    ]
    publishes = [
        json.loads(e["Result"])
        for e in history
        if e["EventType"] == h.EventType.TASK_COMPLETED and "sequences" in (e.get("Result") or "")
    ]
    # The orchestrator publishes only the last agent's complete + completed; each earlier one
    # was recorded by the next agent's activity (its repeat in the batch is skipped).
    assert [len(p["sequences"]) for p in publishes] == [2]


def test_empty_and_unreachable_databases_are_clear_errors(postgres_url):
    with pytest.raises(DataNotFoundError) as empty:
        ContextAssembler(get_engine(postgres_url)).list_categories()
    assert "data_versions" in empty.value.details["missing_tables"]

    unreachable = f"postgresql+psycopg://app:s3cret-pw@127.0.0.1:{_closed_port()}/postgres"
    with pytest.raises(ContextAssemblyError) as down:
        ContextAssembler(get_engine(unreachable)).list_categories()
    dispose_engine(unreachable)
    shown = json.dumps(down.value.details) + str(down.value)
    assert "s3cret-pw" not in shown and "127.0.0.1" not in shown
    assert down.value.details["database"] == "postgresql"


def _closed_port() -> int:
    """A loopback port nothing listens on: bound by the OS, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
