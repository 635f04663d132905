"""Which product a strategy description plans, matched against the categories in the database.

Why here and not in the browser: every client (console, CLI, a script) must read the same text
the same way, and only the server knows which categories exist. A product is found where
planners name it: a category's id, display name or one of its aliases anywhere in the text (any
case, singular or plural, written apart, hyphenated or run together: "swim wear", "Outer-wear"),
or, for a product the database does not have, the leading noun phrase ("Spring 2025 dresses:
...", "Dresses for spring 2025"), "plan <product>", "<product> for <season>", "<N> weeks of
<product>" and "<number> <product>". A product word there that nearly spells a category (one
letter wrong, missing or extra, or letters swapped: "outerwaer", "Swimware") is read as that
category, marked inferred; one that is only close ("Outwear") is refused with "did you mean";
anything else that is not a category is refused naming it as written, never swapped for the
default category. A generic word (fashion, apparel, merchandise, season) names no product.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from shared.extraction.seasons import SEASON_WORDS, find_season


@dataclass(frozen=True)
class KnownCategory:
    """A category run-workflow accepts: its id, display name and the other words planners use
    for it (the categories file's `aliases` column: "bikini", "board shorts")."""

    category_id: str
    name: str
    aliases: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.category_id, self.name, *self.aliases)


@dataclass(frozen=True)
class ProductReading:
    """What the text says about the product: a known category (`category_id`), a product the
    database does not have (`unknown`, as written; `near`: the category it is close to), or
    nothing (both None). `near_spelling`: the category was read through a typo."""

    category_id: str | None = None
    as_written: str | None = None
    unknown: str | None = None
    near: KnownCategory | None = None
    near_spelling: bool = False


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
        # What a count or "N weeks of" names when it is not the product.
        "store",
        "stores",
        "shop",
        "shops",
        "door",
        "doors",
        "location",
        "locations",
        "region",
        "regions",
        "size",
        "sizes",
        "color",
        "colors",
        "colour",
        "colours",
        "sku",
        "skus",
        "style",
        "styles",
        "sales",
        "selling",
        "history",
        "data",
        "supply",
        "cover",
        "coverage",
        "demand",
        "forecast",
        "shipments",
        "deliveries",
        "times",
        "percent",
        "dollars",
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


def _compact(label: str) -> str:
    """A label with case, spaces, hyphens and underscores taken out: 'Swim-wear' -> 'swimwear'."""
    return re.sub(r"[\s_-]+", "", label.lower())


SPACING_MIN_LETTERS = 6
"""Labels this long match with a space or hyphen anywhere ("swim wear"); shorter ones ("hat",
"bag") only as words, so "h at" is not a hat."""


def _name_pattern(label: str) -> str:
    """A category label as a pattern, in either number and any case: its letters in order with
    or without a space, hyphen or underscore between any two ("swim wear", "graphic_tees") when
    it is long enough, else its words in order."""
    compact = _compact(label)
    if not compact:
        return r"(?!)"
    if len(compact) >= SPACING_MIN_LETTERS:
        forms = sorted(_forms(compact), key=len, reverse=True)
        body = "|".join(r"[\s_-]?".join(re.escape(letter) for letter in form) for form in forms)
    else:
        words = label.lower().replace("_", " ").replace("-", " ").split()
        last = "|".join(sorted((re.escape(f) for f in _forms(words[-1])), key=len, reverse=True))
        body = "".join(re.escape(w) + r"[\s_-]+" for w in words[:-1]) + f"(?:{last})"
    return rf"(?<![A-Za-z0-9])(?:{body})(?![A-Za-z0-9])"


def _known(text: str, categories: Sequence[KnownCategory]) -> ProductReading | None:
    """The first category named in the text, by id, display name or alias."""
    best: tuple[int, KnownCategory, str] | None = None
    for category in categories:
        for label in category.labels:
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


_OF_PRODUCT = re.compile(
    rf"\b(?:weeks?|wks?|months?|units?|pieces?|pcs)\s+of\s+((?:{_WORD}\s+){{0,2}}{_WORD})"
    r"(?=\s+(?:starting|from|for|over|beginning|launching|through|in|at|with)\b|\s*[:,.;]|\s*$)",
    re.IGNORECASE,
)
_COUNTED_PRODUCT = re.compile(
    rf"(?<![\d.,])\d[\d,]*\s*k?\s+((?:{_WORD}\s+){{0,2}}{_WORD})"
    r"(?=\s+(?:over|for|from|starting|in|across)\b|\s*[:,.;]|\s*$)",
    re.IGNORECASE,
)


def _candidates(text: str) -> list[str]:
    """Phrases where a description names its product: "plan <product>", the leading noun
    phrase when it is a heading ("<product>:"), precedes "for <season>", or carries the season
    itself ("Spring 2025 dresses, ..."), "<N> weeks of <product>" and "<number> <product>"."""
    found = [m[1] for m in _PLAN.finditer(text)]
    lead = _LEADING.search(text)
    if lead is not None:
        phrase, end = lead[1], lead[2].strip().lower()
        after = text[lead.end() :]
        if end == ":" or (end == "for" and _SEASON_AHEAD.match(after)) or _names_a_season(phrase):
            found.append(phrase)
    found += [m[1] for m in _OF_PRODUCT.finditer(text)]
    found += [m[1] for m in _COUNTED_PRODUCT.finditer(text)]
    return found


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: letters substituted, inserted, deleted or two
    neighbours swapped, each one edit."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, letter in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, other in enumerate(b, 1):
            cost = letter != other
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and letter == b[j - 2] and a[i - 2] == other:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


NEAR_MISS_RATIO = 0.75
"""How alike (difflib's ratio) a product must be to a category's name to earn "did you mean"."""


def _spelling(product: str, categories: Sequence[KnownCategory]) -> ProductReading:
    """A product word that names no category as written: a simple typo of one (one letter
    wrong, missing or extra, or its letters in another order) reads as that category; a close
    word is refused offering it; anything else is refused."""
    word = _compact(product)
    best: tuple[float, KnownCategory] | None = None
    for category in categories:
        for label in category.labels:
            for form in _forms(_compact(label)):
                edits = _edits(word, form)
                simple = len(word) >= 4 and (
                    edits <= 1 or (edits <= 2 and sorted(word) == sorted(form))
                )
                if simple:
                    return ProductReading(
                        category_id=category.category_id, as_written=product, near_spelling=True
                    )
                ratio = SequenceMatcher(None, word, form).ratio()
                if ratio >= NEAR_MISS_RATIO and (best is None or ratio > best[0]):
                    best = (ratio, category)
    return ProductReading(as_written=product, unknown=product, near=best[1] if best else None)


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
        return _spelling(product, categories)
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
    return _spelling(words, categories)


def category_list(categories: Sequence[KnownCategory], *, with_aliases: bool = False) -> str:
    """'Denim (denim), Outerwear (outerwear)': how an error lists what exists; with its aliases
    'Denim (denim; also jeans)', as the language model's prompt lists them."""

    def entry(category: KnownCategory) -> str:
        also = f"; also {', '.join(category.aliases)}" if with_aliases and category.aliases else ""
        return f"{category.name} ({category.category_id}{also})"

    return ", ".join(entry(c) for c in categories)
