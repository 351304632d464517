"""Fixtures of the gateway's route tests."""

from __future__ import annotations

import pytest

from tests.unit.ingest.test_app import RecordingPublisher


@pytest.fixture
def publisher() -> RecordingPublisher:
    """What the routes published (a stand-in for the broker: route tests only)."""
    return RecordingPublisher()
