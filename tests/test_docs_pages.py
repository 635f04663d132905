"""The README is a front page a newcomer reads in two screens, and every link in it and in docs/
leads somewhere: the reference lives in docs/, one page per subject."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_readme_fits_on_two_screens_with_the_two_commands_up_front():
    lines = README.read_text().splitlines()
    assert len(lines) < 200
    first = "\n".join(lines[:40])
    assert "make run" in first and "make test" in first


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda page: page.name)
def test_every_relative_link_leads_to_a_page_and_heading_that_exist(page: Path):
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{page.name}: {target}"


def test_the_reference_is_in_docs_one_page_per_subject():
    names = {page.name for page in PAGES}
    assert {
        "architecture.md",
        "api.md",
        "identity.md",
        "data.md",
        "agents.md",
        "extraction.md",
        "reliability.md",
        "deploying.md",
        "performance.md",
        "testing.md",
        "adding-an-agent.md",
    } <= names
    for page in PAGES:
        assert page.read_text().startswith("# "), f"{page.name} opens with its title"


def readme_phrasings() -> list[str]:
    text = README.read_text()
    section = text[text.index("Phrasings that work") :]
    section = section[: section.index("\n\n", section.index("\n- "))]
    return re.findall(r"^- \*(.+)\*$", section, flags=re.MULTILINE)


@pytest.mark.parametrize("text", readme_phrasings())
def test_each_phrasing_the_readme_offers_reads_on_the_sample_data(text: str):
    from localdev.sample_data import CATEGORY_SPECS, SAMPLE_ALIASES
    from shared.extraction import KnownCategory, read_strategy
    from shared.settings import Settings

    sample = [
        KnownCategory(spec.category_id, spec.name, SAMPLE_ALIASES[spec.category_id])
        for spec in CATEGORY_SPECS[:3]
    ]
    reading = read_strategy(text, Settings(extractor="rules"), categories=sample)
    assert reading.parameters.season_start_date.year >= 2025


def test_the_readme_offers_a_handful_of_phrasings():
    assert len(readme_phrasings()) >= 4
