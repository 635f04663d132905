"""The console page in a real headless Chromium against the real app on the local stack
(tests/live_stack.py): extract, edit, run, live agent cards over the WebSocket (the emulator
closes the connection mid-run, to exercise reconnect + catch-up), results tables and chart.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from azure.messaging.webpubsubservice import WebPubSubServiceClient

from shared.settings import get_settings
from tests.live_stack import LiveStack, live_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

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
        yield running


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1360,1700",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, condition, timeout: float = 20.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def drop_browser_connections(stack: LiveStack) -> None:
    """Close every client connection from the service side, through the real service SDK."""
    with WebPubSubServiceClient.from_connection_string(
        stack.pubsub_connection_string, hub=get_settings().webpubsub_hub
    ) as service:
        service.close_all_connections(reason="test: connection drop")


def table_values(text: str) -> dict[str, str]:
    rows = (line.rsplit(" ", 1) for line in text.splitlines()[1:])
    return {label: value.replace(",", "") for label, value in rows}


def test_console_plans_a_season_live_and_shows_the_plan(stack, browser):
    from selenium.webdriver.common.by import By

    browser.get(stack.base_url + "/")
    assert browser.title == "Season planning console"
    options = (By.CSS_SELECTOR, "#categories option")
    wait_for(browser, lambda d: len(d.find_elements(*options)) == 3)
    listed = [o.get_attribute("value") for o in browser.find_elements(*options)]
    assert listed == ["denim", "outerwear", "swimwear"]  # the sample's, from GET /api/categories
    browser.find_element(By.ID, "extract").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "params-panel").is_displayed())
    weeks = browser.find_element(By.NAME, "forecast_horizon_weeks")
    assert weeks.get_attribute("value") == "12"
    assert browser.find_element(By.NAME, "season_start_date").get_attribute("value") == "2025-03-03"
    assert browser.find_element(By.NAME, "season_end_date").get_attribute("value") == "2025-05-26"
    holdback = browser.find_element(By.NAME, "dc_holdback_percentage")
    assert holdback.get_attribute("value") == "0.45"
    holdback.clear()
    holdback.send_keys("0.3")  # an edited field is what gets sent

    browser.find_element(By.ID, "run").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".card.running"), timeout=30)
    drop_browser_connections(stack)
    wait_for(
        browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card.completed")) == 3, timeout=30
    )
    wait_for(browser, lambda d: d.find_element(By.ID, "results").is_displayed())
    forecast_rows = (By.CSS_SELECTOR, "#forecast-table tbody tr")
    wait_for(browser, lambda d: len(d.find_elements(*forecast_rows)) == 13)  # 12 weeks + total
    negotiations = browser.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter((e) => e.name.includes('/negotiate?')).length"
    )
    assert negotiations >= 2  # the dropped socket was replaced

    workflow_id = browser.execute_script("return state.workflowId")
    inventory = httpx.get(f"{stack.base_url}/api/allocations/{workflow_id}", timeout=30).json()
    pricing = httpx.get(f"{stack.base_url}/api/markdowns/{workflow_id}", timeout=30).json()
    forecast = httpx.get(f"{stack.base_url}/api/forecasts/{workflow_id}", timeout=30).json()
    assert forecast["category_id"] in browser.find_element(By.ID, "summary").text

    cards = browser.find_elements(By.CSS_SELECTOR, ".card")
    assert [c.get_attribute("data-agent") for c in cards] == ["Demand Agent", "Inventory Agent", "Pricing Agent"]
    for card in cards:
        assert card.find_element(By.CSS_SELECTOR, ".status").text.lower() == "completed"
        assert card.find_element(By.CSS_SELECTOR, ".bar > div").get_attribute("style").strip() == "width: 100%;"
    assert "total demand" in cards[0].text.lower()
    assert "manufacturing qty" in cards[1].text.lower()

    forecast_rows = browser.find_elements(*forecast_rows)
    assert "2025-03-03" in forecast_rows[0].text and "2025-05-19" in forecast_rows[11].text
    clusters = browser.find_element(By.ID, "clusters-table").text
    assert all(c["cluster_label"] in clusters for c in inventory["clusters"])
    # 0.3 holdback reached the Inventory agent: 30 % of the manufacturing quantity stays at the DC
    values = table_values(browser.find_element(By.ID, "allocations-table").text)
    manufacturing = int(values["Manufacturing"])
    assert manufacturing == inventory["manufacturing_qty"]
    assert abs(int(values["DC holdback"]) - 0.3 * manufacturing) <= 0.5
    assert int(values["Initial allocation"]) + int(values["DC holdback"]) == manufacturing
    markdown_rows = browser.find_elements(By.CSS_SELECTOR, "#markdowns-table tbody tr")
    assert len(markdown_rows) == len(pricing["markdowns"])
    assert browser.find_elements(By.CSS_SELECTOR, "#chart svg polygon.band")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart svg circle.dot")) == 12
    assert not browser.find_element(By.ID, "error").is_displayed()

    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1360, height + 140)  # the whole page, not just the first screen
    browser.save_screenshot(str(ARTIFACTS / "console.png"))


def test_console_shows_the_error_response(stack, browser):
    from selenium.webdriver.common.by import By

    browser.get(stack.base_url + "/")
    strategy = browser.find_element(By.ID, "strategy")
    strategy.clear()
    strategy.send_keys("short")
    browser.find_element(By.ID, "extract").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "error").is_displayed())
    text = browser.find_element(By.ID, "error").text
    assert "INVALID_PARAMETERS" in text
    assert "strategy_description" in text
    assert "request id" in text
    assert not browser.find_element(By.ID, "params-panel").is_displayed()
