"""Login lockout: who is locked out, until when, and the axes handler deciding by that rule (等保 8.1.4.1 b, R28.1).

The rule, per account and, apart, per source address: `AXES_FAILURE_LIMIT` failures within `LOGIN_FAILURE_WINDOW`
lock for `AXES_COOLOFF_TIME` from the failure that completed them. It is read from axes' failure log
(`AccessFailureLog`, one row per failed login; the failures refused during a lock are not logged), so the window is
exact — not axes' own streak counter.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessFailureLog
from django.conf import settings
from django.db.models import Q
from django.utils import timezone


def _limit() -> int:
    return settings.AXES_FAILURE_LIMIT


def _window() -> dt.timedelta:
    return settings.LOGIN_FAILURE_WINDOW


def _cool_off() -> dt.timedelta:
    return settings.AXES_COOLOFF_TIME


def lock_end(times: Sequence[dt.datetime], *, now: dt.datetime) -> dt.datetime | None:
    """When the lock set by these failure times ends, or None when they set no lock still running at `now`."""
    times = sorted(times)
    limit, window, cool_off = _limit(), _window(), _cool_off()
    ends = [
        times[i + limit - 1] + cool_off
        for i in range(len(times) - limit + 1)
        if times[i + limit - 1] - times[i] <= window
    ]
    end = max(ends, default=None)
    return end if end is not None and end > now else None


def _recent(now: dt.datetime):
    return AccessFailureLog.objects.filter(attempt_time__gt=now - _cool_off() - _window(), attempt_time__lte=now)


def recent_failures(*, now: dt.datetime | None = None, **lookup) -> int:
    """Failures within the window matching one lockout parameter (`username=…` or `ip_address=…`)."""
    now = now or timezone.now()
    return _recent(now).filter(attempt_time__gt=now - _window(), **lookup).count()


def locked_until(*, username: str | None = None, ip_address: str | None = None,
                 now: dt.datetime | None = None) -> dt.datetime | None:
    """The later end of the account's and the address's lock, or None when neither is locked."""
    now = now or timezone.now()
    ends = []
    for field, value in (("username", username), ("ip_address", ip_address)):
        if value:
            times = _recent(now).filter(**{field: value}).values_list("attempt_time", flat=True)
            ends.append(lock_end(list(times), now=now))
    return max((end for end in ends if end), default=None)


@dataclass(frozen=True)
class Lock:
    kind: str  # "username" or "ip_address"
    value: str
    until: dt.datetime
    # The other side of the failures behind the lock: the addresses an account was tried from, the accounts tried
    # from an address. What the security administrator weighs before unlocking (one clerk's typing, or guessing).
    related: tuple[str, ...] = ()


def current_locks(*, now: dt.datetime | None = None) -> list[Lock]:
    """Every lock running now, accounts first, each sorted by the time it ends."""
    now = now or timezone.now()
    rows = list(_recent(now).values_list("username", "ip_address", "attempt_time"))
    locks = []
    for kind, index in (("username", 0), ("ip_address", 1)):
        locks.extend(sorted(_locks_of(kind, rows, index, now), key=lambda k: k.until))
    return locks


def _locks_of(kind: str, rows: Iterable[tuple[str | None, str | None, dt.datetime]], index: int,
              now: dt.datetime) -> list[Lock]:
    times, related = defaultdict(list), defaultdict(set)
    for row in rows:
        value, other, at = row[index], row[1 - index], row[2]
        if value:
            times[value].append(at)
            if other:
                related[value].add(other)
    return [Lock(kind, value, end, tuple(sorted(related[value])))
            for value, ts in times.items() if (end := lock_end(ts, now=now))]


class PortalAxesHandler(AxesDatabaseHandler):
    """axes' database handler, counting failures by the rule above (AXES_HANDLER).

    axes asks `get_failures` twice: before authenticating (is the caller locked?) and while recording a failure
    (does this one lock?) — the second time the failure being recorded is not in the failure log yet, so it is
    added here. A lock answers the limit itself, so the right password is refused until the lock ends.
    """

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is None:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        request.portal_lock_was_set = bool(getattr(request, "axes_locked_out", False))
        request.portal_recording_failure = True
        try:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        finally:
            request.portal_recording_failure = False

    def get_failures(self, request, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        ip_address = getattr(request, "axes_ip_address", None)
        now = getattr(request, "axes_attempt_time", None) or timezone.now()
        if locked_until(username=username, ip_address=ip_address, now=now):
            return get_failure_limit(request, credentials)
        counts = [recent_failures(now=now, **{field: value})
                  for field, value in (("username", username), ("ip_address", ip_address)) if value]
        return max(counts, default=0) + (1 if getattr(request, "portal_recording_failure", False) else 0)

    def reset_attempts(self, *, ip_address: str | None = None, username: str | None = None,
                       ip_or_username: bool = False) -> int:
        """axes' reset (`axes_reset…` commands, the admin) clears the failure log the lock is read from too."""
        if ip_or_username:
            match = Q(ip_address=ip_address) | Q(username=username)
        else:
            match = Q(**{k: v for k, v in (("ip_address", ip_address), ("username", username)) if v})
        AccessFailureLog.objects.filter(match).delete()
        return super().reset_attempts(ip_address=ip_address, username=username, ip_or_username=ip_or_username)
