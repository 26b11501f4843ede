"""Demo organisations and accounts (the kernel's part of `manage.py seed_demo`; chapters add theirs)."""

from __future__ import annotations

from django.db import transaction

from portal.choices import ADMIN_ROLES, Role
from portal.models import Department, Region, User, UserRole
from portal.services import org
from portal.validators import uscc_check_char

DEMO_PASSWORD = "Jiaozuo@2026"  # noqa: S105 — printed on purpose: demo accounts only

# (name, short name, kind, is_bureau) — municipal departments of 焦作市.
CITY_DEPARTMENTS = [
    ("焦作市政务服务和大数据管理局", "市大数据局", "government", True),
    ("焦作市发展和改革委员会", "市发改委", "government", False),
    ("焦作市教育局", "市教育局", "government", False),
    ("焦作市科学技术局", "市科技局", "government", False),
    ("焦作市工业和信息化局", "市工信局", "government", False),
    ("焦作市公安局", "市公安局", "government", False),
    ("焦作市民政局", "市民政局", "government", False),
    ("焦作市司法局", "市司法局", "government", False),
    ("焦作市财政局", "市财政局", "government", False),
    ("焦作市人力资源和社会保障局", "市人社局", "government", False),
    ("焦作市自然资源和规划局", "市自然资源局", "government", False),
    ("焦作市生态环境局", "市生态环境局", "government", False),
    ("焦作市住房和城乡建设局", "市住建局", "government", False),
    ("焦作市城市管理局", "市城管局", "government", False),
    ("焦作市交通运输局", "市交通局", "government", False),
    ("焦作市水利局", "市水利局", "government", False),
    ("焦作市农业农村局", "市农业农村局", "government", False),
    ("焦作市商务局", "市商务局", "government", False),
    ("焦作市文化广电和旅游局", "市文广旅局", "government", False),
    ("焦作市卫生健康委员会", "市卫健委", "government", False),
    ("焦作市退役军人事务局", "市退役军人局", "government", False),
    ("焦作市应急管理局", "市应急局", "government", False),
    ("焦作市审计局", "市审计局", "government", False),
    ("焦作市市场监督管理局", "市市场监管局", "government", False),
    ("焦作市统计局", "市统计局", "government", False),
    ("焦作市医疗保障局", "市医保局", "government", False),
    ("焦作市住房公积金管理中心", "市公积金中心", "institution", False),
    ("焦作市中级人民法院", "市中院", "court", False),
    ("焦作市人民检察院", "市检察院", "procuratorate", False),
    ("焦作市总工会", "市总工会", "mass", False),
]

# County-level departments for the county pre-review path (R8.3).
COUNTY_DEPARTMENTS = [
    ("410821", "修武县政务服务和大数据管理局", "修武县大数据局", "government", True),
    ("410821", "修武县公安局", "修武县公安局", "government", False),
    ("410821", "修武县民政局", "修武县民政局", "government", False),
    ("410882", "沁阳市政务服务和大数据管理局", "沁阳市大数据局", "government", True),
    ("410882", "沁阳市市场监督管理局", "沁阳市市场监管局", "government", False),
]

# (username, full name, department short name, roles)
ACCOUNTS = [
    ("admin", "王建国", "市大数据局", (Role.SYSTEM_ADMIN,)),
    ("security", "李安", "市大数据局", (Role.SECURITY_ADMIN,)),
    ("auditor", "赵审", "市大数据局", (Role.AUDIT_ADMIN,)),
    ("reviewer", "陈静", "市大数据局", (Role.BUREAU_REVIEWER,)),
    ("assessor", "周正", "市大数据局", (Role.ASSESSOR,)),
    ("ga_staff", "刘洋", "市公安局", (Role.DEPT_STAFF,)),
    ("ga_head", "孙强", "市公安局", (Role.DEPT_HEAD,)),
    ("sj_staff", "吴敏", "市市场监管局", (Role.DEPT_STAFF,)),
    ("sj_head", "郑涛", "市市场监管局", (Role.DEPT_HEAD,)),
    ("mz_staff", "黄丽", "市民政局", (Role.DEPT_STAFF,)),
    ("rs_staff", "马超", "市人社局", (Role.DEPT_STAFF,)),
    ("zr_staff", "何平", "市自然资源局", (Role.DEPT_STAFF,)),
    ("wj_staff", "林芳", "市卫健委", (Role.DEPT_STAFF,)),
    ("xw_bureau", "冯磊", "修武县大数据局", (Role.COUNTY_BUREAU,)),
    ("xw_ga_staff", "蒋伟", "修武县公安局", (Role.DEPT_STAFF,)),
    ("xw_ga_head", "韩冰", "修武县公安局", (Role.DEPT_HEAD,)),
]


