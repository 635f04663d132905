"""The console page in a real headless Chromium against the real app on the local stack
(tests/support/live_stack.py), walked as a planner would: extract -> edit -> run -> live progress
(the emulator closes the connection mid-run, to exercise reconnect + catch-up) -> results (chart,
per-store table with totals, markdowns) -> a second extraction with fewer values (the form is
cleared) -> cancel of a running plan -> a failing plan (one clear error). Each state is asserted
and screenshotted to test-artifacts/console-*.png.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from shared.glossary import describe
from shared.settings import get_settings
from tests.support.live_stack import LiveStack, import_short_category, live_stack
from tests.support.lossy_pubsub import losing_one_message
from tests.support.sqlite_lock import write_locked

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SHORT_CATEGORY = "trial_capsule"  # 30 weeks of history: the Demand agent cannot forecast it
AGENTS = ("Demand Agent", "Inventory Agent", "Pricing Agent")
FEWER_VALUES = "12 weeks starting Jan 6, 2025, bi-weekly replenishment, 20% DC holdback"

pytestmark = [
    pytest.mark.real_component("Chromium"),
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="Chromium not installed (`make chromium` installs it)",
    ),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("console")) as running:
        import_short_category(running.database_url, SHORT_CATEGORY, weeks=30)
        yield running


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, condition, timeout: float = 20.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def screenshot(driver, name: str, whole_page: bool = True) -> None:
    """The page as the planner sees it; `whole_page` grows the window to the page's height."""
    ARTIFACTS.mkdir(exist_ok=True)
    if whole_page:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, max(1000, height + 140))
    driver.save_screenshot(str(ARTIFACTS / f"console-{name}.png"))
    driver.set_window_size(1400, 1000)


def drop_browser_connections(stack: LiveStack) -> None:
    """Close every client connection from the service side, through the real service SDK."""
    with WebPubSubServiceClient.from_connection_string(
        stack.pubsub_connection_string, hub=get_settings().webpubsub_hub
    ) as service:
        service.close_all_connections(reason="test: connection drop")


def field(driver, name: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.NAME, name)


def source_of(driver, name: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'[data-field="{name}"]').get_attribute(
        "data-source"
    )


def footer(driver, table_id: str) -> dict[str, list[str]]:
    """The total rows of a results table: first cell -> the other cells (numbers unformatted)."""
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tfoot tr")
    cells = [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    return {c[0]: [v.replace(",", "") for v in c[1:]] for c in cells}


def column(driver, table_id: str, index: int) -> list[str]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    return [row.find_elements(By.TAG_NAME, "td")[index].text for row in rows]


def csv_of(driver, table_id: str) -> list[str]:
    """The CSV behind the table's Download link, read in the page."""
    from selenium.webdriver.common.by import By

    href = driver.find_element(By.CSS_SELECTOR, f"#{table_id} a.download").get_attribute("href")
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then((r) => r.text()).then(done);",
        href,
    ).splitlines()


def record_pill(driver) -> None:
    """Keep every text the connection pill shows, to check it told the truth during the run."""
    driver.execute_script(
        "window.pillSeen = [document.getElementById('connection').textContent];"
        "new MutationObserver(() => window.pillSeen.push(document.getElementById('connection')"
        ".textContent)).observe(document.getElementById('connection'), {childList: true});"
    )


def count_negotiations(driver) -> None:
    """Count the page's negotiate requests as they are sent (not when they are answered)."""
    driver.execute_script(
        "window.negotiations = 0; const send = window.fetch;"
        "window.fetch = (url, ...rest) => {"
        "  if (String(url).includes('/negotiate?')) window.negotiations += 1;"
        "  return send(url, ...rest); };"
    )


@pytest.fixture(scope="module")
def page(stack, browser):
    """The page after the first extract -> edit -> run, with its results on screen."""
    from selenium.webdriver.common.by import By

    browser.get(stack.base_url + "/")
    assert browser.title == "Season planning console"
    options = (By.CSS_SELECTOR, "#category option")
    wait_for(browser, lambda d: len(d.find_elements(*options)) == 4)
    listed = [o.get_attribute("value") for o in browser.find_elements(*options)]
    assert listed == ["denim", "outerwear", "swimwear", SHORT_CATEGORY]  # GET /api/categories
    assert "(USD)" in browser.find_elements(*options)[0].text
    assert browser.find_element(By.ID, "connection").text == "idle"
    me = httpx.get(f"{stack.base_url}/api/me", timeout=10)
    user = browser.find_element(By.ID, "user")
    if me.status_code == 200:
        wait_for(browser, lambda d: user.is_displayed())
        assert me.json()["name"] in user.text
    else:
        assert not user.is_displayed()

    browser.find_element(By.ID, "extract").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "params-panel").is_displayed())
    assert field(browser, "forecast_horizon_weeks").get_attribute("value") == "12"
    assert field(browser, "season_start_date").get_attribute("value") == "2025-03-03"
    assert field(browser, "season_end_date").get_attribute("value") == "2025-05-26"
    assert field(browser, "dc_holdback_percentage").get_attribute("value") == "30"
    assert field(browser, "markdown_checkpoint_week").get_attribute("value") == "8"
    assert field(browser, "markdown_threshold").get_attribute("value") == "60"
    assert field(browser, "unit_target").get_attribute("value") == ""
    assert source_of(browser, "forecast_horizon_weeks") == "stated"
    assert source_of(browser, "season_end_date") == "computed"
    assert source_of(browser, "unit_target") == "not_mentioned"
    labels = browser.find_element(By.ID, "params").text
    assert "from your text" in labels and "not in your text" in labels
    assert "forecast_horizon_weeks" not in browser.find_element(By.ID, "params-panel").text
    # The example names denim, a category that exists: the server read it, the picker says so.
    assert browser.find_element(By.ID, "category").get_attribute("value") == "denim"
    assert source_of(browser, "category_id") == "stated"
    assert browser.find_element(By.ID, "category-source").text == "from your text"
    screenshot(browser, "1-extracted", whole_page=False)

    field(browser, "unit_target").send_keys("8000")  # an edited field is what gets sent
    holdback = field(browser, "dc_holdback_percentage")
    holdback.clear()
    holdback.send_keys("25")
    assert source_of(browser, "unit_target") == "edited"

    record_pill(browser)
    count_negotiations(browser)
    database = stack.database_url.removeprefix("sqlite:///")
    logged = logged_events(database)
    browser.find_element(By.ID, "run").click()
    # The database's write lock, taken once the plan's first message is logged, stalls the plan
    # at its next message, so the dropped socket is certainly replaced while the plan runs: the
    # lock goes once the page has asked for a new stream (that negotiate waits for the lock).
    with locked_once_the_plan_logs(database, logged):
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".card.running"), timeout=30)
        screenshot(browser, "2-running", whole_page=False)
        drop_browser_connections(stack)
        wait_for(browser, lambda d: d.execute_script("return window.negotiations") >= 2)
    wait_for(
        browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card.completed")) == 3, timeout=30
    )
    wait_for(browser, lambda d: d.find_element(By.ID, "results").is_displayed())
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#markdowns-table tbody tr"))
    wait_for(browser, lambda d: d.find_element(By.ID, "connection").text == "idle")
    return browser


