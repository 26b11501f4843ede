"""我的待办 (R0.4): what one person must act on, gathered from every chapter.

Two kinds of work reach a person:

- **running clocks** assigned to them (the kernel's deadlines, `Deadline.objects.running().assigned_to(user)`): a
  review, a verification case, an update application — each with its due date and working days left;
- **work without a clock**: an entry waiting for its head's sign-off, a verification case's extension waiting for the
  head, a request waiting for the provider's comment, a responsibility line whose data is late, an open security
  incident, a locked account, a failed audit verification.

The second kind lives in the chapters, above the kernel, so each chapter registers a *provider* here in its
`AppConfig.ready()` (the kernel cannot import them). A provider is `provider(user, today) -> Iterable[TodoGroup]`:
it returns nothing for a user whose roles give them no such work, and otherwise one group per kind of work — its
count, the first few items and the page that lists them all — restricted to the user exactly like that page (the
group's count is the page's count). A provider leaves out what already has a clock (a bureau review is a clock row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

FIRST_ITEMS = 5

Provider = Callable[..., Iterable["TodoGroup"]]
_providers: dict[str, Provider] = {}


@dataclass(frozen=True)
class TodoItem:
    title: str
    url: str
    since: dt.date | dt.datetime | None = None  # when it started waiting
    note: str = ""


@dataclass(frozen=True)
class TodoGroup:
    key: str  # stable, e.g. "catalog.signoff"
    title: str  # what to do, e.g. 待签发目录
    url: str  # the page listing all of them
    count: int
    items: tuple[TodoItem, ...] = field(default_factory=tuple)
    urgent: bool = False  # late or broken: shown first, in warning colour


def my_clocks(user):
    """The running clocks assigned to `user` (the first kind of work), soonest due first."""
    from portal.models import Deadline

    return Deadline.objects.running().assigned_to(user).select_related("department").order_by("due_on", "id")


def register(key: str, provider: Provider) -> None:
    """Called by a chapter's AppConfig.ready(); registering a key again replaces its provider."""
    _providers[key] = provider


def todo_groups(user, *, today: dt.date) -> list[TodoGroup]:
    """Every group of clock-less work `user` must act on (empty groups left out), urgent ones first."""
    if not user.is_authenticated:
        return []
    groups = [g for provider in _providers.values() for g in provider(user, today) if g.count]
    return sorted(groups, key=lambda g: not g.urgent)


def group(key: str, title, url: str, qs, item: Callable, *, urgent: bool = False) -> list[TodoGroup]:
    """One group from a restricted queryset: its count and its first FIRST_ITEMS rows through `item(row)`."""
    first = list(qs[:FIRST_ITEMS])
    if not first:
        return []
    count = len(first) if len(first) < FIRST_ITEMS else qs.count()
    return [TodoGroup(key=key, title=str(title), url=url, count=count, items=tuple(item(r) for r in first),
                      urgent=urgent)]
