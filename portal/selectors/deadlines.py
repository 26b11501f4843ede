"""Deadline rows with the working days they have left: the one place a page, a serializer or a queue computes them.

A page lists things that run against a clock — the clocks themselves (the home dashboard, a chapter's list of
running clocks) or the cases they time (verification cases, sharing requests). Each row carries the thing, its due
day, the working days left and whether it is overdue, computed here by one rule:

- `remaining`: working days from today to the due day (`WorkCalendar.remaining_working_days`: 0 = due today,
  negative = working days past it); None when the clock is not running (closed, answered) or there is none;
- `overdue`: past the due day, from the next *calendar* day on — the rule of `workdays.is_overdue` and of the
  deadline sweep, which marks the clock overdue that same day (so a clock due on a Friday is overdue on the
  Saturday, with 0 working days overdue);
- `overdue_days`: working days past the due day (0 when not overdue).

    rows = deadline_rows(Deadline.objects.running().restrict(user).order_by("due_on"), name="deadline")
    rows = deadline_rows(with_deadline(cases, Clock.VERIFICATION), name="case")   # row.case, row.remaining …
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast

from portal.choices import DeadlineState
from portal.models import Deadline
from portal.services.workdays import WorkCalendar, is_overdue, local_today

RUNNING = (DeadlineState.OPEN, DeadlineState.OVERDUE)


@dataclass(frozen=True)
class DeadlineRow:
    """One row of a list of things that run against a clock (module docstring); `row.<name>` is the thing too."""

    item: Any
    due_on: dt.date | None
    remaining: int | None
    overdue: bool
    name: str = "item"

    @property
    def overdue_days(self) -> int:
        return -self.remaining if self.overdue and self.remaining is not None and self.remaining < 0 else 0

    def __getattr__(self, attr: str) -> Any:
        # Each page keeps its own word for the thing (row.deadline, row.case, row.request): templates read it so.
        fields = self.__dict__
        if "name" in fields and attr == fields["name"]:
            return fields["item"]
        raise AttributeError(attr)


def clock_running(item) -> bool:
    """Whether the item's clock runs: a Deadline's own state, else the `clock_state` `with_deadline` annotates."""
    if isinstance(item, Deadline):
        return item.is_running
    return getattr(item, "clock_state", None) in RUNNING


def deadline_row(
    item,
    *,
    name: str = "item",
    today: dt.date | None = None,
    calendar: WorkCalendar | None = None,
    running: Callable[[Any], bool] = clock_running,
) -> DeadlineRow:
    """The row of one item (a Deadline, or anything with `due_on`): see the module docstring for the rule."""
    due = getattr(item, "due_on", None)
    if due is None or not running(item):
        return DeadlineRow(item, due, None, False, name)
    today = today or local_today()
    remaining = (calendar or WorkCalendar()).remaining_working_days(due, today)
    return DeadlineRow(item, due, remaining, is_overdue(due, today), name)


def deadline_rows(
    items: Iterable,
    *,
    name: str = "item",
    today: dt.date | None = None,
    calendar: WorkCalendar | None = None,
    running: Callable[[Any], bool] = clock_running,
) -> list[DeadlineRow]:
    """The rows of `items` (evaluated here), with one calendar and one "today" for all of them."""
    today, calendar = today or local_today(), calendar or WorkCalendar()
    return [deadline_row(item, name=name, today=today, calendar=calendar, running=running) for item in items]


def with_deadline(cases: QuerySet, clock: str) -> QuerySet:
    """Annotate each case with its latest `clock` deadline: due_on, clock_state, extended_days, closed_late.

    None of them when the case never had that clock. One subquery per column, so the list stays one query.
    """
    latest = Deadline.objects.filter(
        case_type=ContentType.objects.get_for_model(cases.model),
        case_id=Cast(OuterRef("pk"), CharField()),
        clock=clock,
    ).order_by("-id")
    return cases.annotate(
        due_on=Subquery(latest.values("due_on")[:1]),
        clock_state=Subquery(latest.values("state")[:1]),
        extended_days=Subquery(latest.values("extended_days")[:1]),
        closed_late=Subquery(latest.values("closed_late")[:1]),
    )