def test_a_plan_runs_live_and_shows_every_store_with_totals_that_add_up(stack, page):
    from selenium.webdriver.common.by import By

    browser = page
    seen = browser.execute_script("return window.pillSeen")
    assert seen[0] == "idle" and "connecting" in seen and "live" in seen
    assert "reconnecting" in seen  # the dropped socket was reported, then replaced
    assert seen[-1] == "idle"
    assert browser.execute_script("return window.negotiations") >= 2
    assert "live" in seen[seen.index("reconnecting") :]  # the new stream went live mid-run

    workflow_id = browser.execute_script("return state.workflowId")
    inventory = httpx.get(f"{stack.base_url}/api/allocations/{workflow_id}", timeout=30).json()
    pricing = httpx.get(f"{stack.base_url}/api/markdowns/{workflow_id}", timeout=30).json()
    forecast = httpx.get(f"{stack.base_url}/api/forecasts/{workflow_id}", timeout=30).json()
    assert forecast["category_id"] == "denim"
    assert "Denim" in browser.find_element(By.ID, "summary").text

    cards = browser.find_elements(By.CSS_SELECTOR, ".card")
    assert [c.get_attribute("data-agent") for c in cards] == [
        "Demand Agent",
        "Inventory Agent",
        "Pricing Agent",
    ]
    for card in cards:
        assert card.find_element(By.CSS_SELECTOR, ".status").text.lower() == "done"
        assert (
            card.find_element(By.CSS_SELECTOR, ".bar > div").get_attribute("style").strip()
            == "width: 100%;"
        )
    assert "Forecast demand" in cards[0].text and "Typical forecast error" in cards[0].text
    assert "Units to manufacture" in cards[1].text
    assert "Expected revenue" in cards[2].text and "$" in cards[2].text
    for raw in ("safety stock pct", "wape", "manufacturing qty", "warnings"):
        assert raw not in " ".join(c.text for c in cards).lower()

    # The chart: the line, its band, one dot per week and titled axes.
    assert browser.find_elements(By.CSS_SELECTOR, "#chart svg polygon.band")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart svg circle.dot")) == 12
    titles = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#chart text.axis-title")]
    assert titles == ["Week starting", "Units per week"]

    # Every store, with totals that visibly add up to the manufacturing quantity (the unit target).
    stores = [s for c in inventory["clusters"] for s in c["stores"]]
    assert len(column(browser, "allocations-table", 0)) == len(stores) == 50
    totals = footer(browser, "allocations-table")
    launch = int(totals["All 50 stores"][4])
    held = int(totals["Plus held back at the DC"][4])
    made = int(totals["Equals manufacturing quantity"][4])
    assert (
        launch
        == inventory["initial_allocation_total"]
        == sum(s["initial_allocation"] for s in stores)
    )
    assert launch + held == made == inventory["manufacturing_qty"] == 8000
    assert abs(held - 0.25 * made) <= 0.5  # the edited 25 % holdback reached the Inventory agent
    assert totals["All 50 stores"][5] == "100.00%"
    assert totals["All 50 stores"][6] == f"{inventory['launch_weeks_of_supply']:.1f} wk"
    # Store names and regions beside the ids.
    named = {s["store_id"]: s for s in stores}
    first_id = column(browser, "allocations-table", 0)[0]
    assert column(browser, "allocations-table", 1)[0] == named[first_id]["store_name"]
    assert column(browser, "allocations-table", 2)[0] == named[first_id]["region"]

    # Sortable: the allocation column ascending, then descending.
    def allocation_header():
        return browser.find_elements(By.CSS_SELECTOR, "#allocations-table th")[5]

    allocation_header().click()
    ascending = [int(v.replace(",", "")) for v in column(browser, "allocations-table", 5)]
    assert ascending == sorted(ascending)
    assert allocation_header().get_attribute("aria-sort") == "ascending"
    allocation_header().click()
    descending = [int(v.replace(",", "")) for v in column(browser, "allocations-table", 5)]
    assert descending == sorted(ascending, reverse=True)
    # Filterable, with a subtotal for what is shown; the CSV holds the rows shown and the totals
    # (all stores, DC holdback, manufacturing), shares in percent.
    store = stores[0]["store_id"]
    search = browser.find_element(By.CSS_SELECTOR, "#allocations-table input[type=search]")
    search.send_keys(store)
    assert column(browser, "allocations-table", 0) == [store]
    assert "Shown stores (1)" in footer(browser, "allocations-table")
    lines = csv_of(browser, "allocations-table")
    assert lines[0] == (
        "Store,Store name,Region,Store group,Season forecast (units),Launch allocation (units),"
        "Share of launch (%),Weeks of supply at launch"
    )
    assert len(lines) == 6 and lines[1].startswith(f"{store},{stores[0]['store_name']},")
    search.clear()
    search.send_keys(" ")
    search.clear()
    browser.execute_script("arguments[0].dispatchEvent(new Event('input'))", search)
    lines = csv_of(browser, "allocations-table")
    assert len(lines) == 1 + 50 + 3
    csv_totals = {line.split(",")[0]: line.split(",") for line in lines[-3:]}
    assert csv_totals["All 50 stores"][5] == str(inventory["initial_allocation_total"])
    assert csv_totals["All 50 stores"][6] == "100"
    assert csv_totals["Plus held back at the DC"][5] == str(inventory["dc_holdback_total"])
    assert csv_totals["Equals manufacturing quantity"][5] == "8000"
    share = lines[1].split(",")[6]
    assert share.replace(".", "").isdigit() and float(share) < 100  # a percent, not 0.0546

    # Forecast by week and the markdown plan: rows, totals, money in the category's currency.
    assert len(column(browser, "forecast-table", 0)) == 12
    assert footer(browser, "forecast-table")["Season total (12 weeks)"][1] == str(
        forecast["total_demand"]
    )
    assert len(csv_of(browser, "forecast-table")) == 14
    assert footer(browser, "forecast-table")["Season total (12 weeks)"][4] == str(
        forecast["last_year_total"]
    )
    prices = column(browser, "markdowns-table", 3)
    assert len(prices) == len(pricing["markdowns"]) and all(p.startswith("$") for p in prices)
    assert footer(browser, "markdowns-table")["Season (12 weeks)"][3] == str(
        pricing["expected_units_sold"]
    )
    markdown_csv = csv_of(browser, "markdowns-table")
    assert len(markdown_csv) == len(pricing["markdowns"]) + 3
    assert markdown_csv[0].endswith(",Currency") and markdown_csv[1].endswith(",USD")

    # The season in a planner's terms, reconciling to the unit with the agents' own results.
    plan = httpx.get(f"{stack.base_url}/api/plans/{workflow_id}", timeout=30).json()
    weeks = plan["weeks"]
    assert len(column(browser, "stock-flow-table", 0)) == 12
    flow = footer(browser, "stock-flow-table")["Season (12 weeks)"]
    assert flow[2] == str(forecast["total_demand"]) == str(sum(w["forecast_units"] for w in weeks))
    assert flow[3] == str(forecast["last_year_total"])
    assert flow[7] == str(sum(w["stores"]["receipts"] for w in weeks))
    assert flow[8] == str(pricing["expected_units_sold"]) == str(plan["money"]["units_sold"])
    assert flow[9] == str(plan["lost_sales"]) == str(sum(w["lost_sales"] for w in weeks))
    assert flow[13] == str(weeks[-1]["dc"]["closing"])
    # A column's heading says its one definition (the glossary's) on hover.
    heading = browser.find_element(By.CSS_SELECTOR, '#stock-flow-table th[data-key="sell_through"]')
    assert heading.get_attribute("title") == describe("store_sell_through")
    money_rows = {
        row[0]: row
        for row in (line.split(",") for line in csv_of(browser, "money-table")[1:])
        if row
    }
    assert money_rows["Revenue"][1:3] == [
        str(plan["money"]["units_sold"]),
        str(plan["money"]["revenue"]).removesuffix(".0"),
    ]
    margin = f"${plan['money']['gross_margin']:,.2f}"
    assert margin in browser.find_element(By.ID, "money-table").text
    buy = footer(browser, "buy-plan-table")
    assert buy["Equals manufacturing quantity"][2] == "8000"
    assert buy[f"All {len(plan['buy_plan'])} vendor receipts"][2] == str(
        sum(b["units"] for b in plan["buy_plan"])
    )
    assert column(browser, "buy-plan-table", 2) == [b["order_by"] for b in plan["buy_plan"]]
    kpis = browser.find_element(By.ID, "summary").text
    assert "Weeks of supply at launch" in kpis and "Gross margin" in kpis
    assert "GMROI (season)" in kpis and "GMROI (annualised)" in kpis
    assert f"{inventory['launch_weeks_of_supply']:.1f} wk" in kpis
    assert browser.find_elements(By.CSS_SELECTOR, "#chart svg polyline.last-year")
    assert browser.find_elements(By.CSS_SELECTOR, "#chart svg line.buy")
    notes = browser.find_element(By.ID, "forecast-notes").text
    assert forecast["model_description"][:40] in notes and "Forecast confidence" in notes

    # A downloaded cell a spreadsheet would run as a formula is neutralised (OWASP).
    cells = browser.execute_script(
        "return ['=HYPERLINK(1)', '+1', '-1', '@SUM(A1)', '\\tx', '\\rx', 'ok', -1].map(csvCell)"
    )
    assert cells == ["'=HYPERLINK(1)", "'+1", "'-1", "'@SUM(A1)", "'\tx", '"\'\rx"', "ok", "-1"]
    # Also after NFKC normalisation and past invisible characters, as at the import.
    sneaky = ["\uff1dHYPERLINK(1)", "\uff0b1", "\uff20x", "\ufeff=1", "\u200b=1", " =1"]
    cells = browser.execute_script("return arguments[0].map(csvCell)", [*sneaky, "Ｓ9"])
    assert cells == ["'" + cell for cell in sneaky] + ["Ｓ9"]

    # The unit target (8,000) is far below the forecast: the Inventory agent's warning is shown.
    summary = next(
        m
        for m in httpx.get(
            f"{stack.base_url}/api/orchestrator/workflows/{workflow_id}/events", timeout=30
        ).json()["events"]
        if m["type"] == "complete" and m["agent_name"] == "Inventory Agent"
    )["result"]
    warnings = browser.find_element(By.ID, "plan-warnings")
    check = summary.get("target_check")
    if (
        check
        or inventory["warnings"]
        or (isinstance(summary.get("warnings"), list) and summary["warnings"])
    ):
        assert warnings.is_displayed() and "Check before you order" in warnings.text
        if check and check["verdict"] == "below_80":
            assert check["message"] in warnings.text
    assert not browser.find_element(By.ID, "error").is_displayed()
    screenshot(browser, "3-results")
    browser.execute_script("document.getElementById('allocations-table').scrollIntoView()")
    browser.execute_script("window.scrollBy(0, -40)")
    screenshot(browser, "3-store-allocations", whole_page=False)
    for section, name in (("stock-flow-table", "3-stock-flow"), ("money-table", "3-money")):
        browser.execute_script(f"document.getElementById('{section}').scrollIntoView()")
        browser.execute_script("window.scrollBy(0, -80)")
        screenshot(browser, name, whole_page=False)


