"""Fixtures of the supervision tests: the bureau's assessor."""

import pytest

from portal.choices import Role
from tests.factories import make_user


@pytest.fixture
def assessor(bureau):
    return make_user(Role.ASSESSOR, department=bureau, username="assessor")
