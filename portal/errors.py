"""PortalError: the one exception type services raise for refused use cases; carries a stable API code."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class PortalError(Exception):
    """A use case refused: `code` is stable for API clients, `detail` is the (Chinese) message for people."""

    code = "invalid"
    status = 400
    default_detail = _("请求无效")

    def __init__(self, detail=None, *, code: str | None = None, errors: dict | None = None):
        self.detail = detail if detail is not None else self.default_detail
        if code:
            self.code = code
        self.errors = errors or {}
        super().__init__(str(self.detail))


class NotFound(PortalError):
    code = "not_found"
    status = 404
    default_detail = _("对象不存在或无权查看")


class PermissionDenied(PortalError):
    code = "permission_denied"
    status = 403
    default_detail = _("无权执行此操作")


class InvalidTransition(PortalError):
    code = "invalid_state"
    status = 409
    default_detail = _("当前状态不允许此操作")


class RoleConflict(PortalError):
    code = "role_conflict"
    status = 409
    default_detail = _("系统管理员、安全管理员、审计管理员须由不同账号担任（三员分立）")