def test_a_second_extraction_replaces_the_whole_form(page):
    from selenium.webdriver.common.by import By

    browser = page
    strategy = browser.find_element(By.ID, "strategy")
    strategy.clear()
    strategy.send_keys(FEWER_VALUES)
    browser.find_element(By.ID, "extract").click()
    wait_for(
        browser, lambda d: field(d, "season_start_date").get_attribute("value") == "2025-01-06"
    )
    assert field(browser, "unit_target").get_attribute("value") == ""
    assert field(browser, "markdown_checkpoint_week").get_attribute("value") == ""
    assert field(browser, "markdown_threshold").get_attribute("value") == ""
    assert field(browser, "dc_holdback_percentage").get_attribute("value") == "20"
    assert field(browser, "replenishment_strategy").get_attribute("value") == "bi-weekly"
    for name in ("unit_target", "markdown_checkpoint_week", "markdown_threshold"):
        assert source_of(browser, name) == "not_mentioned"
    summary = browser.find_element(By.ID, "sources-summary").text
    assert "Not in your text, left empty: unit target, markdown checkpoint" in summary
    screenshot(browser, "4-second-extraction", whole_page=False)


def test_cancel_stops_a_running_plan(page, stack, axe):
    """The database's write lock, taken as soon as the plan's first message is logged, stalls
    the running agent at its next progress message: the plan is certainly still running when
    axe-core checks the page and the planner cancels it (the lock goes once the cancel is on
    its way)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser = page
    database = stack.database_url.removeprefix("sqlite:///")
    logged = logged_events(database)
    Select(browser.find_element(By.ID, "category")).select_by_value("denim")
    browser.find_element(By.ID, "run").click()
    with locked_once_the_plan_logs(database, logged):
        cancel = browser.find_element(By.ID, "cancel")
        wait_for(
            browser,
            lambda d: cancel.is_displayed() and d.find_elements(By.CSS_SELECTOR, ".card.running"),
        )
        assert browser.find_element(By.ID, "connection").text == "live"
        audit_state(browser, axe, "running")  # the plan waits for the lock meanwhile
        cancel.click()
        time.sleep(0.5)
    notice = browser.find_element(By.ID, "notice")
    wait_for(browser, lambda d: notice.is_displayed(), timeout=15)
    assert "Plan cancelled" in notice.text
    statuses = [s.text.lower() for s in browser.find_elements(By.CSS_SELECTOR, ".card .status")]
    assert statuses == ["cancelled", "cancelled", "cancelled"]
    assert not browser.find_element(By.ID, "error").is_displayed()
    assert not cancel.is_displayed()
    workflow_id = browser.execute_script("return state.workflowId")
    status = httpx.get(f"{page_url(browser)}/api/orchestrator/workflows/{workflow_id}", timeout=10)
    assert status.json()["runtime_status"] == "Terminated"
    wait_for(browser, lambda d: d.find_element(By.ID, "connection").text == "idle")
    screenshot(browser, "5-cancelled", whole_page=False)


def test_a_plan_run_while_the_database_is_locked_waits_as_told_and_completes(page, stack):
    """Run plan while another writer holds the database: run-workflow answers 503 with
    Retry-After, the page asks again after the wait it names, and once the lock goes the plan
    runs to the end with no error shown."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser = page
    database = stack.database_url.removeprefix("sqlite:///")
    Select(browser.find_element(By.ID, "category")).select_by_value("denim")
    before = browser.execute_script("return state.workflowId")
    with write_locked(database):
        browser.find_element(By.ID, "run").click()
        time.sleep(5)  # two 503s at least (2 s lock wait + Retry-After 2 s each)
        assert browser.execute_script("return state.workflowId") is None  # not started yet
        assert not browser.find_element(By.ID, "error").is_displayed()
    wait_for(
        browser,
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, ".card.completed")) == 3
            and d.execute_script("return state.workflowId") != before
        ),
        timeout=60,
    )
    wait_for(browser, lambda d: d.find_element(By.ID, "connection").text == "idle")
    assert not browser.find_element(By.ID, "error").is_displayed()


