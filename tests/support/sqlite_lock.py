"""Another connection holding SQLite's write lock (BEGIN IMMEDIATE): the database-lock fault.

While it is held every writer waits (up to its busy timeout) and readers go on, as when another
process writes for a long time. One way to take it, for the fault tests, the console walks and
the unit tests alike.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def write_locked(database: Path | str) -> Iterator[None]:
    """Hold the database's write lock for the block (waiting up to 30 s to take it)."""
    lock = sqlite3.connect(database, timeout=30, isolation_level=None, check_same_thread=False)
    lock.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


def hold_sqlite_write_lock(path: Path | str, seconds: float) -> threading.Thread:
    """Take the write lock on a thread of its own and keep it `seconds`; returns once it is
    taken (join the thread to wait for the release)."""
    taken = threading.Event()

    def hold() -> None:
        with write_locked(path):
            taken.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold, name="sqlite-write-lock")
    thread.start()
    assert taken.wait(30)
    return thread
