"""The attack tests' world (tests/hostile/world.py): one row of every kind, hostile text in what people type."""

import pytest

from tests.hostile import world as world_module


@pytest.fixture
def world(settings, tmp_path, bureau, dept, other_dept, staff, head, other_staff, reviewer, security_admin,
          system_admin, audit_admin):
    settings.MEDIA_ROOT = tmp_path  # uploads (an ingest file, evidence, attachments) go to this test's folder
    built = world_module.build(dept=dept, other_dept=other_dept, bureau=bureau, staff=staff, head=head,
                               other_staff=other_staff, reviewer=reviewer, security_admin=security_admin)
    built.people.update(system_admin=system_admin, audit_admin=audit_admin)
    return built
