"""Receivers turning Django's login signals and axes' lockout signal into audit events (connected in apps.py)."""

from __future__ import annotations

from django.conf import settings

from portal.services import auth as auth_services


def _agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "") if request is not None else ""


def on_logged_in(sender, request, user, **kwargs):
    auth_services.login_succeeded(user=user, user_agent=_agent(request))


def on_logged_out(sender, request, user, **kwargs):
    if user is not None and user.is_authenticated:
        reason = getattr(request, "portal_logout_reason", None) if request is not None else None
        auth_services.logged_out(user=user, user_agent=_agent(request), reason=reason)


def on_login_failed(sender, credentials, request=None, **kwargs):
    auth_services.login_failed(
        username=credentials.get("username", ""),
        user_agent=_agent(request),
        locked=bool(getattr(request, "axes_locked_out", False)),
    )


def on_locked_out(sender, request, username, ip_address, **kwargs):
    # axes sends this for the failure that sets the lock and again for each attempt refused during it; those are
    # login_failed events already (locked: true). The lock runs the cool-off from the failure that set it.
    if getattr(request, "portal_lock_was_set", False):
        return
    auth_services.locked_out(
        username=username, ip_address=ip_address, user_agent=_agent(request),
        until=request.axes_attempt_time + settings.AXES_COOLOFF_TIME,
    )
