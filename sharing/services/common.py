"""What the sharing services share: messages sent once the use case's transaction commits."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from portal.models import User
from portal.services.notifications import notify


def notify_on_commit(recipients: Iterable[User], title: str, url: str = "", body: str = "") -> None:
    recipients = list(recipients)
    transaction.on_commit(lambda: notify(recipients=recipients, title=title, body=body, url=url))
