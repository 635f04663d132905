"""`/api/docs` in a real headless Chromium against the live local stack: Swagger UI renders every
operation of the document, shows an operation with its README example, and loads nothing from
outside the app (the page works offline). Screenshot: test-artifacts/api-docs*.png."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from orchestrator.http.contract.openapi import openapi_document
from tests.integration.test_console_page import (  # noqa: F401 - the browser fixture
    ARTIFACTS,
    CHROMEDRIVER,
    CHROMIUM,
    browser,
    wait_for,
)
from tests.support.live_stack import LiveStack, live_stack

pytestmark = [
    pytest.mark.real_component("Chromium"),
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="Chromium not installed (`make chromium` installs it)",
    ),
]

OPERATION_COUNT = sum(len(item) for item in openapi_document()["paths"].values())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("docs")) as running:
        yield running


def test_swagger_ui_renders_every_operation_from_the_app_alone(stack, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get(f"{stack.base_url}/api/docs")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) > 0)
    operations = browser.find_elements(By.CSS_SELECTOR, ".opblock")
    assert len(operations) == OPERATION_COUNT
    assert "Season planning API" in browser.find_element(By.CSS_SELECTOR, ".info .title").text
    assert not browser.find_elements(By.CSS_SELECTOR, ".errors-wrapper")
    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, max(1000, height + 140))
    browser.save_screenshot(str(ARTIFACTS / "api-docs.png"))
    browser.set_window_size(1400, 1000)

    extract = browser.find_element(By.ID, "operations-Planning-extract_parameters")
    extract.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait_for(browser, lambda d: "8000 units over 12 weeks" in extract.text)
    browser.execute_script("arguments[0].scrollIntoView()", extract)
    browser.save_screenshot(str(ARTIFACTS / "api-docs-extract.png"))

    origins = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    app = urlsplit(stack.base_url).netloc
    assert origins and {urlsplit(url).netloc for url in origins} == {app}
