"""AuditVerification (the runs of the trail's verification) and TRUNCATE refused on the three append-only tables."""

import django.utils.timezone
from django.db import migrations, models

# TRUNCATE fires no row trigger: without these a superuser-less role granted TRUNCATE (or a slip of the owner)
# would empty the trail in one statement and leave nothing for the verifier to find.
NO_TRUNCATE = """
CREATE TRIGGER portal_auditevent_no_truncate BEFORE TRUNCATE ON portal_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_append_only();
CREATE TRIGGER portal_auditchainlink_no_truncate BEFORE TRUNCATE ON portal_auditchainlink
    FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_append_only();
CREATE TRIGGER portal_auditseal_no_truncate BEFORE TRUNCATE ON portal_auditseal
    FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_append_only();
"""

DROP_NO_TRUNCATE = """
DROP TRIGGER IF EXISTS portal_auditseal_no_truncate ON portal_auditseal;
DROP TRIGGER IF EXISTS portal_auditchainlink_no_truncate ON portal_auditchainlink;
DROP TRIGGER IF EXISTS portal_auditevent_no_truncate ON portal_auditevent;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0006_audit_search_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditVerification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='开始时间')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='完成时间')),
                ('full', models.BooleanField(default=False, verbose_name='全量校验')),
                ('via', models.CharField(choices=[('beat', '定时任务'), ('command', '命令行'), ('page', '审计管理员')], max_length=10, verbose_name='发起方式')),
                ('first_seq', models.BigIntegerField(blank=True, null=True, verbose_name='起始位置')),
                ('last_seq', models.BigIntegerField(blank=True, null=True, verbose_name='截止位置')),
                ('head_hash', models.CharField(blank=True, max_length=64)),
                ('checked', models.PositiveBigIntegerField(default=0, verbose_name='校验条数')),
                ('ok', models.BooleanField(default=False, verbose_name='完好')),
                ('break_seq', models.BigIntegerField(blank=True, null=True, verbose_name='首个异常位置')),
                ('break_kind', models.CharField(blank=True, max_length=20, verbose_name='异常类型')),
                ('break_detail', models.CharField(blank=True, max_length=300, verbose_name='异常说明')),
            ],
            options={
                'verbose_name': '审计日志校验',
                'verbose_name_plural': '审计日志校验',
                'ordering': ['-started_at', '-pk'],
                'default_permissions': ('view',),
            },
        ),
        migrations.RunSQL(NO_TRUNCATE, DROP_NO_TRUNCATE),
    ]
