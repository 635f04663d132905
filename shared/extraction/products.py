"""Which product a strategy description plans, matched against the categories in the database.

Why here and not in the browser: every client (console, CLI, a script) must read the same text
the same way, and only the server knows which categories exist. A product is found where
planners name it: a category's id or display name anywhere in the text (any case, singular or
plural), or, for a product the database does not have, the leading noun phrase ("Spring 2025
dresses: ...", "Dresses for spring 2025"), "plan <product>" and "<product> for <season>". A
product that is not a category is refused by the caller, naming it as written; a generic word
(fashion, apparel, merchandise, season) names no product.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from shared.extraction.seasons import SEASON_WORDS, find_season


@dataclass(frozen=True)
class KnownCategory:
    """A category run-workflow accepts: its id and display name."""

    category_id: str
    name: str


@dataclass(frozen=True)
class ProductReading:
    """What the text says about the product: a known category (`category_id`), a product the
    database does not have (`unknown`, as written), or nothing (both None)."""

    category_id: str | None = None
    as_written: str | None = None
    unknown: str | None = None


GENERIC_WORDS = frozenset(
    [
        "fashion",
        "apparel",
        "merchandise",
        "season",
        "seasons",
        "collection",
        "collections",
        "line",
        "range",
        "assortment",
        "assortments",
        "product",
        "products",
        "item",
        "items",
        "goods",
        "clothing",
        "clothes",
        "stock",
        "inventory",
        "everything",
        "all",
    ]
)
"""Words that name no particular product: the run then uses the default category."""

_FILLER = frozenset(
    [
        "our",
        "the",
        "a",
        "an",
        "new",
        "this",
        "next",
        "these",
        "those",
        "my",
        "your",
        "their",
        "its",
        "key",
        "core",
        "main",
        "whole",
        "entire",
        "early",
        "late",
        "mid",
    ]
)
_NOT_A_PRODUCT = frozenset(
    [
        "i",
        "we",
        "you",
        "they",
        "need",
        "want",
        "plan",
        "planning",
        "run",
        "launch",
        "launching",
        "start",
        "starting",
        "starts",
        "begin",
        "beginning",
        "from",
        "over",
        "for",
        "with",
        "and",
        "or",
        "to",
        "in",
        "on",
        "at",
        "of",
        "by",
        "is",
        "are",
        "be",
        "will",
        "please",
        "let",
        "lets",
        "season's",
        "week",
        "weeks",
        "wk",
        "wks",
        "month",
        "months",
        "quarter",
        "quarters",
        "year",
        "years",
        "day",
        "days",
        "unit",
        "units",
        "target",
        "total",
        "weekly",
        "biweekly",
        "bi-weekly",
        "replenishment",
        "replenish",
        "holdback",
        "hold",
        "dc",
        "markdown",
        "markdowns",
        "sell-through",
        "today",
        "tomorrow",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "half",
        "first",
        "second",
        "third",
        "fourth",
        "like",
        "as",
        "same",
        "last",
        "than",
        "versus",
    ]
)
_WORD = r"[A-Za-z][A-Za-z'&-]*"


def _forms(word: str) -> set[str]:
    """A word as written, singular and plural ('tee' / 'tees', 'dress' / 'dresses')."""
    forms = {word}
    if word.endswith("es") and word[:-2].endswith(("s", "x", "ch", "sh")):
        forms.add(word[:-2])
    elif word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    else:
        forms.add(word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s"))
    return forms


def _name_pattern(label: str) -> str:
    """A category label as a pattern: words in order, the last in either number, any case."""
    words = label.lower().replace("_", " ").split()
    if not words:
        return r"(?!)"
    last = "|".join(sorted((re.escape(f) for f in _forms(words[-1])), key=len, reverse=True))
    head = r"[\s_-]+".join(re.escape(w) for w in words[:-1])
    body = (head + r"[\s_-]+" if head else "") + f"(?:{last})"
    return rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])"


def _known(text: str, categories: Sequence[KnownCategory]) -> ProductReading | None:
    """The first category named in the text, by id or display name."""
    best: tuple[int, KnownCategory, str] | None = None
    for category in categories:
        for label in (category.category_id, category.name):
            match = re.search(_name_pattern(label), text, re.IGNORECASE)
            if match and (best is None or match.start() < best[0]):
                best = (match.start(), category, match[0])
    if best is None:
        return None
    return ProductReading(category_id=best[1].category_id, as_written=best[2])


def _product_words(phrase: str) -> str | None:
    """The product in a candidate phrase with season words, years and fillers taken off; None
    when what is left is not a short run of plain words."""
    words = re.findall(r"[A-Za-z0-9'&/-]+", phrase)
    kept: list[str] = []
    for word in words:
        low = word.lower().strip("'")
        parts = re.split(r"[/-]", low)
        if all(p in SEASON_WORDS or p in _FILLER or re.fullmatch(r"'?\d{2,4}", p) for p in parts):
            continue
        if low in _NOT_A_PRODUCT or not re.fullmatch(_WORD, word):
            return None
        kept.append(word)
    if not 1 <= len(kept) <= 3:
        return None
    return " ".join(kept)


_PLAN = re.compile(
    rf"\bplan(?:ning)?\s+((?:{_WORD}\s+){{0,2}}{_WORD})(?=\s+for\b|\s*[:,.;]|\s*$)",
    re.IGNORECASE,
)
_LEADING = re.compile(
    r"^\s*([^:,.;!?\n]{1,60}?)(\s*:|\s+for\s+|\s*[,.;!?\n]|\s+-\s)", re.IGNORECASE
)
_SEASON_AHEAD = re.compile(
    r"\s*(?:the\s+|our\s+|this\s+|next\s+)?(?:\d+\s*-?\s*weeks?\b|'?\d{2,4}\b|"
    + "|".join(sorted(SEASON_WORDS - {"and", "of"}, key=len, reverse=True))
    + r")",
    re.IGNORECASE,
)


def _names_a_season(phrase: str) -> bool:
    return find_season(phrase.lower(), phrase) is not None or bool(
        re.search(r"(?<!\d)(?:19|20|21)\d{2}(?!\d)|'\d{2}\b", phrase)
    )


def _candidates(text: str) -> list[str]:
    """Phrases where a description names its product: "plan <product>", and the leading noun
    phrase when it is a heading ("<product>:"), precedes "for <season>", or carries the season
    itself ("Spring 2025 dresses, ...")."""
    found = [m[1] for m in _PLAN.finditer(text)]
    lead = _LEADING.search(text)
    if lead is not None:
        phrase, end = lead[1], lead[2].strip().lower()
        after = text[lead.end() :]
        if end == ":" or (end == "for" and _SEASON_AHEAD.match(after)) or _names_a_season(phrase):
            found.append(phrase)
    return found


def read_product(text: str, categories: Sequence[KnownCategory]) -> ProductReading:
    """What the text names as its product (see the module docstring)."""
    known = _known(text, categories)
    if known is not None:
        return known
    for phrase in _candidates(text):
        product = _product_words(phrase)
        if product is None:
            continue
        if all(w.lower() in GENERIC_WORDS for w in product.split()):
            return ProductReading(as_written=product)
        return ProductReading(as_written=product, unknown=product)
    return ProductReading()


def match_product(product: str | None, categories: Sequence[KnownCategory]) -> ProductReading:
    """A product named by someone else (the language model) against the categories."""
    if not product or not product.strip():
        return ProductReading()
    known = _known(product, categories)
    if known is not None:
        return ProductReading(category_id=known.category_id, as_written=product.strip())
    words = product.strip()
    if all(w.lower() in GENERIC_WORDS | _FILLER for w in words.split()):
        return ProductReading(as_written=words)
    return ProductReading(as_written=words, unknown=words)


def category_list(categories: Sequence[KnownCategory]) -> str:
    """'Denim (denim), Outerwear (outerwear)': how an error lists what exists."""
    return ", ".join(f"{c.name} ({c.category_id})" for c in categories)
