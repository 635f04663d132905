"""The console's live seasons page in headless Chromium on the real stack: it draws plan against
actual for a launched season, and redraws when an upload's `plan_updated` lands on its socket,
with the API's figures. Screenshots go to test-artifacts/console-seasons-*.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.test_console_page import (
    CHROMEDRIVER,
    CHROMIUM,
    browser,
    screenshot,
    wait_for,
)
from tests.integration.test_seasons_live import (
    as_csv,
    launch,
    planned,
    season_of,
    upload_csv,
    wait_versions,
    week_rows,
)
from tests.support.live_stack import FAST_SETTINGS, LiveStack, live_stack

__all__ = ["browser"]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.real_component("Chromium"),
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="Chromium not installed (`make chromium` installs it)",
    ),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("console-seasons"), FAST_SETTINGS) as running:
        yield running


def test_the_seasons_page_redraws_when_a_plan_update_lands(stack, browser):
    from selenium.webdriver.common.by import By

    workflow_id = planned(stack, "console-season")
    season_id = launch(stack, workflow_id)["season_id"]
    season = wait_versions(stack, season_id, 1)
    assert upload_csv(stack, season_id, as_csv(week_rows(stack, season, 1))).status_code == 202
    season = wait_versions(stack, season_id, 2)

    browser.get(f"{stack.base_url}/console/seasons.html?season_id={season_id}")
    wait_for(browser, lambda d: d.find_element(By.ID, "connection").text == "live")
    wait_for(browser, lambda d: "version 2" in d.find_element(By.ID, "season-summary").text)
    screenshot(browser, "seasons-1-loaded")
    rows = browser.find_elements(By.CSS_SELECTOR, "#weeks-table tbody tr")
    first = [cell.text for cell in rows[0].find_elements(By.TAG_NAME, "td")]
    week = season["weeks_plan_against_actual"][0]
    assert first[4] == f"{week['actual_units']:,}"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#season-chart circle.actual")) == 1

    assert upload_csv(stack, season_id, as_csv(week_rows(stack, season, 2))).status_code == 202
    wait_for(browser, lambda d: "Version 3" in d.find_element(By.ID, "latest-update").text)
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#season-chart circle")) == 2)
    screenshot(browser, "seasons-2-updated")
    latest = season_of(stack, season_id)
    rows = browser.find_elements(By.CSS_SELECTOR, "#weeks-table tbody tr")
    second = [cell.text for cell in rows[1].find_elements(By.TAG_NAME, "td")]
    assert second[4] == f"{latest['weeks_plan_against_actual'][1]['actual_units']:,}"
    assert second[3] == f"{latest['weeks_plan_against_actual'][1]['working_units']:,}"
