"""Password policy (等保 8.1.4.1 a): length, character classes, not the username, none of the last five."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from portal.models import PasswordHistory

pytestmark = pytest.mark.django_db


def codes(password, user=None) -> set[str]:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return {e.code for e in exc.error_list}
    return set()


def test_length_classes_and_a_good_password(staff):
    assert "password_too_short" in codes("Ab1@xyz", staff)
    assert codes("abcdefghijk1", staff) == {"password_classes"}
    assert codes("Jiaozuo@2026", staff) == set()  # the README's demo password
    assert codes("kLm9#Vqz2Wp", staff) == set()


@pytest.mark.parametrize("password", ["Staff@20261", "MyStaff#Pass1", "STAFF2026!x"])
def test_the_username_in_any_case_is_refused(staff, password):
    assert "password_contains_username" in codes(password, staff)


def test_the_messages_are_chinese(staff):
    with pytest.raises(ValidationError) as exc:
        validate_password("Staff@20261", staff)
    assert "密码不得与用户名相同或包含用户名" in " ".join(exc.value.messages)


def test_none_of_the_last_five_passwords(staff):
    passwords = [f"Old#Passw0rd{i}" for i in range(6)]
    for password in passwords:
        staff.set_password(password)
        staff.save()
    assert PasswordHistory.objects.filter(user=staff).count() == 5
    for recent in passwords[1:]:
        assert codes(recent, staff) == {"password_reused"}
    assert codes(passwords[0], staff) == set()  # the sixth-last may come back
    with pytest.raises(ValidationError) as exc:
        validate_password(passwords[-1], staff)
    assert "最近 5 次" in exc.value.messages[0]
