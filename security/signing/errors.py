"""The refusals of a signed call, each with its stable code (the API handler answers code and status)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions

from portal.errors import PortalError


class ClientAuthError(PortalError, exceptions.AuthenticationFailed):
    """A refused signed call; a PortalError so the API handler answers its exact code and status.

    Also an AuthenticationFailed so DRF treats it as an authentication failure (unauthenticated request).
    """

    code = "not_authenticated"
    status = 401
    status_code = 401
    default_detail = _("身份认证失败")


class NotAuthenticated(ClientAuthError):
    code = "not_authenticated"
    default_detail = _("身份认证失败：缺少或错误的认证信息")


class SignatureInvalid(ClientAuthError):
    code = "signature_invalid"
    default_detail = _("签名无效")


class Replayed(ClientAuthError):
    code = "replayed"
    default_detail = _("请求重放：该随机串已使用过")


class Unavailable(PortalError):
    """The replay guard (Redis) cannot be reached: refuse rather than accept a call that might be a replay."""

    code = "unavailable"
    status = 503
    default_detail = _("服务暂不可用，请稍后重试")


class ClientSuspended(ClientAuthError):
    code = "client_suspended"
    status = 403
    status_code = 403
    default_detail = _("接入系统已停用")


class IpNotAllowed(ClientAuthError):
    """A correctly signed call from a source address outside the client's allowed networks (R28 / 等保)."""

    code = "ip_not_allowed"
    status = 403
    status_code = 403
    default_detail = _("调用来源地址不在该接入系统允许的网段内")
