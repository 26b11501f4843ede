"""The supervision desk (/supervision/): the sections of chapters 6–7 and the policy note this person may open.

Each section is one row of SECTIONS (label, URL name, roles, what it is); a new register of this app adds its row."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.shortcuts import role_required

from ..access import PROJECT_READERS
from .assessments import PEOPLE as ASSESSMENT_READERS
from .violations import READERS as VIOLATION_READERS

SECTIONS = [
    (_("数据概览"), "supervision:dashboard", (Role.BUREAU_REVIEWER, Role.ASSESSOR, Role.COUNTY_BUREAU),
     _("全市（县级为本区域）办理时限、逾期、共享申请、目录覆盖和数据质量一览")),
    (_("信息化项目"), "supervision:project-list", PROJECT_READERS,
     _("政务信息化项目的申报、共建共享审核、建设和建成后目录核查")),
    (_("年度考核"), "supervision:assessment-list", ASSESSMENT_READERS,
     _("年度考核的指标计算、复核、异议和结果发布")),
    # ---- violations, rectification orders, notices of criticism (R35, R36)
    (_("违规登记"), "supervision:violation-list", VIOLATION_READERS,
     _("第三十五条七类违规行为：平台每日自动发现，考核人员登记其他违规行为")),
    (_("整改通知"), "supervision:order-list", VIOLATION_READERS,
     _("责令限期整改、整改报告、验收与退回，情节严重的移送有权机关")),
    (_("通报"), "supervision:notice-list", VIOLATION_READERS, _("逾期未改正的通报批评")),
]
READERS = tuple(dict.fromkeys(role for _l, _n, roles, _d in SECTIONS for role in roles))


@role_required(*READERS)
def index(request):
    sections = [{"label": label, "url": reverse(name), "description": description}
                for label, name, roles, description in SECTIONS if request.user.has_role(*roles)]
    return render(request, "supervision/index.html", {"sections": sections})
