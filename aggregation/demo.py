"""Demo data of the storage part: 人口 (100 k people) and 法人 (20 k enterprises) loaded through the real
pipeline (COPY + set-based upsert), plus `samples/` files for trying the importer. Idempotent and fast.

`seed(stdout)` is called by `manage.py seed_demo` after catalog.demo. It looks the two catalog entries up by
provider and name, and files/publishes them through the catalog services when they are missing.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction

from portal.validators import uscc_check_char

from .choices import JobFormat, JobMode

POPULATION_ROWS = 100_000
ENTERPRISE_ROWS = 20_000
SEED = 20261125

# GB/T 2260 codes of 焦作市 and its county-level divisions.
JIAOZUO_AREAS = {
    "410802": "解放区", "410803": "中站区", "410804": "马村区", "410811": "山阳区", "410821": "修武县",
    "410822": "博爱县", "410823": "武陟县", "410825": "温县", "410882": "沁阳市", "410883": "孟州市",
}
STREETS = ["民主路", "解放路", "人民路", "塔南路", "丰收路", "建设路", "山阳路", "太行路", "迎宾路", "焦东路",
           "中原路", "工业路", "新华街", "站前路", "文昌路", "世纪路"]
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
    "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏飞建国志强海燕晓东文博子涵浩然一诺欣"
    "怡梓萱宇轩思远佳怡俊杰雨桐"
)
NATIONS = ["汉族"] * 97 + ["回族", "满族", "蒙古族"]
INDUSTRY = ["科技", "商贸", "建材", "食品", "物流", "机械", "化工", "医药", "农业", "文化", "建筑", "能源"]
SUFFIX = ["有限公司", "有限责任公司", "股份有限公司", "商贸有限公司"]
STATES = ["存续"] * 9 + ["在业", "吊销", "注销"]

# The same items as catalog.demo's entries (used when an entry has to be filed here).
POPULATION_ITEMS = [
    {"name": "公民身份号码", "data_type": "C", "length": 18, "is_subject_key": True, "is_base_item": True},
    {"name": "姓名", "data_type": "C", "length": 50, "is_base_item": True},
    {"name": "性别", "data_type": "C", "length": 2, "is_base_item": True},
    {"name": "民族", "data_type": "C", "length": 20, "is_base_item": True},
    {"name": "出生日期", "data_type": "D", "length": 8, "is_base_item": True},
    {"name": "出生地", "data_type": "C", "length": 50, "is_base_item": True},
    {"name": "户籍地址", "data_type": "C", "length": 200, "is_base_item": True},
    {"name": "户号", "data_type": "C", "length": 50},
    {"name": "与户主关系", "data_type": "C", "length": 50},
    {"name": "婚姻状况", "data_type": "C", "length": 50},
    {"name": "文化程度", "data_type": "C", "length": 50},
    {"name": "登记日期", "data_type": "D", "length": 8},
]
ENTERPRISE_ITEMS = [
    {"name": "统一社会信用代码", "data_type": "C", "length": 18, "is_subject_key": True, "is_base_item": True},
    {"name": "企业名称", "data_type": "C", "length": 200, "is_base_item": True},
    {"name": "企业类型", "data_type": "C", "length": 50, "is_base_item": True},
    {"name": "法定代表人", "data_type": "C", "length": 50, "is_base_item": True},
    {"name": "注册资本", "data_type": "Y", "length": 18, "is_base_item": True},
    {"name": "成立日期", "data_type": "D", "length": 8, "is_base_item": True},
    {"name": "营业期限自", "data_type": "C", "length": 50},
    {"name": "营业期限至", "data_type": "C", "length": 50},
    {"name": "登记机关", "data_type": "C", "length": 50, "is_base_item": True},
    {"name": "住所", "data_type": "C", "length": 200, "is_base_item": True},
    {"name": "经营范围", "data_type": "M"},
    {"name": "登记状态", "data_type": "C", "length": 50, "is_base_item": True},
]

RESOURCES = [
    # provider short name, entry name, classification code, items, rows
    ("市公安局", "户籍人口信息", "101", POPULATION_ITEMS, POPULATION_ROWS),
    ("市市场监管局", "企业登记信息", "102", ENTERPRISE_ITEMS, ENTERPRISE_ROWS),
]

# A second source about the same people (catalog.demo's approved 市民政局 entry): the first RELIEF_ROWS people of the
# population, with their 姓名 and 户籍地址 as 公安 holds them — except RELIEF_DISAGREEMENTS, where 民政's record
# differs (a homophone in the given name, an old address), so a fresh install's quality report shows consistency pairs.
RELIEF = ("市民政局", "城乡低保对象信息")
RELIEF_ROWS = 300
RELIEF_DISAGREEMENTS = {7: ("姓名", lambda v: v[:-1] + ("玉" if v[-1] != "玉" else "宇")),
                        42: ("户籍地址", lambda v: v.rsplit("路", 1)[0] + "路1号院")}


# --------------------------------------------------------------------------------------------------
# Generators (valid check digits, Jiaozuo area codes)


def id_check_char(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def id_number(rng: random.Random, *, area: str | None = None, born: dt.date | None = None, male=None) -> str:
    area = area or rng.choice(list(JIAOZUO_AREAS))
    born = born or dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 66))
    seq = rng.randrange(0, 1000)
    if male is not None and (seq % 2 == 1) != male:
        seq = (seq + 1) % 1000
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def credit_code(rng: random.Random, *, area: str | None = None) -> str:
    area = area or rng.choice(list(JIAOZUO_AREAS))
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "".join(rng.choice(charset) for _ in range(8))
    org = body + _org_check(body)
    first17 = f"91{area}{org}"
    return first17 + uscc_check_char(first17)


def _org_check(body: str) -> str:
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    values = [charset.index(c) if c in charset else 0 for c in body]
    check = 11 - sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return {10: "X", 11: "0"}.get(check, str(check))


RELATIONS = ["户主", "配偶", "子", "女", "父亲", "母亲", "孙子", "孙女"]
MARRIAGE = ["未婚", "已婚", "已婚", "已婚", "离婚", "丧偶"]
EDUCATION = ["小学", "初中", "高中", "中专", "大学专科", "大学本科", "研究生"]
KINDS = ["有限责任公司(自然人投资或控股)", "有限责任公司(自然人独资)", "股份有限公司(非上市)", "个人独资企业"]
SCOPES = ["技术开发、技术咨询、技术服务", "日用百货、五金交电销售", "建筑材料销售", "食品生产、销售",
          "道路普通货物运输"]


def person(rng: random.Random) -> dict[str, str]:
    area = rng.choice(list(JIAOZUO_AREAS))
    male = rng.random() < 0.5
    number = id_number(rng, area=area, male=male)
    born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    registered = born + dt.timedelta(days=rng.randrange(0, 365 * 20))
    return {
        "公民身份号码": number,
        "姓名": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2)))),
        "性别": "男" if male else "女",
        "出生日期": born.isoformat(),
        "民族": rng.choice(NATIONS),
        "出生地": f"河南省焦作市{JIAOZUO_AREAS[area]}",
        "户籍地址": f"河南省焦作市{JIAOZUO_AREAS[area]}{rng.choice(STREETS)}{rng.randrange(1, 400)}号",
        "户号": f"{area}{rng.randrange(0, 10**7):07d}",
        "与户主关系": rng.choice(RELATIONS),
        "婚姻状况": rng.choice(MARRIAGE),
        "文化程度": rng.choice(EDUCATION),
        "登记日期": min(registered, dt.date(2026, 1, 1)).isoformat(),
        "联系电话": f"1{rng.choice('3589')}{rng.randrange(0, 10)}{rng.randrange(0, 10**8):08d}",
    }


def enterprise(rng: random.Random) -> dict[str, str]:
    area = rng.choice(list(JIAOZUO_AREAS))
    place = JIAOZUO_AREAS[area].rstrip("区县市")
    founded = dt.date(1995, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 30))
    return {
        "统一社会信用代码": credit_code(rng, area=area),
        "企业名称": f"焦作市{place}{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{rng.choice(INDUSTRY)}{rng.choice(SUFFIX)}",
        "企业类型": rng.choice(KINDS),
        "法定代表人": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2)),
        "注册资本": f"{rng.choice((10, 50, 100, 200, 500, 1000, 3000))}0000.00",
        "成立日期": founded.isoformat(),
        "营业期限自": founded.isoformat(),
        "营业期限至": "长期",
        "登记机关": f"焦作市{JIAOZUO_AREAS[area]}市场监督管理局",
        "住所": f"河南省焦作市{JIAOZUO_AREAS[area]}{rng.choice(STREETS)}{rng.randrange(1, 900)}号",
        "经营范围": rng.choice(SCOPES),
        "登记状态": rng.choice(STATES),
        "经营状态": rng.choice(STATES),
    }


def _fallback(item: dict, rng: random.Random) -> str:
    kind = item.get("data_type", "C")
    if kind == "D":
        return (dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(0, 9000))).isoformat()
    if kind in ("N", "I"):
        return str(rng.randrange(0, 1000))
    if kind in ("Y", "F", "B"):
        return f"{rng.randrange(0, 100000)}.00"
    if kind == "L":
        return rng.choice(("是", "否"))
    return ""


def generated_rows(items: list[dict], n: int, *, seed: int = SEED):
    """n rows (lists in item order) with unique valid keys; items the generators do not know get a value by type."""
    rng = random.Random(seed)  # noqa: S311 — demo data, reproducible on purpose
    key = next(i["name"] for i in items if i.get("is_subject_key"))
    make = enterprise if "信用代码" in key else person
    seen = set()
    while len(seen) < n:
        values = make(rng)
        if values.get(key) in seen:
            continue
        seen.add(values.get(key))
        yield [values.get(i["name"]) or _fallback(i, rng) for i in items]


def person_rows(n: int, *, seed: int = SEED):
    return generated_rows(POPULATION_ITEMS, n, seed=seed)


def enterprise_rows(n: int, *, seed: int = SEED + 1):
    return generated_rows(ENTERPRISE_ITEMS, n, seed=seed)


def write_csv(path: Path, header: list[str], rows, *, encoding: str = "utf-8", crlf: bool = False) -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n" if crlf else "\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --------------------------------------------------------------------------------------------------
# Catalog entries


def _entry(provider_short: str, name: str, cls_code: str, items: list[dict], stdout):
    """The approved entry (looked up by provider and name), filed and published through catalog services if missing."""
    from catalog.choices import EntryState
    from catalog.models import CatalogEntry, Classification
    from catalog.services import entries as catalog_services
    from portal.choices import Role
    from portal.models import Department, User

    dept = Department.objects.filter(short_name=provider_short).first()
    if dept is None:
        stdout.write(f"  aggregation: 部门“{provider_short}”不存在，跳过")
        return None
    entry = CatalogEntry.objects.filter(provider=dept, name=name).order_by("-state").first()
    approved = CatalogEntry.objects.filter(provider=dept, name=name, state=EntryState.APPROVED).first()
    if approved is not None:
        return approved

    def user_with(role, department=None):
        qs = User.objects.filter(roles__role=role, is_active=True)
        if department is not None:
            qs = qs.filter(department=department)
        return qs.order_by("id").first()

    staff, head, reviewer = user_with(Role.DEPT_STAFF, dept), user_with(Role.DEPT_HEAD, dept), user_with(
        Role.BUREAU_REVIEWER)
    if not (staff and head and reviewer):
        stdout.write(f"  aggregation: “{name}”缺少演示账号，跳过")
        return None
    if entry is None:
        entry = catalog_services.catalog_entry_save(
            actor=staff, department=dept,
            values={
                "classification": Classification.objects.get(code=cls_code), "name": name,
                "summary": f"{dept.name}{name}（演示数据）", "format_class": "db", "format_type": "PostgreSQL",
                "share_type": "2", "share_condition": "用于政务服务身份核验、业务协同，须经提供部门同意",
                "exchange_methods": ["api", "query"], "open_type": "closed", "update_cycle": "daily",
            },
            items=items,
        )
    if entry.state in (EntryState.DRAFT, EntryState.RETURNED):
        entry = catalog_services.catalog_entry_submit(actor=staff, entry_id=entry.pk)
    if entry.state == EntryState.SIGNOFF:
        entry = catalog_services.catalog_entry_sign_off(actor=head, entry_id=entry.pk)
    if entry.state == EntryState.BUREAU_REVIEW:
        entry = catalog_services.catalog_entry_approve(actor=reviewer, entry_id=entry.pk, comment="演示数据")
    return entry if entry.state == EntryState.APPROVED else None


def _load(entry, header, rows, stdout) -> None:
    """Load generated rows through the real pipeline as an ingestion job of the provider's data staff."""
    from portal.choices import Role
    from portal.models import User

    from .models import IngestJob
    from .services.ingest import ingest_job_run
    from .services.pools import dataset_ensure

    dataset = dataset_ensure(entry=entry)
    staff = User.objects.filter(roles__role=Role.DEPT_STAFF, department_id=dataset.department_id).first()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv(Path(tmp) / f"{entry.name}.csv", header, rows)
        with transaction.atomic():
            job = IngestJob(
                dataset=dataset, original_name=f"演示数据-{entry.name}.csv", size=path.stat().st_size,
                format=JobFormat.CSV, encoding="utf-8", header=header, mapping={h: h for h in header},
                mode=JobMode.ALL_OR_NOTHING, created_by=staff,
            )
            with open(path, "rb") as fh:
                job.file.save(f"demo-{dataset.pk}.csv", File(fh), save=False)
            job.save()
        job = ingest_job_run(job_id=job.pk)
    stdout.write(
        f"  aggregation: {entry.name} {job.get_status_display()}：新增 {job.inserted_rows}，更新 {job.updated_rows}，"
        f"未变化 {job.unchanged_rows}"
    )


