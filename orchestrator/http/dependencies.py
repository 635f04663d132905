"""The one seam between the HTTP functions and what they need from outside the request: the
settings, the database engine, the category lookup and the publisher.

Every function in orchestrator/http reads them through `dependencies()`, so the app resolves
them in one place (the process-wide settings, engine and publisher) and a test swaps any of
them for the length of a `with overridden(...)` block, instead of editing the environment and
clearing caches. The category lookup needs the data layer's pandas side, so it is imported
only when a workflow starts (the function app must stay fast to import).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine

from shared.data.db import get_engine
from shared.messaging.publisher import Publisher, get_publisher
from shared.settings import Settings, get_settings

CategoryCheck = Callable[[str | None], str]


def check_category(category_id: str | None) -> str:
    """The category a workflow plans: `category_id` when it has sales history (404
    DATA_NOT_FOUND naming the categories that exist otherwise), or the default category."""
    from shared.data.context import get_assembler

    database_url = dependencies().settings().database_url
    return get_assembler(database_url).require_category(category_id)


@dataclass(frozen=True)
class Dependencies:
    """Where the HTTP functions get their settings, category lookup and publisher; the engine
    is the process-wide one for the settings' database."""

    settings: Callable[[], Settings] = get_settings
    check_category: CategoryCheck = check_category
    publisher: Callable[[], Publisher] = get_publisher

    def engine(self) -> Engine:
        return get_engine(self.settings().database_url)


_current = Dependencies()


def dependencies() -> Dependencies:
    """What the HTTP functions use right now."""
    return _current


@contextmanager
def overridden(
    *,
    settings: Settings | Callable[[], Settings] | None = None,
    check_category: CategoryCheck | None = None,
    publisher: Publisher | Callable[[], Publisher] | None = None,
) -> Iterator[Dependencies]:
    """Use these settings, category lookup or publisher (a value, or a function giving one) in
    the HTTP functions until the block ends; the rest stay as they were."""
    global _current
    previous = _current
    _current = Dependencies(
        settings=previous.settings if settings is None else _settings_source(settings),
        check_category=check_category or previous.check_category,
        publisher=previous.publisher if publisher is None else _publisher_source(publisher),
    )
    try:
        yield _current
    finally:
        _current = previous


def _settings_source(settings: Settings | Callable[[], Settings]) -> Callable[[], Settings]:
    return (lambda: settings) if isinstance(settings, Settings) else settings


def _publisher_source(publisher: Publisher | Callable[[], Publisher]) -> Callable[[], Publisher]:
    return (lambda: publisher) if isinstance(publisher, Publisher) else publisher
