"""Two-factor login (等保 8.1.4.1 d, R28.1): who must use it, enrolment, verification, backup codes, reset.

The rule is `otp_required(user)` and nothing else decides it: the session middleware
(portal.middleware.TwoFactorMiddleware), token issuance (portal.services.tokens) and token authentication
(portal.api.authentication) all ask it.

A session is *verified* when django-otp's OTPMiddleware found the device that verified it
(`user.otp_device`, from the session key django_otp.DEVICE_ID_SESSION_KEY); the views mark it with
`mark_session_verified` after `otp_verify` / `otp_enrol` succeed.

Backup codes (otp_static) are stored as keyed digests, not as typed: a copy of the database alone does not give a
second factor. The TOTP device's shared secret must stay readable (django-otp computes codes from it).
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from binascii import unhexlify

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import audit
from portal.choices import AuditResult, Role
from portal.errors import NotFound, PermissionDenied, PortalError
from portal.models import PersonalToken, User
from portal.services.settings import value as setting_value

# Roles that must sign in with a second factor whatever else holds (SPEC R28.1: bureau, assessor, county bureau and
# the three administrators). Department staff and heads may enrol; once enrolled, they must use it too.
MANDATORY_ROLES = (
    Role.BUREAU_REVIEWER, Role.ASSESSOR, Role.COUNTY_BUREAU,
    Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN,
)
BACKUP_CODE_COUNT = 10

OTP_REQUIRED = gettext_lazy("请先完成双因素认证（输入动态验证码）。")
OTP_TOKEN_REFUSED = gettext_lazy("该账户须使用双因素认证但尚未绑定验证器：请登录门户完成绑定后重新创建令牌。")
_TOTP_CODE = re.compile(r"^\d{6}$")
_BACKUP_CODE = re.compile(r"^[a-z2-7]{8}$")  # StaticToken.random_token(): 5 random bytes in base32


def mandatory_for_roles(roles) -> bool:
    """The same rule as otp_mandatory, on role names already at hand (a list page's prefetched roles)."""
    return _required_for_all() or bool(set(roles) & set(MANDATORY_ROLES))


def _required_for_all() -> bool:
    """The security administrator's setting 所有用户须使用双因素认证 (portal.services.settings, cached)."""
    return bool(setting_value("otp_required_for_all"))


def otp_mandatory(user) -> bool:
    """True when the user's roles (or the portal-wide setting) demand a second factor, enrolled or not."""
    if not user.is_authenticated:
        return False
    if _required_for_all():
        return True
    return user.has_role(*MANDATORY_ROLES)


def has_confirmed_device(user) -> bool:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def otp_required(user) -> bool:
    """Must this user's sign-in include a second factor? Mandatory roles, the setting, or an enrolled device."""
    if not user.is_authenticated:
        return False
    return otp_mandatory(user) or has_confirmed_device(user)


def is_verified(user) -> bool:
    """Did this request's session pass the second factor? (OTPMiddleware sets `otp_device` on request.user.)"""
    return getattr(user, "otp_device", None) is not None


def otp_pending(user) -> bool:
    """A signed-in session that still owes its second factor."""
    return user.is_authenticated and not is_verified(user) and otp_required(user)


def require_verified(user) -> None:
    """Refuse (403 `otp_required`) a use case that needs a verified session when this user must use 2FA."""
    if otp_pending(user):
        raise PermissionDenied(OTP_REQUIRED, code="otp_required")


def mark_session_verified(request, device) -> None:
    """The session passed its second factor with `device`: a new session key (no fixation across the step), then
    the device in the session the way django_otp.login keeps it."""
    request.session.cycle_key()
    request.session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    request.user.otp_device = device


# ---------------------------------------------------------------- helpers


def _agent(user_agent: str | None) -> dict:
    return {"user_agent": (user_agent or "")[:300]}


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()[:32]


def _backup_digest(code: str) -> str:
    # 80 bits of an HMAC keyed with SECRET_KEY, in StaticToken.token's 16 characters.
    mac = salted_hmac("portal.otp.backup_code", code, algorithm="sha256").digest()
    return base64.b32encode(mac[:10]).decode().lower()


def _issue_backup_codes(user) -> list[str]:
    """Replace the user's backup codes with new ones; returns them as shown (xxxx-xxxx), the only time they exist."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=_("备用码"), confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=_backup_digest(c)) for c in codes)
    return [f"{c[:4]}-{c[4:]}" for c in codes]


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user_id=user.pk, device__confirmed=True).count()


def new_enrolment_key() -> str:
    """A fresh TOTP secret (hex, 20 bytes as RFC 6238 recommends), kept by the enrolment page until confirmed."""
    return secrets.token_hex(20)


def valid_enrolment_key(key) -> bool:
    return isinstance(key, str) and re.fullmatch(r"[0-9a-f]{40}", key) is not None


def provisioning(user, key: str) -> tuple[str, str]:
    """(base32 secret for typing in, otpauth:// URI for the QR code) of an enrolment key."""
    device = TOTPDevice(user=user, key=key)
    secret = base64.b32encode(unhexlify(key)).decode()
    return secret, device.config_url


# ---------------------------------------------------------------- use cases


def otp_enrol(*, user: User, key: str, code: str, user_agent: str | None = None) -> tuple[TOTPDevice, list[str]]:
    """Confirm an authenticator app: `code` must match `key` now. Creates the confirmed TOTP device (the code just
    typed counts as used) and ten backup codes; returns (device, backup codes to show once)."""
    if not valid_enrolment_key(key):
        raise PortalError(_("绑定已过期，请重新扫描二维码。"), code="otp_enrolment_expired")
    typed = _normalise(code)
    totp = TOTP(unhexlify(key))
    totp.time = time.time()
    if not (_TOTP_CODE.match(typed) and totp.verify(int(typed), tolerance=1)):
        with transaction.atomic():
            _audit_failed(user, user_agent, stage="enrol", reason="invalid")
        raise PortalError(_("验证码不正确，请核对手机时间后输入当前显示的 6 位数字。"), code="otp_invalid",
                          errors={"code": [_("验证码不正确")]})
    with transaction.atomic():
        User.objects.select_for_update(of=("self",)).filter(pk=user.pk).first()  # one enrolment at a time per user
        if has_confirmed_device(user):
            raise PortalError(_("已启用双因素认证，无需重复绑定。"), code="otp_already_enrolled")
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(
            user=user, name=_("手机验证器"), key=key, confirmed=True, last_t=totp.t(), drift=totp.drift,
        )
        codes = _issue_backup_codes(user)
        audit.record(actor=user, action="portal.auth.otp_enrolled", obj=user, data=_agent(user_agent))
        audit.record(actor=user, action="portal.auth.otp_backup_codes_issued", obj=user,
                     data={**_agent(user_agent), "count": len(codes)})
    return device, codes


def otp_verify(*, user: User, code: str, user_agent: str | None = None):
    """The second step of a sign-in: a current TOTP code (each accepted once: django-otp's last_t) or one backup
    code (deleted when used). Failures are throttled per device (1, 2, 4 … seconds) and audited. Returns the device
    that verified; raises PortalError `otp_invalid` / `otp_throttled`."""
    typed = _normalise(code)
    refusal = None
    with transaction.atomic():
        if _TOTP_CODE.match(typed):
            device, token, method = (TOTPDevice.objects.select_for_update()
                                     .filter(user_id=user.pk, confirmed=True).first()), typed, "totp"
        elif _BACKUP_CODE.match(typed):
            device, token, method = (StaticDevice.objects.select_for_update()
                                     .filter(user_id=user.pk, confirmed=True).first()), _backup_digest(typed), "backup"
        else:
            device, token, method = None, "", "unknown"
        allowed, info = device.verify_is_allowed() if device is not None else (True, None)
        if device is not None and allowed and device.verify_token(token):
            data = {**_agent(user_agent), "method": method}
            if method == "backup":
                left = device.token_set.count()
                audit.record(actor=user, action="portal.auth.otp_backup_code_used", obj=user,
                             data={**_agent(user_agent), "remaining": left})
                data["backup_codes_left"] = left
            audit.record(actor=user, action="portal.auth.otp_verified", obj=user, data=data)
            return device
        if not allowed:
            until = timezone.localtime(info["locked_until"])
            refusal = PortalError(_("验证失败次数过多，请于 %(until)s 后再试。") % {"until": f"{until:%H:%M:%S}"},
                                  code="otp_throttled")
        else:
            refusal = PortalError(_("验证码错误、已过期或已使用过。"), code="otp_invalid",
                                  errors={"code": [_("验证码错误、已过期或已使用过。")]})
        _audit_failed(user, user_agent, stage="verify", reason=refusal.code, method=method)
    raise refusal


def _audit_failed(user, user_agent, **data) -> None:
    audit.record(actor=user, action="portal.auth.otp_failed", obj=user, result=AuditResult.FAILURE,
                 data={**_agent(user_agent), **data})


def otp_backup_codes_regenerate(*, user: User, user_agent: str | None = None) -> list[str]:
    """New backup codes for an enrolled user in a verified session; the old ones stop working."""
    require_verified(user)
    with transaction.atomic():
        if not has_confirmed_device(user):
            raise PortalError(_("尚未启用双因素认证。"), code="otp_not_enrolled")
        codes = _issue_backup_codes(user)
        audit.record(actor=user, action="portal.auth.otp_backup_codes_issued", obj=user,
                     data={**_agent(user_agent), "count": len(codes)})
    return codes


def otp_disable(*, user: User, user_agent: str | None = None) -> None:
    """An optional user turns 2FA off (verified session; not when a role or the setting makes it mandatory)."""
    require_verified(user)
    if otp_mandatory(user):
        raise PermissionDenied(_("您的角色必须使用双因素认证，不能停用。"), code="otp_mandatory")
    with transaction.atomic():
        removed, _by_model = TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        if not removed:
            raise PortalError(_("尚未启用双因素认证。"), code="otp_not_enrolled")
        audit.record(actor=user, action="portal.auth.otp_disabled", obj=user, data=_agent(user_agent))


def otp_reset(*, actor: User, user_id: int, user_agent: str | None = None) -> User:
    """The security administrator's reset of someone's second factor (a lost phone): their devices and backup codes
    go, and so do their personal tokens (issued under the old factor). They enrol again at their next sign-in."""
    if not actor.has_role(Role.SECURITY_ADMIN):
        raise PermissionDenied()
    with transaction.atomic():
        target = User.objects.select_for_update(of=("self",)).filter(pk=user_id).first()
        if target is None:
            raise NotFound()
        if target.pk == actor.pk:
            raise PermissionDenied(_("不能重置自己的双因素认证，请由另一位安全管理员操作。"), code="otp_reset_self")
        devices, _by_model = TOTPDevice.objects.filter(user=target).delete()
        StaticDevice.objects.filter(user=target).delete()
        tokens = PersonalToken.objects.filter(user=target, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit.record(actor=actor, action="portal.auth.otp_reset", obj=target,
                     data={**_agent(user_agent), "devices_removed": devices, "tokens_revoked": tokens})
    return target