def _load_relief(stdout) -> None:
    """民政's 低保 list: RELIEF_ROWS people of the population (module constants), loaded like the others."""
    from catalog.models import CatalogEntry

    from .models import Dataset

    population = CatalogEntry.objects.filter(provider__short_name=RESOURCES[0][0], name=RESOURCES[0][1],
                                             state="approved").first()
    relief = CatalogEntry.objects.filter(provider__short_name=RELIEF[0], name=RELIEF[1], state="approved").first()
    if population is None or relief is None:
        return
    dataset = Dataset.objects.filter(entry=relief).first()
    if dataset is not None and dataset.row_count >= RELIEF_ROWS:
        stdout.write(f"  aggregation: {relief.name} 已有 {dataset.row_count} 行，跳过")
        return
    people_items = [{"name": i.name, "data_type": i.data_type, "is_subject_key": i.is_subject_key}
                    for i in population.items.order_by("position")]
    items = [{"name": i.name, "data_type": i.data_type} for i in relief.items.order_by("position")]
    names = [i["name"] for i in people_items]
    rng = random.Random(SEED + 7)  # noqa: S311 — demo data, reproducible on purpose
    rows = []
    people = generated_rows(people_items, RELIEF_ROWS, seed=SEED + len(RESOURCES[0][1]))  # the same people
    for n, values in enumerate(people):
        person = dict(zip(names, values, strict=True))
        if n in RELIEF_DISAGREEMENTS:
            item, change = RELIEF_DISAGREEMENTS[n]
            person[item] = change(person[item])
        extra = {"保障类别": rng.choice(("A类", "B类", "C类")), "家庭人口数": str(rng.randrange(1, 6)),
                 "月保障金额": f"{rng.randrange(300, 700)}.00", "发放状态": rng.choice(("正常", "正常", "暂停"))}
        rows.append([person.get(i["name"]) or extra.get(i["name"]) or _fallback(i, rng) for i in items])
    _load(relief, [i["name"] for i in items], rows, stdout)