def test_a_planner_at_the_running_plan_limit_is_told_in_words_and_the_plan_runs_later(page, stack):
    """Issue 32 case 2: the planner already has MAX_RUNNING_PLANS_PER_USER (3) plans started
    (recorded, not finished): run-workflow answers 429 with Retry-After; the page says so in
    words while it waits, asks again as told, and runs the plan once a slot is free."""
    from datetime import UTC, datetime

    from selenium.webdriver.common.by import By
    from sqlalchemy import delete, insert

    from localdev.host.server import LocalDeveloper
    from shared.data.db import get_engine
    from shared.data.tables import WorkflowOwnerRow

    browser = page
    engine = get_engine(stack.database_url)
    holders = [f"holding-{n}" for n in range(3)]
    with engine.begin() as conn:
        for workflow_id in holders:
            conn.execute(
                insert(WorkflowOwnerRow).values(
                    workflow_id=workflow_id,
                    owner_id=LocalDeveloper().user_id,
                    session_id="s",
                    created_at=datetime.now(UTC),
                )
            )
    before = browser.execute_script("return state.workflowId")
    try:
        browser.find_element(By.ID, "run").click()
        wait_for(browser, lambda d: d.find_element(By.ID, "notice").is_displayed())
        notice = browser.find_element(By.ID, "notice").text
        assert "Waiting for one of your plans to finish" in notice
        assert (
            "You have 3 plans running" in notice
            and "retry in 5 s" in notice
            and "asks again by itself" in notice
        )
        assert not browser.find_element(By.ID, "error").is_displayed()
        screenshot(browser, "4-too-many-running-plans", whole_page=False)
    finally:
        with engine.begin() as conn:
            conn.execute(delete(WorkflowOwnerRow).where(WorkflowOwnerRow.workflow_id.in_(holders)))
    wait_for(
        browser,
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, ".card.completed")) == 3
            and d.execute_script("return state.workflowId") != before
        ),
        timeout=60,
    )
    assert not browser.find_element(By.ID, "notice").is_displayed()
    assert not browser.find_element(By.ID, "error").is_displayed()


