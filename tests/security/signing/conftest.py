"""Signing fixtures: every test starts without nonces and throttle counters."""

import pytest


@pytest.fixture(autouse=True)
def _clean_redis(clean_redis):
    """Nonces and rate counters of earlier tests would replay-refuse or throttle this one's calls."""
