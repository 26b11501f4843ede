"""Security fixtures (the shared ones are in tests/conftest.py)."""

import pytest


@pytest.fixture
def settings_value(security_admin):
    """settings_value(key, value): the security administrator sets a runtime setting (portal.services.settings)."""
    from portal.services.settings import settings_update

    def _set(key, value):
        settings_update(actor=security_admin, values={key: value})

    return _set
