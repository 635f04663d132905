"""The test tiers: tests/conftest.py marks the integration tier by path, so the unit tier
(`make test-fast`, `-m "not integration"`) is everything else and no test opts in by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

INTEGRATION = Path(__file__).resolve().parent / "integration"


def test_a_test_is_marked_integration_exactly_when_it_lives_in_tests_integration(
    request: pytest.FixtureRequest,
):
    items = request.session.items
    assert any(item.path == Path(__file__).resolve() for item in items)
    wrong = [
        item.nodeid
        for item in items
        if item.path.is_relative_to(INTEGRATION)
        != (item.get_closest_marker("integration") is not None)
    ]
    assert wrong == []


def test_the_marker_is_registered(pytestconfig: pytest.Config):
    assert any(line.startswith("integration:") for line in pytestconfig.getini("markers"))
