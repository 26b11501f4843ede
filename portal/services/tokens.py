"""Personal API tokens: the raw token is shown once; only its SHA-256 digest is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.errors import NotFound, PortalError
from portal.models import PersonalToken, User
from portal.services.twofactor import require_verified

TOKEN_PREFIX = "jzp_"  # noqa: S105 — a public prefix that makes leaked tokens greppable


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(*, actor: User, name: str, valid_days: int | None = 90) -> tuple[PersonalToken, str]:
    """Issue a token for the actor's own scripts; returns (token row, raw token to show once). A user who must use
    two-factor login issues tokens only from a session that passed it (403 `otp_required`): a token must not turn a
    password alone into lasting access."""
    require_verified(actor)
    name = name.strip()
    if not name:
        raise PortalError(_("请填写令牌名称"), errors={"name": [_("请填写令牌名称")]})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = PersonalToken.objects.create(
            user=actor,
            name=name[:100],
            prefix=raw[:12],
            digest=token_digest(raw),
            expires_at=timezone.now() + dt.timedelta(days=valid_days) if valid_days else None,
        )
        audit.record(actor=actor, action="portal.token.created", obj=token, data={"expires_at": token.expires_at})
    return token, raw


def token_revoke(*, actor: User, token_id: int) -> PersonalToken:
    """Revoke one of the actor's own tokens. Raises NotFound for someone else's token."""
    with transaction.atomic():
        token = PersonalToken.objects.select_for_update().filter(pk=token_id, user=actor).first()
        if token is None:
            raise NotFound()
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(actor=actor, action="portal.token.revoked", obj=token)
    return token


def token_authenticate(raw: str) -> User | None:
    """The active user a valid, unexpired, unrevoked token belongs to, else None."""
    now = timezone.now()
    token = (
        PersonalToken.objects.select_related("user__department__region")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or (token.expires_at and token.expires_at <= now):
        return None
    # Throttled write: last use to the minute is enough to spot unused tokens.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
