"""The security administrator's two-factor page: who has enrolled, and a reset for someone who lost their phone."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from portal.choices import Role
from portal.errors import PortalError
from portal.selectors.twofactor import users_with_otp_state, with_mandatory
from portal.services.twofactor import otp_reset
from portal.shortcuts import http_refusal, role_required
from portal.validators import text_problem

PAGE_SIZE = 50


def _user_id(value: str) -> int:
    # ASCII digits only (int() would take "１２" too), and nothing beyond a bigint: 0 finds nobody (404).
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else 0


@role_required(Role.SECURITY_ADMIN)
def two_factor_users(request):
    if request.method == "POST":
        back = request.POST.get("back", "")
        try:
            target = otp_reset(actor=request.user, user_id=_user_id(request.POST.get("user", "")),
                               user_agent=request.META.get("HTTP_USER_AGENT", ""))
        except PortalError as exc:
            http_refusal(exc)
            messages.error(request, str(exc.detail))
        else:
            done = _("已重置 %(user)s 的双因素认证，其个人令牌已全部吊销；该用户下次登录时须重新绑定。")
            messages.success(request, done % {"user": target.get_username()})
        query = urlencode({k: v for k, v in (("q", request.POST.get("q", "")), ("page", back)) if v})
        return redirect(f"{request.path}?{query}" if query else request.path)

    q = request.GET.get("q", "")
    problem = text_problem(q)
    if problem:  # a NUL, control characters, an over-long value: never reaches the query
        messages.error(request, _("搜索词无效：%(problem)s") % {"problem": problem})
        q = ""
    page = Paginator(users_with_otp_state(actor=request.user, q=q), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = with_mandatory(page.object_list)
    return render(request, "security/twofactor.html", {"page": page, "rows": rows, "q": q})
