"""The fixture the data layer's SQLite tests share."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from shared.data.db import dispose_engine, get_engine
from shared.data.schema import create_schema


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    """A fresh SQLite database with the app's schema, disposed of after the test."""
    url = f"sqlite:///{tmp_path / 'data.db'}"
    engine = get_engine(url)
    create_schema(engine)
    yield engine
    dispose_engine(url)
