"""Demo assessments (R33), through the real services as the demo accounts: the city's assessment of this year so far
(the demo's evidence — late answers, returned entries, stale data, an incident — is this year's), computed, one score
adjusted with its reason, in its objection period with an objection of 市公安局; and 修武县's own assessment of its
departments, computed. Idempotent: an assessment is keyed by its title."""

from __future__ import annotations

import datetime as dt

from portal.models import User
from portal.services.workdays import local_today

from .models import Assessment
from .services import assessments as services


def seed(stdout) -> None:
    today = local_today()
    assessor = User.objects.filter(username="assessor").first()
    county = User.objects.filter(username="xw_bureau").first()
    staff = User.objects.filter(username="ga_staff").first()
    if assessor is None:
        return
    title = f"{today.year} 年度全市政务数据资源管理考核（演示）"
    if not Assessment.objects.filter(title=title).exists():
        assessment = _computed(assessor, title, today.year)
        if staff is not None and assessment.results.filter(department=staff.department_id).exists():
            services.assessment_adjust(actor=assessor, assessment_id=assessment.pk,
                                       department_id=staff.department_id, delta="-2", indicator_key="data_quality",
                                       reason="抽查发现部分数据项长期为空，核减质量得分")
            services.assessment_objections_open(actor=assessor, assessment_id=assessment.pk,
                                                until=today + dt.timedelta(days=10))
            services.assessment_object(actor=staff, assessment_id=assessment.pk, indicator_key="sharing_on_time",
                                       reason="两件共享申请系申请方补充材料导致超期，请予核减")
            assessment.refresh_from_db()
        stdout.write(f"  supervision: {assessment.title} {assessment.get_state_display()}")
    county_title = f"{today.year} 年度修武县政务数据资源管理考核（演示）"
    if county is not None and not Assessment.objects.filter(title=county_title).exists():
        assessment = _computed(county, county_title, today.year)
        stdout.write(f"  supervision: {assessment.title} {assessment.get_state_display()}")


def _computed(actor, title: str, year: int) -> Assessment:
    assessment = services.assessment_create(actor=actor, year=year, title=title)
    run = services.assessment_compute(actor=actor, assessment_id=assessment.pk, inline=True)
    services.assessment_run_execute(run_id=run.pk)
    assessment.refresh_from_db()
    return assessment
