"""The quality report on a fresh install (issue 17 item 6): `seed_demo` runs the nightly quality job once, and its
demo data holds a person whose 姓名 differs between 市公安局's population and 市民政局's 低保 list, so the report's
一致性 section lists disagreeing pairs — masked for the bureau, the clerk's own side in full for 民政's clerk."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from portal.models import User
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_fresh_seed_demo_shows_consistency_pairs(live_server, signed_in, screenshot, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    for username in ("reviewer", "mz_staff"):  # the demo accounts, signed in with the tests' password
        user = User.objects.get(username=username)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])

    bureau = signed_in("reviewer")
    bureau.goto(live_server.url + reverse("aggregation:quality-report"))
    section = bureau.get_by_test_id("consistency")
    assert bureau.get_by_role("heading", name="一致性").is_visible()
    comparison = section.get_by_test_id("consistency-comparison")
    assert comparison.count() == 1
    assert "户籍人口信息" in comparison.inner_text() and "城乡低保对象信息" in comparison.inner_text()
    pairs = section.get_by_test_id("consistency-pair")
    assert pairs.count() >= 1
    names = pairs.filter(has_text="姓名").first.inner_text()
    assert "市公安局" in names and "市民政局" in names and "*" in names  # the bureau reads masked values
    assert "不一致共" in section.get_by_test_id("consistency-total").inner_text()
    screenshot("quality-consistency", of=bureau)

    clerk = signed_in("mz_staff")
    clerk.goto(live_server.url + reverse("aggregation:quality-report"))
    own = clerk.get_by_test_id("consistency-pair").filter(has_text="姓名").first.locator("td")
    # 民政's clerk: the subject key and 民政's own value in full, 公安's value masked.
    assert "*" not in own.nth(0).inner_text() and len(own.nth(0).inner_text()) == 18
    assert "*" not in own.nth(3).inner_text() and "*" in own.nth(5).inner_text()
