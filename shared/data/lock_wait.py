"""How long the current request's database statements may wait for a lock.

A request that meets a locked database should get a fast, honest 503, not wait out SQLite's
15 s busy timeout (or PostgreSQL's unlimited lock wait) while its client hangs. The HTTP
wrapper (shared/http.py) sets a short wait for the function it runs; the engine
(shared/data/db.py) applies the current wait to each connection it hands out. Activities and
the Durable runtime set nothing and keep the long waits: they would rather wait than retry.
This module imports nothing heavy, so the HTTP layer can use it without loading SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_lock_wait_ms: ContextVar[int | None] = ContextVar("lock_wait_ms", default=None)


def current_lock_wait_ms() -> int | None:
    """The current context's lock wait in ms, or None for the engine's own."""
    return _lock_wait_ms.get()


@contextmanager
def bounded_lock_wait(milliseconds: int) -> Iterator[None]:
    """Within this block (and this context), statements wait at most `milliseconds` for a
    lock."""
    token = _lock_wait_ms.set(milliseconds)
    try:
        yield
    finally:
        _lock_wait_ms.reset(token)
