"""The console page in a real headless Chromium: extract, edit, run, live agent cards over the
WebSocket (with a forced drop to exercise reconnect + catch-up), results tables and chart.

Served by the real local host; the API behind it is the contract TEST HARNESS
(tests/contract_harness.py) until the integrated app replaces it.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.host import HostPlugins, LocalOptions, free_port, start_host
from tests.contract_harness import Harness

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Chromium not installed (`make chromium` installs it)",
)


@pytest.fixture(scope="module")
def console_url() -> Iterator[str]:
    """The host serving the console and the harness API, on its own event loop thread."""
    harness = Harness(message_delay=0.08, drop_after=7)
    ready = threading.Event()
    stop: dict[str, asyncio.Event] = {}
    url: dict[str, str] = {}

    async def serve() -> None:
        stop["event"] = asyncio.Event()
        plugins = HostPlugins(configure=[harness.configure])
        options = LocalOptions(port=free_port())
        async with start_host(options, functions_app=harness.function_app(), plugins=plugins, run_timers=False) as base:
            url["base"] = base
            ready.set()
            await stop["event"].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(15)
    yield url["base"]
    loop.call_soon_threadsafe(stop["event"].set)
    thread.join(15)


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


def test_console_plans_a_season_live_and_shows_the_plan(console_url, browser):
    from selenium.webdriver.common.by import By

    browser.get(console_url + "/")
    assert browser.title == "Season planning console"
    browser.find_element(By.ID, "extract").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "params-panel").is_displayed())
    weeks = browser.find_element(By.NAME, "forecast_horizon_weeks")
    assert weeks.get_attribute("value") == "12"
    assert browser.find_element(By.NAME, "season_end_date").get_attribute("value") == "2025-05-26"
    holdback = browser.find_element(By.NAME, "dc_holdback_percentage")
    holdback.clear()
    holdback.send_keys("0.3")  # an edited field is what gets sent

    browser.find_element(By.ID, "run").click()
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card.running, .card.completed")) >= 1)
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card.completed")) == 3, timeout=30)
    wait_for(browser, lambda d: d.find_element(By.ID, "results").is_displayed())
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#markdowns-table tbody tr")) == 4)

    cards = browser.find_elements(By.CSS_SELECTOR, ".card")
    assert [c.get_attribute("data-agent") for c in cards] == ["Demand Agent", "Inventory Agent", "Pricing Agent"]
    for card in cards:
        assert card.find_element(By.CSS_SELECTOR, ".status").text.lower() == "completed"
        assert card.find_element(By.CSS_SELECTOR, ".bar > div").get_attribute("style").strip() == "width: 100%;"
    assert "total demand" in cards[0].text.lower()

    forecast_rows = browser.find_elements(By.CSS_SELECTOR, "#forecast-table tbody tr")
    assert len(forecast_rows) == 13  # 12 weeks + total
    assert "2025-03-03" in forecast_rows[0].text
    clusters = browser.find_element(By.ID, "clusters-table").text
    assert "Fashion-forward urban" in clusters and "Value rural" in clusters
    # 0.3 holdback reached the harness: initial allocation is 70 % of the manufacturing quantity
    allocations = browser.find_element(By.ID, "allocations-table").text
    values = {
        line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1].replace(",", "")
        for line in allocations.splitlines()[1:]
    }
    assert int(values["Initial allocation"]) == int(int(values["Manufacturing"]) * 0.7)
    assert browser.find_elements(By.CSS_SELECTOR, "#chart svg polygon.band")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart svg circle.dot")) == 12
    assert not browser.find_element(By.ID, "error").is_displayed()

    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "console.png"))


def test_console_shows_the_error_response(console_url, browser):
    from selenium.webdriver.common.by import By

    browser.get(console_url + "/")
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
