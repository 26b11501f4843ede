"""Responsibility lists (R9.1): fulfilment per line, with data arrivals from the provider a higher floor registers."""

import datetime as dt

import pytest

from catalog import hooks
from catalog.choices import Fulfilment
from catalog.models import ResponsibilityItem
from catalog.selectors.responsibility import fulfilment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]


def test_data_arrivals_hook(data_arrivals):
    data_arrivals(None)
    assert hooks.data_arrivals([1, 2]) is None
    asked = []
    data_arrivals(lambda ids: asked.append(ids) or {1: None})
    assert hooks.data_arrivals([1, 2]) == {1: None}
    assert asked == [[1, 2]]


def test_fulfilment_statuses(approved_entry, data_arrivals):
    entry = approved_entry(update_cycle="weekly")
    lines = list(ResponsibilityItem.objects.filter(entry=entry))
    today = dt.date(2026, 11, 25)
    data_arrivals(None)  # no provider registered: not measurable yet
    assert {line.status for line in fulfilment(lines, today=today)} == {Fulfilment.FILED}
    data_arrivals(lambda ids: {})
    assert {line.status for line in fulfilment(lines, today=today)} == {Fulfilment.NO_DATA}
    fresh = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
    data_arrivals(lambda ids: {entry.pk: fresh})
    assert {line.status for line in fulfilment(lines, today=today)} == {Fulfilment.ON_TIME}
    stale = dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    data_arrivals(lambda ids: {entry.pk: stale})
    assert {line.status for line in fulfilment(lines, today=today)} == {Fulfilment.LATE}
