"""Personal-token authentication for staff scripts: `Authorization: Token jzp_…` (or `Bearer jzp_…`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from portal.confinement import may_visit
from portal.errors import PermissionDenied
from portal.services.passwords import PASSWORD_EXPIRED, password_expired
from portal.services.tokens import token_authenticate
from portal.services.twofactor import OTP_TOKEN_REFUSED, has_confirmed_device, otp_mandatory


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("令牌格式错误"))
        user = token_authenticate(header[1])
        if user is None:
            raise exceptions.AuthenticationFailed(_("令牌无效、已过期或已吊销"))
        if otp_mandatory(user) and not has_confirmed_device(user):  # e.g. after a 2FA reset, or issued before 2FA
            raise PermissionDenied(OTP_TOKEN_REFUSED, code="otp_required")
        if password_expired(user):  # the session middleware cannot see a token's user: the rule holds here too
            raise PermissionDenied(PASSWORD_EXPIRED, code="password_expired")
        match = getattr(request, "resolver_match", None)  # 三员分立 for a token's user, as for a session's
        if match is not None and not may_visit(user, match.view_name):
            raise exceptions.NotFound(_("对象不存在或无权查看"))
        return user, None

    def authenticate_header(self, request):
        return 'Token realm="api"'


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "个人令牌：`Token jzp_…`（在“个人令牌”页面创建）",
        }