def organisation_code(serial: int) -> str:
    """A GB 11714 organisation code (8 digits + MOD-11 check char) for demo departments."""
    body = f"{serial:08d}"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def demo_credit_code(region_code: str, serial: int) -> str:
    """A check-valid 统一社会信用代码 of a 机关 (registration authority 1, type 1) in `region_code`."""
    first17 = "11" + region_code + organisation_code(5_540_000 + serial * 37)[:9]
    return first17 + uscc_check_char(first17)


def demo_admins() -> tuple[User, User]:
    """(system administrator, security administrator) of the demo: the first creates accounts, the second grants."""
    return (User.objects.get(roles__role=Role.SYSTEM_ADMIN, username=ACCOUNTS[0][0]),
            User.objects.get(roles__role=Role.SECURITY_ADMIN, username=ACCOUNTS[1][0]))


def ensure_account(username: str, full_name: str, department: Department, roles: tuple[str, ...]) -> User:
    """The demo account `username` with `roles`: created by the system administrator, its roles granted by the
    security administrator (三员分立 — the same path as a real deployment's)."""
    admin, security = demo_admins()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = org.user_create(actor=admin, username=username, password=DEMO_PASSWORD, full_name=full_name,
                               department=department)
    for role in roles:
        if not UserRole.objects.filter(user=user, role=role).exists():
            org.role_grant(actor=security, user=user, role=role)
    return User.objects.get(pk=user.pk)


@transaction.atomic
def seed_organisations() -> list[tuple[str, str, str]]:
    """Create the demo departments and accounts if missing; returns (username, name, roles) for printing.

    The three administrators come first, through the bootstrap path of `manage.py bootstrap_admins`; from then on
    everything goes through the services as those administrators (no superuser, no direct writes)."""
    city = Region.objects.get(code="410800")
    admin_accounts = [(roles[0], username, DEMO_PASSWORD, full_name)
                      for username, full_name, _dept, roles in ACCOUNTS if roles[0] in ADMIN_ROLES]
    org.admins_bootstrap(accounts=admin_accounts)
    admin, _security = demo_admins()

    for serial, (name, short, kind, is_bureau) in enumerate(CITY_DEPARTMENTS):
        if not Department.objects.filter(name=name).exists():
            org.department_create(
                actor=admin, name=name, short_name=short, region=city, kind=kind,
                credit_code=demo_credit_code(city.code, serial), is_bureau=is_bureau,
            )
    for serial, (region_code, name, short, kind, is_bureau) in enumerate(COUNTY_DEPARTMENTS, start=100):
        if not Department.objects.filter(name=name).exists():
            org.department_create(
                actor=admin, name=name, short_name=short, region=Region.objects.get(code=region_code),
                kind=kind, credit_code=demo_credit_code(region_code, serial), is_bureau=is_bureau,
            )

    by_short = {d.short_name: d for d in Department.objects.all()}
    for username, full_name, dept_short, roles in ACCOUNTS:
        user = User.objects.filter(username=username).first()
        if user is not None and user.department_id is None:  # a bootstrapped administrator: place it in its bureau
            org.user_update(actor=admin, user=user, department=by_short[dept_short])
        user = ensure_account(username, full_name, by_short[dept_short], roles)
        if Role.DEPT_HEAD in roles and user.department.head_id is None:
            org.department_set_head(actor=admin, department=user.department, head=user)

    return [
        (u.username, u.full_name, "、".join(str(Role(r.role).label) for r in u.roles.all()))
        for u in User.objects.filter(username__in=[a[0] for a in ACCOUNTS]).prefetch_related("roles").order_by("pk")
    ]
