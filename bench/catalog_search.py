"""Benchmark: Chinese search over the master catalog (SPEC R8.3) — latency and recall on 20 000 entries.

    .venv/bin/python bench/catalog_search.py [--entries 20000] [--searches 400] [--keep]

Creates its own database (`jiaozuo_bench` on the server of DATABASE_URL, default the local dev server),
runs the migrations there, bulk-loads plausible catalog entries with data items (bulk_create + COPY),
builds the search vectors through `catalog.search.reindex` exactly as the services do, then times what
the master catalog page runs for a search, `selectors.master_catalog(user, {"q": q})[:20]` (that is
`search_entries` over the published entries), for queries drawn from 20 known ones, and measures recall
against the entries that contain each query in their name, summary or data-item names. The database is
dropped at the end unless --keep is given. The dev database is never touched.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/jiaozuo_portal"
BENCH_DB = "jiaozuo_bench"

# The 20 known queries (what a clerk types into the master catalog's search box).
QUERIES = [
    "营业执照", "户籍", "婚姻登记", "不动产", "社保", "医保", "公积金", "学籍", "车辆", "驾驶证",
    "低保", "出生医学证明", "排污许可", "食品经营许可", "高新技术企业", "施工许可", "养老保险",
    "失信被执行人", "残疾人", "退役军人",
]

# Building blocks of plausible entries: (topic, summary phrase, items typical of it). The known queries
# appear in some topics' names, in some summaries only, and in some item names only, so recall is
# measured across all three indexed fields.
TOPICS = [
    ("企业营业执照", "企业营业执照核发、变更、注销", ["统一社会信用代码", "企业名称", "营业执照编号", "发照日期"]),
    ("个体工商户登记", "个体工商户注册登记，含营业执照信息", ["统一社会信用代码", "字号名称", "经营者姓名"]),
    ("市场主体年报", "市场主体年度报告公示", ["统一社会信用代码", "年报年度", "从业人数", "营业执照状态"]),
    ("户籍人口", "常住户籍人口登记", ["公民身份号码", "姓名", "性别", "出生日期", "户籍地址"]),
    ("户口迁移", "户口迁入迁出登记", ["公民身份号码", "姓名", "迁出地址", "迁入地址"]),
    ("流动人口居住登记", "流动人口居住证办理", ["公民身份号码", "姓名", "现居住地址", "户籍所在地"]),
    ("婚姻登记", "结婚离婚登记及补证", ["登记证字号", "男方姓名", "女方姓名", "登记日期"]),
    ("收养登记", "收养关系登记，参照婚姻登记档案管理", ["收养登记证号", "收养人姓名", "被收养人姓名"]),
    ("不动产登记", "不动产权利登记", ["不动产单元号", "权利人", "坐落", "面积"]),
    ("不动产抵押", "不动产抵押权登记", ["不动产登记证明号", "抵押人", "抵押权人", "债权数额"]),
    ("房屋交易备案", "商品房网签备案", ["合同备案号", "房屋坐落", "买受人姓名", "不动产单元号"]),
    ("社保参保", "企业职工社保参保登记", ["公民身份号码", "姓名", "险种类型", "参保状态"]),
    ("养老保险待遇", "基本养老保险待遇发放", ["公民身份号码", "姓名", "月养老金金额", "社保卡号"]),
    ("城乡居民养老保险", "城乡居民养老保险参保缴费", ["公民身份号码", "缴费档次", "缴费年度"]),
    ("医保参保", "基本医疗保险参保登记", ["公民身份号码", "姓名", "参保类型", "医保卡号"]),
    ("医疗费用结算", "定点医药机构医保结算", ["结算编号", "医疗费用总额", "统筹基金支付金额"]),
    ("住房公积金缴存", "住房公积金个人账户缴存", ["个人账号", "缴存基数", "月缴存额"]),
    ("公积金贷款", "住房公积金贷款发放与还款", ["借款合同编号", "贷款金额", "贷款余额"]),
    ("中小学学籍", "在校学生学籍管理", ["全国学籍号", "姓名", "学校名称", "年级"]),
    ("学生资助", "困难学生资助发放", ["学籍号", "资助项目", "资助金额"]),
    ("机动车登记", "机动车注册转移登记", ["号牌号码", "车辆识别代号", "车辆类型", "所有人姓名"]),
    ("营运车辆", "道路运输营运车辆管理", ["道路运输证号", "车牌号码", "核定载质量"]),
    ("机动车驾驶证", "驾驶证核发与记分", ["驾驶证档案编号", "准驾车型", "累积记分"]),
    ("交通违法", "道路交通违法处理", ["决定书编号", "号牌号码", "违法行为", "驾驶证号"]),
    ("城乡低保", "城乡最低生活保障", ["公民身份号码", "保障类别", "月保障金额"]),
    ("特困供养", "特困人员供养，与低保对象衔接", ["公民身份号码", "供养方式", "月供养金额"]),
    ("出生医学证明", "出生医学证明签发", ["出生医学证明编号", "新生儿姓名", "出生日期"]),
    ("预防接种", "儿童预防接种记录", ["受种者编码", "疫苗名称", "接种日期"]),
    ("排污许可", "排污单位排污许可证核发", ["许可证编号", "单位名称", "主要污染物类别"]),
    ("环境监测", "空气质量自动监测", ["监测站点编码", "监测时间", "空气质量指数"]),
    ("食品经营许可", "食品经营许可证核发", ["许可证编号", "经营者名称", "经营项目"]),
    ("食品生产许可", "食品生产许可证管理", ["许可证编号", "生产者名称", "食品类别"]),
    ("高新技术企业", "高新技术企业认定", ["证书编号", "企业名称", "技术领域"]),
    ("科技型中小企业", "科技型中小企业评价入库", ["入库登记编号", "企业名称", "研发人员数"]),
    ("建筑工程施工许可", "建筑工程施工许可证核发", ["施工许可证编号", "项目名称", "建设单位"]),
    ("建设工程规划许可", "建设工程规划许可证核发", ["许可证编号", "建设单位", "建设规模"]),
    ("失信被执行人", "人民法院失信被执行人名单", ["案号", "被执行人名称", "执行法院"]),
    ("限制高消费", "限制消费令", ["案号", "被限制人名称", "失信被执行人标识"]),
    ("残疾人两项补贴", "困难残疾人生活补贴发放", ["公民身份号码", "残疾类别", "残疾等级"]),
    ("残疾人就业", "残疾人就业登记与保障金", ["公民身份号码", "就业单位", "残疾人证号"]),
    ("退役军人", "退役军人基础信息采集", ["公民身份号码", "入伍日期", "退役日期"]),
    ("优抚对象", "重点优抚对象抚恤补助", ["公民身份号码", "优抚类别", "退役军人证号"]),
    ("政务服务办件", "政务服务事项办件", ["办件编号", "事项名称", "受理时间", "办结时间"]),
    ("12345热线工单", "便民热线工单处理", ["工单编号", "诉求类型", "承办单位"]),
    ("行政处罚", "行政处罚决定公示", ["处罚决定书文号", "当事人名称", "罚款金额"]),
    ("安全生产许可", "安全生产许可证核发", ["许可证编号", "企业名称", "许可范围"]),
    ("取水许可", "取水许可证核发", ["取水许可证编号", "取水权人名称", "年取水量"]),
    ("旅行社", "旅行社经营许可", ["许可证编号", "旅行社名称", "经营范围"]),
    ("律师执业", "律师执业证管理", ["执业证号", "姓名", "执业机构"]),
    ("政府采购合同", "政府采购合同公告", ["合同编号", "采购人", "供应商名称", "合同金额"]),
]
PLACES = ["", "", "", "市", "解放区", "中站区", "马村区", "山阳区", "修武县", "博爱县", "武陟县", "温县", "沁阳市",
          "孟州市", "示范区"]
SUFFIXES = ["信息", "登记信息", "明细信息", "统计信息", "台账", "档案信息", "变更信息", "年度汇总", "名录", "数据"]
YEARS = ["", "", "", "2019年", "2020年", "2021年", "2022年", "2023年", "2024年", "2025年"]
FILLER_ITEMS = [
    "数据来源", "更新时间", "备注", "经办人", "经办机构", "所属区县", "联系电话", "地址", "状态", "审核意见",
]
DEPARTMENTS = [
    "公安局", "市场监督管理局", "民政局", "自然资源和规划局", "人力资源和社会保障局", "医疗保障局",
    "住房公积金管理中心", "教育局", "交通运输局", "卫生健康委员会", "生态环境局", "科学技术局",
    "住房和城乡建设局", "中级人民法院", "退役军人事务局", "残疾人联合会", "政务服务和大数据管理局",
    "应急管理局", "水利局", "文化广电和旅游局", "司法局", "财政局", "税务局", "农业农村局",
]


def bench_url(base: str, db: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/" + db))


def admin_conninfo(base: str) -> str:
    return bench_url(base, "postgres").replace("postgres://", "postgresql://", 1)


def recreate_database(base: str, db: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(admin_conninfo(base), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{db}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ["DEBUG"] = "false"  # no query log growing during the timed loop
    import django

    django.setup()


def contains(text: str, query: str) -> bool:
    from catalog.search import normalize

    return normalize(query) in normalize(text)


def generate(n: int, rng: random.Random):
    """n entries as (values dict, [item names]); deterministic for a seed."""
    from catalog.choices import ExchangeMethod, FormatClass, ShareType, UpdateCycle

    cycles = [c.value for c in UpdateCycle]
    formats = [FormatClass.DB.value, FormatClass.SHEET.value, FormatClass.API.value]
    methods = [m.value for m in ExchangeMethod]
    seen: set[str] = set()
    for i in range(n):
        topic, phrase, items = rng.choice(TOPICS)
        name = f"{rng.choice(PLACES)}{rng.choice(YEARS)}{topic}{rng.choice(SUFFIXES)}"
        if name in seen:
            name = f"{name}（{i}）"
        seen.add(name)
        other = rng.choice(TOPICS)
        summary = f"{phrase}数据，{rng.choice(['按月汇总', '实时归集', '每日更新', '由业务系统推送'])}；"
        if rng.random() < 0.3:
            summary += f"可与{other[0]}关联比对。"
        item_names = list(dict.fromkeys(items + rng.sample(FILLER_ITEMS, rng.randint(2, 8))))
        if rng.random() < 0.15:
            item_names.append(rng.choice(other[2]))
            item_names = list(dict.fromkeys(item_names))
        share = rng.choices([ShareType.UNCONDITIONAL, ShareType.CONDITIONAL, ShareType.NONE], [5, 4, 1])[0]
        yield {
            "name": name,
            "summary": summary,
            "format_class": rng.choice(formats),
            "format_type": "PostgreSQL",
            "share_type": share.value,
            "share_condition": "限于履职需要，经市大数据局审核" if share == ShareType.CONDITIONAL else "",
            "no_share_basis": "《中华人民共和国个人信息保护法》第十三条" if share == ShareType.NONE else "",
            "exchange_methods": rng.sample(methods, rng.randint(1, 3)),
            "update_cycle": rng.choice(cycles),
        }, item_names


def load(n: int, seed: int) -> tuple[list[int], dict[int, tuple[str, str, list[str]]]]:
    """Departments, then n entries (90 % approved, the rest drafts) with items; returns ids and texts."""
    from django.db import connection, transaction
    from django.utils import timezone

    from catalog.models import CatalogEntry, Classification
    from portal.demo import demo_credit_code
    from portal.models import Department, Region

    rng = random.Random(seed)
    city = Region.objects.get(code="410800")
    depts = [
        Department.objects.get_or_create(
            name=f"焦作市{name}", defaults={"short_name": name[:10], "region": city, "kind": "government",
                                         "credit_code": demo_credit_code("410800", 500 + k)},
        )[0]
        for k, name in enumerate(DEPARTMENTS)
    ]
    leaves = list(Classification.objects.filter(level=2))
    now = timezone.now()
    texts: dict[int, tuple[str, str, list[str]]] = {}
    ids: list[int] = []
    batch: list[tuple[CatalogEntry, list[str]]] = []

    def flush():
        created = CatalogEntry.objects.bulk_create([e for e, _i in batch], batch_size=2000)
        buf = io.StringIO()
        for entry, items in zip(created, (i for _e, i in batch), strict=True):
            ids.append(entry.pk)
            texts[entry.pk] = (entry.name, entry.summary, items)
            for pos, item in enumerate(items, start=1):
                subject = "t" if pos == 1 else "f"
                buf.write(f"{entry.pk}\t{pos}\t{item}\tC\t100\t{subject}\tf\t\t\t\n")
        buf.seek(0)
        with connection.cursor() as cur, cur.cursor.copy(
            "COPY catalog_dataitem (entry_id, position, name, data_type, length, is_subject_key, is_base_item,"
            " description, sensitivity, derived_from) FROM STDIN"  # Django's defaults are not the table's: all named
        ) as copy:
            copy.write(buf.read())
        batch.clear()

    with transaction.atomic():
        for k, (values, items) in enumerate(generate(n, rng)):
            dept = depts[k % len(depts)]
            cls = leaves[k % len(leaves)]
            approved = rng.random() < 0.9
            entry = CatalogEntry(
                classification=cls, provider=dept, provider_code=dept.credit_code,
                state="approved" if approved else "draft", version=1 if approved else 0,
                code=f"{cls.code}{k % 1000:03d}/{k:06d}" if approved else None,
                publish_date=now.date() if approved else None, approved_at=now if approved else None,
                **values,
            )
            batch.append((entry, items))
            if len(batch) == 2000:
                flush()
        if batch:
            flush()
    return ids, texts


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def clerk():
    """A department data clerk: the master catalog page searches within what this user may see."""
    from portal.choices import Role
    from portal.models import Department, User, UserRole

    user = User.objects.create(username="bench_clerk", full_name="基准测试", department=Department.objects.first())
    UserRole.objects.create(user=user, role=Role.DEPT_STAFF)
    return User.objects.get(pk=user.pk)


def master_search(user, query: str):
    """Exactly what the master catalog page runs for a search: selectors.master_catalog -> search_entries."""
    from catalog.selectors import entries as selectors

    return selectors.master_catalog(user=user, filters={"q": query})


def run(args) -> None:
    base = os.environ.get("DATABASE_URL", DEFAULT_URL)
    url = bench_url(base, args.db)
    print(f"database: {urlsplit(url).hostname}:{urlsplit(url).port or 5432}/{args.db} (created for this run)")
    recreate_database(base, args.db)
    try:
        setup_django(url)
        from django.core.management import call_command
        from django.db import connection

        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"migrate: {time.perf_counter() - t0:.1f} s")

        from catalog import search
        from catalog.models import CatalogEntry, DataItem

        t0 = time.perf_counter()
        ids, texts = load(args.entries, args.seed)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        search.reindex(ids)
        t_index = time.perf_counter() - t0
        with connection.cursor() as cur:
            cur.execute("ANALYZE catalog_catalogentry; ANALYZE catalog_dataitem")
        published = set(CatalogEntry.objects.filter(state="approved").values_list("pk", flat=True))
        print(f"load: {len(ids)} entries ({len(published)} published), {DataItem.objects.count()} data items "
              f"in {t_load:.1f} s; search index (reindex) {t_index:.1f} s")

        user = clerk()
        for q in QUERIES:  # warm-up: jieba's dictionary, plan cache, shared buffers
            list(master_search(user, q)[:20])

        rng = random.Random(args.seed + 1)
        plan = [QUERIES[i % len(QUERIES)] for i in range(args.searches)]
        rng.shuffle(plan)
        timings: dict[str, list[float]] = {q: [] for q in QUERIES}
        every: list[float] = []
        for q in plan:
            t = time.perf_counter()
            rows = list(master_search(user, q)[:20])
            ms = (time.perf_counter() - t) * 1000
            every.append(ms)
            timings[q].append(ms)
            assert len(rows) <= 20

        print()
        print(f"{'query':<14}{'expected':>9}{'found':>7}{'recall':>8}{'extra':>7}{'top20 ok':>9}{'p50 ms':>8}"
              f"{'p95 ms':>8}")
        total_expected = total_hit = 0
        for q in QUERIES:
            expected = {
                pk for pk in published
                if contains(texts[pk][0], q) or contains(texts[pk][1], q) or any(contains(i, q) for i in texts[pk][2])
            }
            found = set(master_search(user, q).values_list("pk", flat=True))
            top = [e.pk for e in master_search(user, q)[:20]]
            hit = len(found & expected)
            total_expected += len(expected)
            total_hit += hit
            recall = hit / len(expected) if expected else 1.0
            top_ok = sum(1 for pk in top if pk in expected)
            print(f"{q:<{14 - sum(1 for c in q if ord(c) > 0x2E80)}}{len(expected):>9}{len(found):>7}"
                  f"{recall:>8.1%}{len(found - expected):>7}{f'{top_ok}/{len(top)}':>9}"
                  f"{statistics.median(timings[q]):>8.1f}{percentile(timings[q], 95):>8.1f}")
        print()
        print(f"searches: {len(every)} over {len(QUERIES)} queries: selectors.master_catalog(user, {{'q': q}})[:20]"
              " (= search_entries over the published catalog, as the master page runs it)")
        print(f"latency ms: p50 {percentile(every, 50):.1f}  p95 {percentile(every, 95):.1f}  "
              f"p99 {percentile(every, 99):.1f}  max {max(every):.1f}  (target p95 < 50)")
        print(f"recall: {total_hit}/{total_expected} = {total_hit / max(total_expected, 1):.2%} "
              f"(entries containing the query in name, summary or item names)")
        verdict = "PASS" if percentile(every, 95) < 50 and total_hit == total_expected else "CHECK"
        print(f"result: {verdict}")
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"kept database {args.db}")
        else:
            recreate_database(base, args.db, drop_only=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--searches", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--db", default=BENCH_DB, help="database to create and drop (never the dev one)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    if args.db == urlsplit(os.environ.get("DATABASE_URL", DEFAULT_URL)).path.lstrip("/"):
        parser.error("--db must not be the database of DATABASE_URL")
    run(args)


if __name__ == "__main__":
    main()
