"""A newcomer's first hour, walked as they walk it: a copy of the checkout (the clone), its
install step giving the `localdev` command, `make run` (as far as a test may: the recipe it runs,
then that command serving on free ports from a folder outside the clone), one plan by the
command line and one in the console, a CSV file separated by semicolons and a busy port. What
each step shows is kept in test-artifacts/newcomer-path.txt.

The install step is the Makefile's (`pip install --no-deps --no-build-isolation -e .`) into a
virtualenv of its own; the suite's own virtualenv lends it the dependencies through a .pth
file, so nothing is downloaded.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from localdev.host.server import free_port
from tests.support.live_stack import FAST_SETTINGS, pin_sample
from tests.support.real_components import skip_missing

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SHOWN = ARTIFACTS / "newcomer-path.txt"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
README_SEASON = (
    "I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly replenishment. 15% DC holdback."
)
STARTUP_SECONDS = 120.0


def show(step: str, text: str) -> None:
    """Keep what a step showed the newcomer, for a person to read after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    with SHOWN.open("a") as out:
        out.write(f"$ {step}\n{text.rstrip()}\n\n")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout as a clone has it: every file git tracks or would (nothing it ignores)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    target = tmp_path_factory.mktemp("newcomer") / "season-planning"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    SHOWN.unlink(missing_ok=True)
    return target


@pytest.fixture(scope="module")
def localdev(clone: Path) -> Path:
    """The `localdev` command `make run`'s install step puts in the virtualenv."""
    venv = clone.parent / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    lent = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    (lent / "site-packages" / "suite-dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n"
    )
    installed = subprocess.run(
        [
            str(venv / "bin" / "python"),
            *("-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-index"),
            *("--no-deps", "--no-build-isolation", "-e", str(clone)),
        ],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv / "bin" / "localdev"


@pytest.fixture(scope="module")
def elsewhere(clone: Path) -> Path:
    """A folder outside the clone, where a newcomer's terminal may well be."""
    folder = clone.parent / "home"
    folder.mkdir()
    return folder


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
    env.pop("WebPubSubConnectionString", None)
    return env | dict(FAST_SETTINGS)


@dataclass
class Served:
    process: subprocess.Popen[str]
    port: int
    database_url: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def served(localdev: Path, elsewhere: Path) -> Iterator[Served]:
    """`localdev serve` on free ports, run from outside the clone (what `make run` runs)."""
    database_url = f"sqlite:///{elsewhere / 'planning.db'}"
    pin_sample(database_url)
    port, pubsub = free_port(), free_port()
    out = (elsewhere / "serve.out").open("w")
    process = subprocess.Popen(
        [
            *(str(localdev), "serve", "--port", str(port), "--pubsub-port", str(pubsub)),
            *("--database-url", database_url),
        ],
        cwd=elsewhere,
        env=environment(),
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Served(process, port, database_url)
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, (elsewhere / "serve.out").read_text()
            try:
                if httpx.get(f"{running.base_url}/api/categories", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("localdev serve did not answer")
        yield running
    finally:
        process.terminate()
        process.wait(30)
        out.close()


def run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=timeout
    )


def test_make_run_is_the_installed_command_on_the_ports_given(clone: Path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    recipe = run(["make", "-n", "run", "PORT=7072", "PUBSUB_PORT=8081"], clone).stdout
    show("make -n run PORT=7072 PUBSUB_PORT=8081", recipe)
    assert "pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e ." in (
        recipe
    )
    assert ".venv/bin/localdev serve --port 7072 --pubsub-port 8081" in recipe


def test_the_command_serves_from_any_folder(served: Served, elsewhere: Path):
    printed = (elsewhere / "serve.out").read_text()
    show("localdev serve --port … --pubsub-port …  (from a folder outside the clone)", printed)
    assert f"Functions host: {served.base_url}/api/" in printed
    assert "No module named" not in printed


def test_one_plan_by_the_command_line(served: Served, localdev: Path, elsewhere: Path):
    planned = run([str(localdev), "plan", README_SEASON, "--url", served.base_url], elsewhere)
    show(f'localdev plan "{README_SEASON}" --url {served.base_url}', planned.stdout)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "8,000" in planned.stdout and "Traceback" not in planned.stderr


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        skip_missing("Chromium", "Chromium not installed (`make chromium` installs it)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1400,1000")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def read_in_console(driver, served: Served, text: str):
    """Open the console, describe the season, press Read my description; the wait to reuse."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 90, poll_frequency=0.2)
    driver.get(served.base_url + "/")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#category option[value=denim]"))
    strategy = driver.find_element(By.ID, "strategy")
    strategy.clear()  # the page opens with an example description
    strategy.send_keys(text)
    driver.find_element(By.ID, "extract").click()
    wait.until(lambda d: d.find_element(By.ID, "params-panel").is_displayed())
    return wait


def test_one_plan_in_the_console(served: Served, browser):
    from selenium.webdriver.common.by import By

    wait = read_in_console(browser, served, README_SEASON)
    browser.find_element(By.ID, "run").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card.completed")) == 3)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#buy-plan-table tbody tr"))
    summary = browser.find_element(By.ID, "summary").text
    show("the console at " + served.base_url + "/ (Read my description, Run plan)", summary)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "newcomer-console.png"))
    assert "8,000" in summary


def test_a_typo_in_the_product_is_read_and_marked_for_checking_in_the_console(
    served: Served, browser
):
    from selenium.webdriver.common.by import By

    read_in_console(
        browser, served, "Outerwaer for FW25, 16 weeks from August 4, weekly, no DC holdback."
    )
    label = browser.find_element(By.CSS_SELECTOR, 'label[data-field="category_id"]')
    shown = label.find_element(By.CSS_SELECTOR, ".source").text
    show("the console: Outerwaer for FW25, ... (Read my description)", shown)
    browser.save_screenshot(str(ARTIFACTS / "newcomer-console-typo.png"))
    assert browser.find_element(By.ID, "category").get_attribute("value") == "outerwear"
    assert label.get_attribute("data-source") == "inferred"
    assert "read 'Outerwaer' as Outerwear" in shown


def test_a_file_separated_by_semicolons_is_named_as_such(localdev: Path, elsewhere: Path):
    stores = elsewhere / "stores.csv"
    header = "store_id;store_name;region;store_size_sqft;location_tier;median_income;store_format"
    stores.write_text(header + "\nS1;One;West;12000;A;65000;mall\n")
    database_url = f"sqlite:///{elsewhere / 'own.db'}"
    loaded = run(
        [str(localdev), "load", "--stores", "stores.csv", "--database-url", database_url], elsewhere
    )
    show("localdev load --stores stores.csv", loaded.stderr)
    assert loaded.returncode == 2
    lines = loaded.stderr.splitlines()
    assert lines[0] == "error: nothing was imported: 1 problem in stores.csv"
    assert "separated by semicolons (;), not commas" in lines[1]


def test_a_busy_port_names_the_flag_and_a_free_port(
    served: Served, localdev: Path, elsewhere: Path
):
    busy = run(
        [
            *(str(localdev), "serve", "--port", str(served.port)),
            *("--pubsub-port", str(free_port()), "--database-url", served.database_url),
        ],
        elsewhere,
        timeout=120,
    )
    show(f"localdev serve --port {served.port}  (the port is taken)", busy.stderr)
    assert busy.returncode == 1
    said = busy.stderr.strip().splitlines()[-1]
    assert f"port {served.port} (the Functions host) on 127.0.0.1 is already in use" in said
    assert re.search(r"--port (\d+) \(make run PORT=\1\)", said), said
