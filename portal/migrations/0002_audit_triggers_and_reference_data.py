"""Append-only audit tables, the sealer's queue trigger, and reference data (regions, working-day calendar)."""

from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION portal_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER portal_auditevent_append_only BEFORE UPDATE OR DELETE ON portal_auditevent
    FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only();
CREATE TRIGGER portal_auditchainlink_append_only BEFORE UPDATE OR DELETE ON portal_auditchainlink
    FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only();
CREATE TRIGGER portal_auditseal_append_only BEFORE UPDATE OR DELETE ON portal_auditseal
    FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only();

-- Every committed event reaches the sealer's queue, however it was inserted (ORM, bulk SQL, COPY).
CREATE OR REPLACE FUNCTION portal_audit_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO portal_auditpending (event_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER portal_auditevent_enqueue AFTER INSERT ON portal_auditevent
    FOR EACH ROW EXECUTE FUNCTION portal_audit_enqueue();
"""

DROP = """
DROP TRIGGER IF EXISTS portal_auditevent_enqueue ON portal_auditevent;
DROP TRIGGER IF EXISTS portal_auditseal_append_only ON portal_auditseal;
DROP TRIGGER IF EXISTS portal_auditchainlink_append_only ON portal_auditchainlink;
DROP TRIGGER IF EXISTS portal_auditevent_append_only ON portal_auditevent;
DROP FUNCTION IF EXISTS portal_audit_enqueue();
DROP FUNCTION IF EXISTS portal_audit_append_only();
"""

# 焦作市 and its county-level regions (GB/T 2260). 城乡一体化示范区 is a functional zone without a
# GB/T 2260 code; 410871 is the code the city's own systems use for it.
REGIONS = [
    ("410800", "焦作市", "city"),
    ("410802", "解放区", "district"),
    ("410803", "中站区", "district"),
    ("410804", "马村区", "district"),
    ("410811", "山阳区", "district"),
    ("410821", "修武县", "county"),
    ("410822", "博爱县", "county"),
    ("410823", "武陟县", "county"),
    ("410825", "温县", "county"),
    ("410882", "沁阳市", "county_city"),
    ("410883", "孟州市", "county_city"),
    ("410871", "城乡一体化示范区", "zone"),
]


def add_regions(apps, schema_editor):
    Region = apps.get_model("portal", "Region")
    city, _ = Region.objects.get_or_create(code="410800", defaults={"name": "焦作市", "kind": "city"})
    for code, name, kind in REGIONS[1:]:
        Region.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "parent": city})


def seed_calendar(apps, schema_editor):
    from portal.services.calendar import calendar_seed_from_library

    calendar_seed_from_library(
        day_model=apps.get_model("portal", "CalendarDay"), year_model=apps.get_model("portal", "CalendarYear")
    )


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]

    operations = [
        migrations.RunSQL(APPEND_ONLY, DROP),
        migrations.RunPython(add_regions, migrations.RunPython.noop),
        migrations.RunPython(seed_calendar, migrations.RunPython.noop),
    ]
