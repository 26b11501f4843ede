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


def test_the_api_answers_a_departments_list_as_the_page_shows_it(approved_entry, data_arrivals, staff, other_staff,
                                                                 reviewer, api_as, dept, other_dept):
    entry = approved_entry(update_cycle="weekly")
    data_arrivals(lambda ids: {entry.pk: dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)})
    url = "/api/v1/catalog/responsibility/"
    mine = api_as(staff).get(url)
    assert mine.status_code == 200
    body = mine.json()
    assert body["department"] == dept.pk and body["lines"]
    assert {(line["entry"], line["status"]) for line in body["lines"]} == {(entry.pk, "late")}
    assert body["lines"][0]["status_label"] == "未按周期更新"
    page = api_as(staff).get("/catalog/responsibility/").content.decode()
    assert "未按周期更新" in page
    # Another department's list is not the clerk's to read; the bureau names the one it wants.
    assert api_as(other_staff).get(url, {"department": dept.pk}).status_code == 404
    assert api_as(reviewer).get(url).json()["code"] == "invalid"
    assert api_as(reviewer).get(url, {"department": dept.pk}).json()["department"] == dept.pk
    assert api_as(staff).get(url, {"department": "１"}).status_code == 400
