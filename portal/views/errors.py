"""Error pages Django would otherwise draw itself (its CSRF failure page is English, with an inline <style> the
Content-Security-Policy blocks)."""

from __future__ import annotations

from django.shortcuts import render


def csrf_failure(request, reason: str = ""):
    """A POST without a valid CSRF token (a form left open too long, or sent from another site): 403, in Chinese.
    The reason is Django's English diagnosis, for the log only."""
    return render(request, "portal/csrf_failure.html", status=403)
