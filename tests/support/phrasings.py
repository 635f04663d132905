"""The phrasing table: how merchants name a season's year, its start day and its product, with
what the extraction must answer. Written before the season-year and category readers, and run
against both extractors (tests/shared/extraction/test_phrasings.py): the rules extractor reads
the text itself; the language-model path gets, through the real openai SDK and a mock transport,
the answer a model gives for that text (`model`, built from the expected values unless the case
records a model that contradicts the text).

Every text ends with the same replenishment and holdback, so only the season, its year and its
product vary.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.extraction.products import KnownCategory

TODAY = date(2026, 12, 7)  # a Monday; "March 3" without a year is 2027-03-03
CATEGORIES = (
    KnownCategory("denim", "Denim", ("jeans",)),
    KnownCategory("graphic_tees", "Graphic tees"),
    KnownCategory("outerwear", "Outerwear", ("coat", "jacket", "parka")),
    KnownCategory("swimwear", "Swimwear", ("bikini", "swimsuit", "board shorts")),
)
TAIL = " Weekly replenishment, 10% DC holdback."


@dataclass(frozen=True)
class Phrasing:
    """One text and what both extractors must make of it.

    `start`/`start_source`: the season start and its field source; `note`: words the reasoning
    must contain (why a year or day was assumed). `category`: the category id (None: not in the
    text), `category_source` its field source when not the usual (`inferred`: read through a
    typo); `unknown_product`: the product a 422 must name as written, `did_you_mean` the
    category name it must offer for a near miss. `model`: overrides of the recorded model
    answer, for a model that contradicts the text; `model_product` the product the model wrote.
    """

    text: str
    start: str | None = None
    start_source: str = "stated"
    category: str | None = None
    note: str | None = None
    unknown_product: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    model_product: str | None = None
    category_source: str | None = None
    did_you_mean: str | None = None

    @property
    def expected_category_source(self) -> str:
        if self.category_source is not None:
            return self.category_source
        return "stated" if self.category else "not_mentioned"

    @property
    def full_text(self) -> str:
        return self.text + TAIL


PHRASINGS: tuple[Phrasing, ...] = (
    # ---- season-year forms, a day given without a year -----------------------------------
    Phrasing(
        "Spring 2025 denim: 12,000 units over 16 weeks from March 3.",
        "2025-03-03",
        category="denim",
    ),
    Phrasing(
        "Fall/Winter 2025 outerwear, 20 weeks from January 12.",
        "2026-01-12",
        category="outerwear",
        note="January of Fall/Winter 2025 falls in 2026",
    ),
    Phrasing("FW25 outerwear: 16 weeks starting Aug 4.", "2025-08-04", category="outerwear"),
    Phrasing("AW25 outerwear, 12 weeks from 5 January.", "2026-01-05", category="outerwear"),
    Phrasing("SS26 swimwear: 12 weeks from March 2.", "2026-03-02", category="swimwear"),
    Phrasing(
        "FA25 outerwear for 12 weeks starting September 8.", "2025-09-08", category="outerwear"
    ),
    Phrasing("HO25 denim: 8 weeks from November 3.", "2025-11-03", category="denim"),
    Phrasing("Holiday 2025 denim, 8 weeks from Nov 10.", "2025-11-10", category="denim"),
    Phrasing("Back to school 2025 denim, 6 weeks from July 21.", "2025-07-21", category="denim"),
    Phrasing(
        "Resort 2026 swimwear, 10 weeks from November 2.",
        "2025-11-02",
        category="swimwear",
        note="Resort 2026 reaches stores in 2025",
    ),
    Phrasing("Pre-fall 2025 denim: 10 weeks from June 2.", "2025-06-02", category="denim"),
    Phrasing("Summer '26 swimwear, 12 weeks from June 1.", "2026-06-01", category="swimwear"),
    Phrasing("Q3 2025 denim: 13 weeks from July 7.", "2025-07-07", category="denim"),
    Phrasing("Winter 2025 outerwear, 10 weeks from January 5.", "2026-01-05", category="outerwear"),
    Phrasing("2025 denim: 12 weeks from March 3.", "2025-03-03", category="denim"),
    Phrasing("Denim, 12 weeks starting March 3 of 2025.", "2025-03-03", category="denim"),
    # ---- a season without a day: the documented default day, inferred ------------------
    Phrasing(
        "Spring 2025 denim, 12 weeks.",
        "2025-03-01",
        "inferred",
        "denim",
        note="Spring starts on March 1",
    ),
    Phrasing(
        "Q3 2025 denim, 13 weeks.", "2025-07-01", "inferred", "denim", note="Q3 starts on July 1"
    ),
    Phrasing("First half of 2026 denim, 26 weeks.", "2026-01-01", "inferred", "denim"),
    Phrasing("Spring/Summer 2026 swimwear, 20 weeks.", "2026-02-01", "inferred", "swimwear"),
    Phrasing("FW25 outerwear, 16 weeks.", "2025-08-01", "inferred", "outerwear"),
    Phrasing("Holiday 2025 denim, 8 weeks.", "2025-11-01", "inferred", "denim"),
    Phrasing(
        "Spring denim, 12 weeks.",
        "2027-03-01",
        "inferred",
        "denim",
        note="assumed 2027: the text names no year",
    ),
    # ---- day-month orders with a full date --------------------------------------------
    Phrasing("Denim for 12 weeks from 4 May 2025.", "2025-05-04", category="denim"),
    Phrasing("Denim: 12 weeks from May 4th, 2025.", "2025-05-04", category="denim"),
    Phrasing("Denim, 12 weeks from the 4th of May 2025.", "2025-05-04", category="denim"),
    Phrasing("Spring 2025 denim, 12 weeks from the 4th of May.", "2025-05-04", category="denim"),
    Phrasing("FW25 outerwear from 2025-09-01 for 16 weeks.", "2025-09-01", category="outerwear"),
    # ---- nothing names a year: the next occurrence, inferred with the reason ------------
    Phrasing(
        "Denim, 12 weeks starting March 3.",
        "2027-03-03",
        "inferred",
        "denim",
        note="assumed 2027: the text names no year",
    ),
    Phrasing(
        "Like our 2024 season, denim for 12 weeks from March 3.",
        "2027-03-03",
        "inferred",
        "denim",
        note="assumed 2027: the text names no year",
    ),
    # ---- contradictions -------------------------------------------------------------------
    Phrasing(
        "Spring 2025 denim, 12 weeks from March 3, 2026.",
        "2026-03-03",
        category="denim",
        note="Spring 2025",
    ),
    Phrasing(
        "Spring 2025 denim: 12 weeks from March 3.",
        "2025-03-03",
        category="denim",
        model={"season_start_date": "2027-03-03"},
    ),
    Phrasing(
        "Swimwear for spring, 12 weeks from March 2, 2026.",
        "2026-03-02",
        category="swimwear",
        model_product="denim",
    ),
    # ---- categories by id or display name, any case, singular or plural ----------------
    Phrasing(
        "Swimwear for spring: 16-week season starting March 3, 2025, target 12,000 units.",
        "2025-03-03",
        category="swimwear",
    ),
    Phrasing("SWIMWEAR, 12 weeks from March 3, 2025.", "2025-03-03", category="swimwear"),
    Phrasing(
        "Plan outerwear for FW25, 16 weeks from August 4.", "2025-08-04", category="outerwear"
    ),
    Phrasing(
        "Graphic tee for spring 2025, 12 weeks from March 3.", "2025-03-03", category="graphic_tees"
    ),
    Phrasing("graphic_tees, 12 weeks from March 3, 2025.", "2025-03-03", category="graphic_tees"),
    Phrasing("Our spring 2025 denims: 12 weeks from March 3.", "2025-03-03", category="denim"),
    # ---- a product the database does not have: refused, named as written --------------
    Phrasing("Dresses for spring 2025: 12 weeks from March 3.", unknown_product="Dresses"),
    Phrasing("Plan sandals for summer 2025, 10 weeks from June 2.", unknown_product="sandals"),
    Phrasing(
        "Spring 2025 dresses: 12,000 units over 16 weeks from March 3.", unknown_product="dresses"
    ),
    Phrasing("Linen shirts: 12 weeks from March 3, 2025.", unknown_product="Linen shirts"),
    # ---- a category by one of its aliases (the categories file's `aliases` column) -----
    Phrasing(
        "Bikinis for summer 2025: 10 weeks from June 2.",
        "2025-06-02",
        category="swimwear",
        model_product="Bikinis",
    ),
    Phrasing(
        "Plan parkas for FW25, 16 weeks from September 1.",
        "2025-09-01",
        category="outerwear",
        model_product="parkas",
    ),
    Phrasing(
        "Spring 2025 jeans, 12 weeks from March 3.",
        "2025-03-03",
        category="denim",
        model_product="jeans",
    ),
    Phrasing(
        "12 weeks of board shorts starting June 2, 2025.",
        "2025-06-02",
        category="swimwear",
        model_product="board shorts",
    ),
    # ---- spacing: a name written apart, hyphenated or run together ---------------------
    Phrasing(
        "12 weeks of swim wear starting June 2, 2025.",
        "2025-06-02",
        category="swimwear",
        model_product="swim wear",
    ),
    Phrasing(
        "Outer-wear for FW25, 16 weeks from August 4.",
        "2025-08-04",
        category="outerwear",
        model_product="Outer-wear",
    ),
    Phrasing(
        "Graphictees for spring 2025, 12 weeks from March 3.",
        "2025-03-03",
        category="graphic_tees",
        model_product="Graphictees",
    ),
    # ---- simple typos: read as the category they nearly spell, inferred ----------------
    Phrasing(
        "Outerwaer for FW25, 16 weeks from August 4.",
        "2025-08-04",
        category="outerwear",
        category_source="inferred",
        model_product="Outerwaer",
    ),
    Phrasing(
        "Swimware for summer 2025, 10 weeks from June 2.",
        "2025-06-02",
        category="swimwear",
        category_source="inferred",
        model_product="Swimware",
    ),
    Phrasing(
        "Spring 2025 demin: 12 weeks from March 3.",
        "2025-03-03",
        category="denim",
        category_source="inferred",
        model_product="demin",
    ),
    # ---- a near miss: refused, with "did you mean" --------------------------------------
    Phrasing(
        "Outwear for FW25, 16 weeks from August 4.",
        unknown_product="Outwear",
        did_you_mean="Outerwear",
    ),
    Phrasing(
        "Graphic tops for spring 2025, 12 weeks from March 3.",
        unknown_product="Graphic tops",
        did_you_mean="Graphic tees",
    ),
    # ---- a product word anywhere is never swapped for the default category --------------
    Phrasing("12 weeks of dresses starting March 3, 2025.", unknown_product="dresses"),
    Phrasing("8,000 sandals over 12 weeks from June 2, 2025.", unknown_product="sandals"),
    # ---- weekday phrases: real dates ------------------------------------------------------
    Phrasing(
        "Denim, 12 weeks from the first Monday of September 2025.", "2025-09-01", category="denim"
    ),
    Phrasing(
        "Swimwear starting the last Friday in May 2025, 10 weeks.",
        "2025-05-30",
        category="swimwear",
    ),
    Phrasing(
        "FW25 outerwear from the second Monday of August, 16 weeks.",
        "2025-08-11",
        category="outerwear",
    ),
    Phrasing(
        "Outerwear, 16 weeks starting the week of August 6, 2025.",
        "2025-08-04",
        "inferred",
        "outerwear",
        note="the week of August 6, 2025 starts on Monday, August 4",
    ),
    Phrasing(
        "Spring 2025 denim, 12 weeks from the week of March 3.", "2025-03-03", category="denim"
    ),
    Phrasing(
        "Denim, 12 weeks from the first Monday of March.",
        "2027-03-01",
        "inferred",
        "denim",
        note="assumed 2027: the text names no year",
    ),
    # ---- no product, or only a generic word: category null, not in your text -----------
    Phrasing("Spring 2025 fashion: 12 weeks from March 3.", "2025-03-03"),
    Phrasing("Apparel for spring 2025, 12 weeks from March 3.", "2025-03-03"),
    Phrasing("Spring 2025 season: 12 weeks from March 3.", "2025-03-03"),
    Phrasing("Merchandise for holiday 2025: 8 weeks from November 3.", "2025-11-03"),
    Phrasing("I need 8000 units over 12 weeks starting Jan 1, 2025.", "2025-01-01"),
    Phrasing("Start next Monday for 10 weeks.", "2026-12-14", "inferred"),
)


def model_answer(case: Phrasing) -> dict[str, Any]:
    """The structured answer the model gives for `case` (the recorded side of the wire)."""
    words = case.text.replace("-", " ").split()
    weeks = next(
        (int(w) for w, nxt in itertools.pairwise(words) if w.isdigit() and nxt.startswith("week")),
        None,
    )
    product = case.model_product or case.unknown_product
    if product is None and case.category is not None:
        product = next(c.name for c in CATEGORIES if c.category_id == case.category)
    answer: dict[str, Any] = {
        "forecast_horizon_weeks": weeks,
        "season_start_date": case.start,
        "replenishment_strategy": "weekly",
        "dc_holdback_percentage": 0.1,
        "unit_target": None,
        "markdown_checkpoint_week": None,
        "markdown_threshold": None,
        "product_as_written": product,
        "year_reasoning": case.note or "The year is stated in the text.",
        "reasoning": "Read from the text.",
    }
    return answer | case.model
