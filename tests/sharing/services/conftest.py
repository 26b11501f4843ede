"""Fixtures of the sharing service tests: a consumer, a published conditional entry, a submitted request."""

import pytest

from sharing.services.requests import sharing_request_submit
from tests.sharing.helpers import request_values


@pytest.fixture
def consumer(other_staff):
    return other_staff


@pytest.fixture
def entry(make_entry):
    return make_entry()


@pytest.fixture
def submitted(consumer, entry, staff, reviewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return sharing_request_submit(actor=consumer, entry_id=entry.pk, values=request_values())