def test_a_message_the_socket_never_got_is_shown_from_the_event_log(page, monkeypatch):
    """The service loses the Demand agent's `complete` between the publisher and the socket:
    the next message reveals the gap, the page fetches the lost one from the event log at once,
    and the Demand card shows the summary only that message carries."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser = page
    Select(browser.find_element(By.ID, "category")).select_by_value("denim")
    demand_complete = {"type": "complete", "agent_name": "Demand Agent"}
    with losing_one_message(
        monkeypatch, lambda body: demand_complete.items() <= body.items()
    ) as lost:
        browser.find_element(By.ID, "run").click()
        wait_for(
            browser,
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card.completed")) == 3,
            timeout=60,
        )
        wait_for(browser, lambda d: d.find_element(By.ID, "connection").text == "idle")
    assert len(lost) == 1
    summary = browser.find_element(By.CSS_SELECTOR, '[data-agent="Demand Agent"] dl')
    assert summary.find_elements(By.TAG_NAME, "dt")  # drawn from the lost message's result
    seen = browser.execute_script("return [...state.seen].sort((a, b) => a - b)")
    assert lost[0]["sequence"] in seen
    assert seen == list(range(1, len(seen) + 1))
    screenshot(browser, "7-gap-filled", whole_page=False)


@contextmanager
def locked_once_the_plan_logs(database: str, logged: int) -> Iterator[None]:
    """Takes the database's write lock once the event log has grown past `logged` (the plan's
    first message) and holds it for the block: the plan stalls at its next message meanwhile."""
    deadline = time.monotonic() + 20
    while logged_events(database) == logged:
        assert time.monotonic() < deadline, "the plan logged nothing"
        time.sleep(0.005)
    with write_locked(database):
        yield


def logged_events(database: str) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT COUNT(*) FROM workflow_event_log").fetchone()[0]


def page_url(browser) -> str:
    return browser.execute_script("return location.origin")


def test_a_failing_plan_shows_one_clear_error(page, axe):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser = page
    Select(browser.find_element(By.ID, "category")).select_by_value(SHORT_CATEGORY)
    browser.find_element(By.ID, "run").click()
    error = browser.find_element(By.ID, "error")
    wait_for(browser, lambda d: error.is_displayed(), timeout=30)
    text = error.text
    assert text.startswith(("Demand Agent could not finish", "Demand Agent took too long"))
    assert "Demand Agent failed: Demand Agent" not in text
    assert "Traceback" not in text and "AGENT_EXECUTION_ERROR" not in text
    # No worker wrapping and no exception class names reach the planner (issue 14).
    assert "Activity function" not in text and "Error:" not in text and "attempt(s)" not in text
    assert len(browser.find_elements(By.CSS_SELECTOR, "[role=alert].error:not(.hidden)")) == 1
    statuses = [s.text.lower() for s in browser.find_elements(By.CSS_SELECTOR, ".card .status")]
    assert statuses == ["failed", "did not run", "did not run"]
    assert (
        "Did not run: the Demand Agent failed first."
        in browser.find_element(By.CSS_SELECTOR, "[data-agent='Pricing Agent']").text
    )
    # The error's suggestions, in words.
    suggestions = browser.find_elements(By.CSS_SELECTOR, "#error li")
    assert suggestions and any("import" in li.text.lower() for li in suggestions)
    assert not browser.find_element(By.ID, "notice").is_displayed()
    assert not browser.find_element(By.ID, "results").is_displayed()
    wait_for(browser, lambda d: focused(d, "el.id === 'error'"))  # focus goes to the error
    screenshot(browser, "6-failed", whole_page=False)
    audit_state(browser, axe, "short-history-error")


def test_bad_input_is_one_error_in_words(stack, browser):
    from selenium.webdriver.common.by import By

    browser.get(stack.base_url + "/")
    strategy = browser.find_element(By.ID, "strategy")
    strategy.clear()
    strategy.send_keys("short")
    browser.find_element(By.ID, "extract").click()
    error = browser.find_element(By.ID, "error")
    wait_for(browser, lambda d: error.is_displayed())
    assert error.text.startswith("Some values need fixing")
    assert "Season description" in error.text and "strategy_description" not in error.text
    assert "Reference:" in error.text
    assert not browser.find_element(By.ID, "params-panel").is_displayed()
    assert focused(browser, "el.id === 'error'")


# ---------------------------------------------------------------- every planner: keyboard, phone,
# screen reader (axe-core in every state, at a desktop's and a phone's width)

AUDIT_LOG = ARTIFACTS / "console-accessibility.txt"


@pytest.fixture(scope="module")
def axe() -> str:
    from tests.support.axe import axe_source

    ARTIFACTS.mkdir(exist_ok=True)
    AUDIT_LOG.write_text("")
    return axe_source()


def audit_state(driver, source: str, name: str) -> None:
    """axe-core on the page as it is, at 1366 px and at 390 px: no serious or critical violation
    (nor a heading-order one) at either, and no sideways scroll on the phone. Each width is
    screenshotted whole and its counts logged to test-artifacts/console-accessibility.txt."""
    from tests.support.axe import (
        DESKTOP,
        PHONE,
        audit,
        horizontal_overflow,
        reset_viewport,
        set_viewport,
    )

    blocking: list[str] = []
    overflow = 0
    try:
        for size in (DESKTOP, PHONE):
            set_viewport(driver, size)
            violations = audit(driver, source)
            if size == PHONE:
                overflow = horizontal_overflow(driver)
            impacts = ("critical", "serious", "moderate", "minor")
            counts = {i: sum(v.impact == i for v in violations) for i in impacts}
            with AUDIT_LOG.open("a") as log:
                log.write(f"{name} @ {size[0]} px: {counts} overflow={overflow}\n")
                log.writelines(f"    {v}\n" for v in violations)
            blocking += [f"{size[0]} px: {v}" for v in violations if v.blocking]
            height = driver.execute_script("return document.documentElement.scrollHeight")
            set_viewport(driver, (size[0], max(size[1], height)))
            driver.save_screenshot(str(ARTIFACTS / f"console-{name}-{size[0]}px.png"))
    finally:
        reset_viewport(driver)
    assert not blocking, f"{name}: " + "\n".join(blocking)
    assert overflow == 0, f"{name}: the page scrolls sideways by {overflow} px at 390 px"


def keys(driver, *sequence: str) -> None:
    """Press keys as a keyboard would, into whatever has the focus."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*sequence).perform()