def seed(stdout) -> None:
    """Publish the two demo resources if needed and load their rows (skipped when already loaded)."""
    from .models import Dataset
    from .services.pools import datasets_sync
    from .services.quality import quality_compute_all

    for provider, name, cls_code, items, n in RESOURCES:
        entry = _entry(provider, name, cls_code, items, stdout)
        if entry is None:
            continue
        dataset = Dataset.objects.filter(entry=entry).first()
        if dataset is not None and dataset.row_count >= n:
            stdout.write(f"  aggregation: {name} 已有 {dataset.row_count} 行，跳过")
            continue
        entry_items = [
            {"name": i.name, "data_type": i.data_type, "is_subject_key": i.is_subject_key}
            for i in entry.items.order_by("position")
        ]
        header = [i["name"] for i in entry_items]
        _load(entry, header, generated_rows(entry_items, n, seed=SEED + len(name)), stdout)
    _load_relief(stdout)
    created = datasets_sync()
    if created:
        stdout.write(f"  aggregation: 为 {created} 个已发布目录建立了资源池数据集")
    # The nightly quality job once now, so a fresh install shows a quality report instead of an empty page (R15).
    measured = quality_compute_all()
    stdout.write(f"  aggregation: 计算了 {measured} 个数据集的数据质量")
    samples = Path(settings.BASE_DIR) / "samples"
    if not (samples / "人口_GBK_示例.csv").exists():
        write_samples(samples)


