"""factory_boy factories for the kernel; chapter factories live beside their tests and reuse these."""

import factory
import pytest
from factory.django import DjangoModelFactory

from portal.choices import Role
from portal.demo import demo_credit_code
from portal.models import Department, Region, User, UserRole

PASSWORD = "Test@Passw0rd!"


class RegionFactory(DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "410800"
    name = "焦作市"
    kind = "city"


def city() -> Region:
    return Region.objects.get(code="410800")


def region(code: str) -> Region:
    return Region.objects.get(code=code)


class DepartmentFactory(DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"测试部门{n}")
    short_name = factory.Sequence(lambda n: f"测试{n}")
    region = factory.LazyFunction(city)
    kind = "government"
    credit_code = factory.Sequence(lambda n: demo_credit_code("410800", 9000 + n))


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Faker("name", locale="zh_CN")
    department = factory.SubFactory(DepartmentFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        self.save()
        for role in extracted or ():
            UserRole.objects.create(user=self, role=role)
        self.__dict__.pop("role_set", None)


def make_user(*roles: str, department: Department | None = None, **kwargs) -> User:
    """A user holding `roles` in `department` (a new department when not given)."""
    if department is not None:
        kwargs["department"] = department
    return UserFactory(roles=roles, **kwargs)


def user_fixture(role: str, department: str, username: str, *, heads: bool = False):
    """A fixture (assign it to the fixture's name in a conftest): a user `username` holding `role` in the department
    the fixture named `department` gives, its head too with `heads=True`.

        staff = user_fixture(Role.DEPT_STAFF, "dept", "staff")
    """

    @pytest.fixture
    def _user(request, db):
        dept = request.getfixturevalue(department)
        user = make_user(role, department=dept, username=username)
        if heads:
            dept.head = user
            dept.save(update_fields=["head"])
        if role in (Role.DEPT_STAFF, Role.DEPT_HEAD):
            grant_resource_defaults(department_id=dept.pk)  # whichever fixture came first, entry or person
        return user

    return _user


def grant_resource_defaults(*, department_id=None, entry_ids=None) -> None:
    """The per-resource permissions as a department holds them after the upgrade (catalog 0002): every data staff
    member and head on every resource of the department. The builders that create entries outside the filing
    workflow call it (catalog_entry_save grants the filer itself), and so does `user_fixture` for staff, so the
    ready-made `staff` loads, answers and comments whichever fixture was created first. A test about missing
    permissions makes its person with `make_user`, after the entries."""
    from catalog.resource_perms import grant_staff_defaults

    grant_staff_defaults(department_id=department_id, entry_ids=entry_ids)


def bureau_department() -> Department:
    return DepartmentFactory(name="焦作市政务服务和大数据管理局(测试)", short_name="市大数据局", is_bureau=True)


def county_bureau_department(region_code: str = "410821") -> Department:
    return DepartmentFactory(region=region(region_code), is_bureau=True)


__all__ = ["PASSWORD", "DepartmentFactory", "Role", "UserFactory", "bureau_department", "grant_resource_defaults",
           "make_user", "region", "user_fixture"]
