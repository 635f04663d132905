"""axe-core, pinned, run in a selenium page: the console page test's accessibility checks.

`make axe-core` installs this version from npm into the project's git-ignored node_modules/ (the
Makefile reads the pin from this file, so it is written once). A missing or different axe-core
skips the checks loudly (see real_components.py): an unpinned engine would make the counts
incomparable from run to run.

Widths are set through the DevTools protocol's device metrics rather than the window size: a
desktop window cannot be narrowed to a phone's 390 px, and a phone's viewport is what the console
must fit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.real_components import skip_missing

AXE_CORE_VERSION = "4.14.1"
COMPONENT = "axe-core"
PACKAGE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core"
# axe runs WCAG 2.0-2.2 A and AA and its best practices (heading order, landmarks) by default. A
# serious or critical violation fails the test, and so does a jump in heading levels (moderate
# in axe's terms, but it breaks a screen reader's outline of the page).
BLOCKING_IMPACTS = ("serious", "critical")
BLOCKING_RULES = ("heading-order",)
DESKTOP = (1366, 900)
PHONE = (390, 844)
NARROWEST = (320, 640)


@dataclass(frozen=True)
class Violation:
    """One failed axe rule: its id and impact, and the nodes (CSS selectors) that fail it."""

    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    @property
    def blocking(self) -> bool:
        return self.impact in BLOCKING_IMPACTS or self.rule in BLOCKING_RULES

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:4]) + (" …" if len(self.targets) > 4 else "")
        return f"{self.impact} {self.rule} ({len(self.targets)}): {self.help} — {shown}"


def axe_source() -> str:
    """axe.min.js of the pinned version, or a loud skip saying how to install it."""
    manifest = PACKAGE / "package.json"
    if not manifest.exists():
        skip_missing(COMPONENT, f"{PACKAGE} is missing (`make axe-core` installs it)")
    installed = json.loads(manifest.read_text())["version"]
    if installed != AXE_CORE_VERSION:
        why = f"{installed} installed, {AXE_CORE_VERSION} pinned (`make axe-core` installs it)"
        skip_missing(COMPONENT, why)
    return (PACKAGE / "axe.min.js").read_text()


def set_viewport(driver: Any, size: tuple[int, int]) -> None:
    """Lay the page out at `size` (CSS pixels), as a phone when narrower than a tablet."""
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def reset_viewport(driver: Any) -> None:
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def audit(driver: Any, source: str) -> list[Violation]:
    """Every axe violation of the page as it is now, worst first."""
    raw = driver.execute_async_script(
        "const [source, done] = [arguments[0], arguments[arguments.length - 1]];"
        "if (!window.axe) { const s = document.createElement('script');"
        "  s.textContent = source; document.head.append(s); }"
        "window.axe.run(document, {resultTypes: ['violations']})"
        "  .then((r) => done(r.violations.map((v) => ({rule: v.id, impact: v.impact,"
        "    help: v.help, targets: v.nodes.map((n) => n.target.join(' '))}))))"
        "  .catch((e) => done({error: String(e)}));",
        source,
    )
    if isinstance(raw, dict):
        raise RuntimeError(f"axe-core failed in the page: {raw['error']}")
    order = ["critical", "serious", "moderate", "minor"]
    found = [
        Violation(v["rule"], v["impact"] or "minor", v["help"], tuple(v["targets"])) for v in raw
    ]
    return sorted(found, key=lambda v: order.index(v.impact))


def horizontal_overflow(driver: Any) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when it fits)."""
    return int(
        driver.execute_script(
            "const d = document.documentElement; return Math.max(0, d.scrollWidth - d.clientWidth);"
        )
    )