def focused(driver, condition: str) -> bool:
    """Whether the focused element `el` meets a JavaScript condition."""
    return bool(driver.execute_script(f"const el = document.activeElement; return {condition};"))


def record_announcements(driver) -> None:
    """Keep what the polite live region says and count the redraws of the warning alert (each
    one is read out again)."""
    driver.execute_script(
        "window.announced = []; window.warningDraws = 0;"
        "const live = document.getElementById('progress-announcer');"
        "new MutationObserver(() => window.announced.push(live.textContent))"
        "  .observe(live, {childList: true, characterData: true, subtree: true});"
        "new MutationObserver((records) => { window.warningDraws += records.length; })"
        "  .observe(document.getElementById('plan-warnings'), {childList: true});"
    )


def tab_to(driver, condition: str, limit: int = 80) -> None:
    """Tab forward until the focused element meets `condition` (a JavaScript test on `el`)."""
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        keys(driver, Keys.TAB)
        if focused(driver, condition):
            return
    raise AssertionError(f"{limit} Tabs never reached {condition}")


def rows_of(driver, table_id: str) -> int:
    from selenium.webdriver.common.by import By

    return len(driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr"))


def test_keyboard_only_walk_from_the_description_to_the_results(stack, browser, axe):
    """Tab, Enter and Escape only, from the page's top to a sorted results table; axe-core in
    each state on the way (landing, extracted form, results) at both widths."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(stack.base_url + "/")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#category option")) == 4)
    audit_state(browser, axe, "landing")

    tab_to(browser, "el.id === 'strategy'")
    description = browser.find_element(By.ID, "strategy").get_attribute("value")
    ActionChains(browser).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(
        Keys.CONTROL
    ).perform()
    wait_for(browser, lambda d: d.find_element(By.ID, "params-panel").is_displayed())
    # Focus moves to the details it filled in; the shortcut typed nothing into the description.
    wait_for(browser, lambda d: focused(d, "el.id === 'params-heading'"))
    assert browser.find_element(By.ID, "strategy").get_attribute("value") == description
    assert field(browser, "forecast_horizon_weeks").get_attribute("value") == "12"
    audit_state(browser, axe, "extracted")

    tab_to(browser, "el.name === 'unit_target'")
    record_announcements(browser)
    keys(browser, "8000", Keys.ENTER)  # Enter in a field runs the plan
    wait_for(browser, lambda d: d.find_element(By.ID, "run").get_attribute("disabled"))
    wait_for(
        browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card.completed")) == 3, timeout=60
    )
    wait_for(browser, lambda d: focused(d, "el.id === 'results-heading'"), timeout=30)
    # Each agent's start and end are announced once, politely; the warning alert is drawn once.
    assert browser.find_element(By.ID, "progress-announcer").get_attribute("aria-live") == "polite"
    heard = browser.execute_script("return window.announced")
    assert heard == [f"{agent} {word}." for agent in AGENTS for word in ("running", "done")]
    assert browser.execute_script("return window.warningDraws") == 1
    footer_rows = footer(browser, "allocations-table")
    assert footer_rows["Equals manufacturing quantity"][4] == "8000"
    audit_state(browser, axe, "results")

    # The store table's filter: a store's id narrows it to one row, Escape brings them all back.
    tab_to(browser, "el.matches('#allocations-table input[type=search]')")
    store = column(browser, "allocations-table", 0)[0]
    keys(browser, store)
    assert column(browser, "allocations-table", 0) == [store]
    keys(browser, Keys.ESCAPE)
    assert rows_of(browser, "allocations-table") == 50
    assert (
        browser.find_element(By.CSS_SELECTOR, "#allocations-table input").get_attribute("value")
        == ""
    )

    # A sortable header is a button: Tab reaches it, Enter sorts, the focus stays on it.
    tab_to(browser, "el.closest('#allocations-table th[data-key=allocation]') !== null")
    header = "#allocations-table th[data-key=allocation]"
    for order in ("ascending", "descending"):
        keys(browser, Keys.ENTER)
        assert browser.find_element(By.CSS_SELECTOR, header).get_attribute("aria-sort") == order
        assert focused(browser, f"el.closest('{header}') !== null")
        shown = [int(v.replace(",", "")) for v in column(browser, "allocations-table", 5)]
        assert shown == sorted(shown, reverse=order == "descending")


def test_a_phone_walk_at_390px_never_scrolls_sideways(stack, browser):
    """At 390 x 844 (a phone), and at 320 px: the page never scrolls sideways, the form is one
    column, the buttons are on screen, each table scrolls in its own box with its first column
    in view, and the chart is drawn at the phone's width with labels of a readable size."""
    from selenium.webdriver.common.by import By

    from tests.support.axe import (
        NARROWEST,
        PHONE,
        horizontal_overflow,
        reset_viewport,
        set_viewport,
    )

    def on_screen(element_id: str) -> bool:
        return browser.execute_script(
            "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
            "return r.left >= 0 && r.right <= document.documentElement.clientWidth;",
            element_id,
        )

    set_viewport(browser, PHONE)
    try:
        browser.get(stack.base_url + "/")
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#category option")) == 4)
        assert horizontal_overflow(browser) == 0
        assert on_screen("extract") and on_screen("category") and on_screen("strategy")
        browser.find_element(By.ID, "extract").click()
        wait_for(browser, lambda d: d.find_element(By.ID, "params-panel").is_displayed())
        assert horizontal_overflow(browser) == 0
        labels = browser.find_elements(By.CSS_SELECTOR, "#params label")
        lefts = {label.rect["x"] for label in labels}
        assert len(lefts) == 1, f"the form is not one column: labels start at {sorted(lefts)}"
        assert on_screen("run")
        browser.find_element(By.ID, "run").click()
        wait_for(browser, lambda d: rows_of(d, "markdowns-table"), timeout=60)
        assert horizontal_overflow(browser) == 0
        height = browser.execute_script("return document.documentElement.scrollHeight")
        set_viewport(browser, (PHONE[0], height))
        browser.save_screenshot(str(ARTIFACTS / "console-phone-results.png"))
        set_viewport(browser, PHONE)

        # The store table is wider than the phone: it scrolls in its own box, and the store
        # column stays put while the numbers scroll under it.
        box = browser.find_element(By.CSS_SELECTOR, "#allocations-table .table-scroll")
        assert box.rect["x"] + box.rect["width"] <= PHONE[0]
        assert browser.execute_script("return arguments[0].scrollWidth", box) > box.rect["width"]
        first = browser.find_element(By.CSS_SELECTOR, "#allocations-table tbody td")
        before = first.rect["x"]
        browser.execute_script("arguments[0].scrollLeft = 200", box)
        assert first.rect["x"] == before
        assert horizontal_overflow(browser) == 0
        browser.execute_script("arguments[0].scrollIntoView()", box)
        browser.save_screenshot(str(ARTIFACTS / "console-phone-store-table.png"))

        # The chart fits the phone and its tick labels are at least 10 px tall on screen.
        chart = browser.find_element(By.CSS_SELECTOR, "#chart svg")
        assert chart.rect["width"] <= PHONE[0]
        label_heights = browser.execute_script(
            "return [...document.querySelectorAll('#chart svg text:not(.axis-title)')]"
            ".map((t) => t.getBoundingClientRect().height)"
        )
        assert label_heights and min(label_heights) >= 10
        assert "in the table below" in browser.find_element(By.ID, "chart-summary").text

        set_viewport(browser, NARROWEST)  # the narrowest phone still fits
        assert horizontal_overflow(browser) == 0
        browser.save_screenshot(str(ARTIFACTS / "console-phone-320px.png"))
    finally:
        reset_viewport(browser)


def test_an_inferred_value_is_marked_legibly(stack, browser, axe):
    """A start date without a year is inferred: its field is highlighted and says so, in colours
    that pass axe-core at both widths."""
    from selenium.webdriver.common.by import By

    browser.get(stack.base_url + "/")
    strategy = browser.find_element(By.ID, "strategy")
    strategy.clear()
    strategy.send_keys("Denim: 12 weeks starting March 3, weekly replenishment, 20% DC holdback")
    browser.find_element(By.ID, "extract").click()
    wait_for(browser, lambda d: source_of(d, "season_start_date") == "inferred")
    label = browser.find_element(By.CSS_SELECTOR, '[data-field="season_start_date"] .source')
    assert "please check" in label.text
    audit_state(browser, axe, "inferred-value")


def read_description(browser, text: str) -> None:
    from selenium.webdriver.common.by import By

    strategy = browser.find_element(By.ID, "strategy")
    strategy.clear()
    strategy.send_keys(text)
    browser.find_element(By.ID, "extract").click()


def test_the_text_decides_category_and_year_and_a_data_failure_keeps_the_form(stack, browser, axe):
    from selenium.webdriver.common.by import By

    browser.get(stack.base_url + "/")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#category option")) == 4)
    error = browser.find_element(By.ID, "error")

    # A product the database does not have: refused in words, naming what exists.
    read_description(
        browser,
        "Dresses for spring 2025: 12 weeks from March 3, weekly replenishment, 10% DC holdback.",
    )
    wait_for(browser, lambda d: error.is_displayed())
    assert error.text.startswith("Some values need fixing")
    assert "'Dresses', which is not a category with sales history" in error.text
    assert "Denim (denim), Outerwear (outerwear), Swimwear (swimwear)" in error.text
    assert not browser.find_element(By.ID, "params-panel").is_displayed()
    screenshot(browser, "7-unknown-product", whole_page=False)

    # A season with its year and a category: both from the text.
    read_description(
        browser,
        "Spring 2025 swimwear, 12 weeks from March 2, weekly replenishment, 10% DC holdback.",
    )
    wait_for(browser, lambda d: d.find_element(By.ID, "params-panel").is_displayed())
    assert not error.is_displayed()
    assert field(browser, "season_start_date").get_attribute("value") == "2025-03-02"
    assert browser.find_element(By.ID, "category").get_attribute("value") == "swimwear"
    assert source_of(browser, "category_id") == "stated"

    # No year and no product: the next March 1 (inferred, with the reason) and the default
    # category. The test sample ends in December 2024, so that season is out of its reach: the
    # error names the dates and the form stays, the assumed fields highlighted.
    read_description(
        browser, "Spring fashion: 12 weeks starting March 1, weekly replenishment, 10% DC holdback."
    )
    start = field(browser, "season_start_date")
    wait_for(browser, lambda d: start.get_attribute("value").endswith("-03-01"))
    year = start.get_attribute("value")[:4]
    assert source_of(browser, "season_start_date") == "inferred"
    start_label = browser.find_element(By.CSS_SELECTOR, '[data-field="season_start_date"]')
    assert f"assumed {year}: the text names no year" in start_label.text
    assert browser.find_element(By.ID, "category").get_attribute("value") == "denim"
    assert source_of(browser, "category_id") == "not_mentioned"
    assert "the default category" in browser.find_element(By.ID, "category-source").text
    browser.find_element(By.ID, "run").click()
    wait_for(browser, lambda d: error.is_displayed(), timeout=30)
    text = " ".join(error.text.split())
    assert text.startswith("Demand Agent could not finish")
    assert f"The season starts on {year}-03-01" in text
    assert "covers the weeks of 2022-01-03 to 2024-12-23" in text
    assert "Start the season on or before 2026-12-28" in text
    assert "Or import history for 'denim' through at least the week of" in text
    assert f"Check the highlighted season start: assumed {year}: the text names no year." in text
    assert "Check the category: the text names none, so the default (Denim) was used." in text
    summary = browser.find_element(By.ID, "sources-summary").text
    assert "Category" not in summary  # the picker says it; the summary is about the form
    assert browser.find_element(By.ID, "params-panel").is_displayed()
    assert start.get_attribute("value") == f"{year}-03-01"
    assert source_of(browser, "season_start_date") == "inferred"
    screenshot(browser, "8-history-error")
    audit_state(browser, axe, "history-error")


@pytest.fixture(scope="module")
def signed_out_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """The app with nobody signed in: every API call answers 401, as Easy Auth's Return401 does
    for a browser whose session has ended."""
    with live_stack(tmp_path_factory.mktemp("signed-out"), developer=None) as running:
        yield running


def test_a_401_sends_the_browser_to_sign_in_once_then_says_so(signed_out_stack, browser):
    from selenium.webdriver.common.by import By

    base = signed_out_stack.base_url
    assert httpx.get(f"{base}/api/categories", timeout=10).status_code == 401
    browser.get(base + "/?from=test")
    sign_in = f"{base}/.auth/login/aad?post_login_redirect_uri=%2F%3Ffrom%3Dtest"
    wait_for(browser, lambda d: d.current_url == sign_in)
    # The local host only plays App Service Authentication: its sign-in page says how to be
    # someone here.
    assert "SIGN_IN_NOT_AVAILABLE" in browser.page_source
    assert "--no-default-user" in browser.page_source

    # Back on the page within the minute (signing in did not cure the 401): no second trip to
    # the login page, the app's own answer in words instead.
    browser.get(base + "/")
    wait_for(browser, lambda d: d.find_element(By.ID, "strategy").is_displayed())
    browser.find_element(By.ID, "extract").click()
    error = browser.find_element(By.ID, "error")
    wait_for(browser, lambda d: error.is_displayed())
    assert browser.current_url == base + "/"
    assert "Reference:" in error.text and "Traceback" not in error.text
    screenshot(browser, "9-signed-out", whole_page=False)


README_SEASON = (
    "I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly replenishment. 15% DC holdback."
)


def test_the_readme_season_reads_the_same_on_screen_as_in_the_json(stack, browser):
    """The README's season, walked as a planner would: every total on screen is the number the
    result routes serve (stock flow, weeks of supply, margin, buy plan, last year)."""
    from selenium.webdriver.common.by import By

    browser.get(stack.base_url + "/")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#category option[value=denim]"))
    strategy = browser.find_element(By.ID, "strategy")
    strategy.clear()
    strategy.send_keys(README_SEASON)
    browser.find_element(By.ID, "extract").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "params-panel").is_displayed())
    browser.find_element(By.ID, "run").click()
    wait_for(
        browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card.completed")) == 3, timeout=60
    )
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#buy-plan-table tbody tr"))
    workflow_id = browser.execute_script("return state.workflowId")
    api = stack.base_url + "/api"
    forecast = httpx.get(f"{api}/forecasts/{workflow_id}", timeout=30).json()
    inventory = httpx.get(f"{api}/allocations/{workflow_id}", timeout=30).json()
    plan = httpx.get(f"{api}/plans/{workflow_id}", timeout=30).json()
    money, weeks = plan["money"], plan["weeks"]

    assert footer(browser, "forecast-table")["Season total (12 weeks)"][1] == str(
        forecast["total_demand"]
    )
    stores = footer(browser, "allocations-table")
    assert stores["All 50 stores"][3] == str(sum(s["units"] for s in forecast["store_forecast"]))
    assert stores["All 50 stores"][3] == str(forecast["total_demand"])
    assert stores["Equals manufacturing quantity"][4] == "8000"
    flow = footer(browser, "stock-flow-table")["Season (12 weeks)"]
    assert flow[2] == str(forecast["total_demand"]) and flow[3] == str(forecast["last_year_total"])
    assert flow[7] == str(sum(w["stores"]["receipts"] for w in weeks))
    assert flow[8] == str(money["units_sold"]) and flow[9] == str(plan["lost_sales"])
    shown = [int(v.replace(",", "")) for v in column(browser, "stock-flow-table", 9)]
    assert shown == [w["stores"]["sales"] for w in weeks]
    sold = plan["history_weeks"]
    assert column(browser, "stock-flow-table", 1) == ["actual"] * sold + ["plan"] * (12 - sold)
    assert footer(browser, "buy-plan-table")["All 1 vendor receipts"][2] == "8000"
    history = browser.find_element(By.ID, "plan-history").text
    assert ("This season is history" in history) == (sold == 12)
    kpis = browser.find_element(By.ID, "summary").text
    assert f"{inventory['launch_weeks_of_supply']:.1f} wk" in kpis
    assert f"${money['gross_margin']:,.0f}" in kpis and f"{money['gross_margin_pct']:.1%}" in kpis
    screenshot(browser, "readme-results")
    for section, name in (
        ("chart", "readme-chart"),
        ("stock-flow-table", "readme-stock-flow"),
        ("money-table", "readme-money"),
    ):
        browser.execute_script(f"document.getElementById('{section}').scrollIntoView()")
        browser.execute_script("window.scrollBy(0, -80)")
        screenshot(browser, name, whole_page=False)