# --------------------------------------------------------------------------------------------------
# samples/ for trying the importer


def write_samples(folder: Path) -> list[Path]:
    """A GBK CSV of people (CRLF, a quoted newline, some bad rows) and a dirty XLSX of enterprises."""
    import openpyxl

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)  # noqa: S311 — demo data
    people = list(person_rows(200, seed=77))
    people[5][0] = people[5][0][:17] + ("0" if people[5][0][17] != "0" else "1")  # wrong check digit
    people[9][0] = "41080219991332" + people[9][0][14:]  # month 13
    people[12][0] = ""  # missing key
    people[20][6] = "河南省焦作市解放区民主路\n12号院3单元"  # quoted newline inside a field
    people[30][4] = "1985年7月3日"  # a Chinese date
    people[33][4] = "1985/13/03"  # no such date
    people[31][0] = people[31][0].translate(str.maketrans("0123456789", "０１２３４５６７８９"))  # full-width
    people[40] = list(people[41])  # duplicate key (the later row wins)
    gbk = write_csv(folder / "人口_GBK_示例.csv", [i["name"] for i in POPULATION_ITEMS], people,
                    encoding="gbk", crlf=True)

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业"
    ws.append(["信用代码", "企业名称", "企业类型", "法定代表人", "注册资本（元）", "成立日期", "住所", "登记状态",
               "备注"])
    for i, row in enumerate(enterprise_rows(120, seed=99)):
        code, name, kind, legal, capital, founded, _since, _until, _authority, address, _scope, state = row
        founded_date = dt.date.fromisoformat(founded)
        if i % 10 == 1:
            code = code[:17] + ("0" if code[17] != "0" else "1")  # wrong check character
        if i % 10 == 2:
            code = " " + code.lower() + " "  # spaces and lower case: cleaned
        if i % 10 == 3:
            code = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))  # full-width digits
        founded_cell = {0: founded_date, 3: f"{founded_date:%Y/%m/%d}", 4: f"{founded_date:%Y年%m月%d日}",
                        5: f"{founded_date:%Y%m%d}"}.get(i % 6, founded)
        ws.append([code, name + ("  " if i % 7 == 0 else ""), kind, legal, float(capital), founded_cell, address,
                   state, rng.choice(["", "年报已公示", ""])])
    ws.append(["", "（合计）", "", "", "=SUM(E2:E121)", "", "", "", "公式行"])
    xlsx = folder / "企业登记_脏数据示例.xlsx"
    wb.save(xlsx)
    return [gbk, xlsx]
