"""Database-side rules and reference data of the catalog, used by 0001_initial (a helper, not a migration).

The service layer checks every rule first with a readable message; these triggers are the backstop
for writes that bypass it (admin shell, bulk SQL): a published resource code never changes, a published
entry is never deleted, and an approved version is never rewritten.
"""

GUARDS = """
CREATE OR REPLACE FUNCTION catalog_entry_code_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.version >= 1 THEN
            RAISE EXCEPTION 'published catalog entry % cannot be deleted', OLD.code
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    -- Before first approval a classification change re-assigns the code (the old one is burned, never
    -- reused: catalog_codesequence only counts up); from the first approval on, the code is fixed.
    IF OLD.code IS NOT NULL AND NEW.code IS DISTINCT FROM OLD.code AND (OLD.version >= 1 OR NEW.code IS NULL) THEN
        RAISE EXCEPTION 'catalog resource code % is immutable', OLD.code
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER catalog_entry_code_guard BEFORE UPDATE OF code OR DELETE ON catalog_catalogentry
    FOR EACH ROW EXECUTE FUNCTION catalog_entry_code_guard();

CREATE OR REPLACE FUNCTION catalog_version_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'approved catalog versions are append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER catalog_version_append_only BEFORE UPDATE OR DELETE ON catalog_catalogentryversion
    FOR EACH ROW EXECUTE FUNCTION catalog_version_append_only();
"""

DROP_GUARDS = """
DROP TRIGGER IF EXISTS catalog_version_append_only ON catalog_catalogentryversion;
DROP FUNCTION IF EXISTS catalog_version_append_only();
DROP TRIGGER IF EXISTS catalog_entry_code_guard ON catalog_catalogentry;
DROP FUNCTION IF EXISTS catalog_entry_code_guard();
"""

# 类 and 项 of the 2017 guide (§6.1, cn-standards §1.1). 项 numbering is the bureau's to maintain; these
# are the starting values. 部门信息资源's 项 follow portal.choices.DepartmentKind in order.
CLASSIFICATIONS = [
    ("1", "基础信息资源", None),
    ("101", "人口基础信息资源", "1"),
    ("102", "法人单位基础信息资源", "1"),
    ("103", "自然资源和空间地理基础信息资源", "1"),
    ("104", "社会信用基础信息资源", "1"),
    ("105", "电子证照基础信息资源", "1"),
    ("2", "主题信息资源", None),
    ("201", "公共服务", "2"),
    ("202", "健康保障", "2"),
    ("203", "社会保障", "2"),
    ("204", "食品药品安全", "2"),
    ("205", "安全生产", "2"),
    ("206", "价格监管", "2"),
    ("207", "能源安全", "2"),
    ("208", "信用体系", "2"),
    ("209", "城乡建设", "2"),
    ("210", "社区治理", "2"),
    ("211", "生态环保", "2"),
    ("212", "应急维稳", "2"),
    ("3", "部门信息资源", None),
    ("301", "党委", "3"),
    ("302", "人大", "3"),
    ("303", "政府", "3"),
    ("304", "政协", "3"),
    ("305", "法院", "3"),
    ("306", "检察院", "3"),
    ("307", "群团组织", "3"),
    ("308", "事业单位", "3"),
]


def seed_classifications(apps, schema_editor):
    Classification = apps.get_model("catalog", "Classification")
    nodes = {}
    for code, name, parent in CLASSIFICATIONS:
        nodes[code], _ = Classification.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "level": 1 if parent is None else 2,
                "parent": nodes.get(parent),
                "resource_class": code[0],
            },
        )
