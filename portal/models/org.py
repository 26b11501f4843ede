"""Organisations (city, regions, departments) and people (users and their roles)."""

from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.choices import ADMIN_ROLES, ROLE_SCOPE, DepartmentKind, RegionKind, Role, Scope
from portal.validators import validate_credit_code


class Region(models.Model):
    """The city (焦作市) or one of its county-level regions, keyed by its GB/T 2260 code."""

    code = models.CharField(_("行政区划代码"), max_length=6, unique=True)
    name = models.CharField(_("名称"), max_length=50, unique=True)
    kind = models.CharField(_("类型"), max_length=20, choices=RegionKind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_city(self) -> bool:
        return self.kind == RegionKind.CITY


class Department(models.Model):
    """A 政务部门: belongs to one region, has its own 统一社会信用代码, a head and data staff (R5.2)."""

    name = models.CharField(_("部门名称"), max_length=100, unique=True)
    short_name = models.CharField(_("简称"), max_length=30)
    region = models.ForeignKey(Region, verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="departments")
    kind = models.CharField(
        _("机构类型"), max_length=20, choices=DepartmentKind.choices, default=DepartmentKind.GOVERNMENT
    )
    credit_code = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_credit_code]
    )
    head = models.ForeignKey(
        "User",
        verbose_name=_("主要负责人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_bureau = models.BooleanField(
        _("大数据主管部门"), default=False, help_text=_("市或县(市)区政务服务和大数据管理部门")
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("政务部门")
        verbose_name_plural = _("政务部门")
        ordering = ["region__code", "name"]

    def __str__(self) -> str:
        return self.name


class PortalUserManager(UserManager):
    def get_queryset(self):
        return super().get_queryset().select_related("department__region")


class User(AbstractUser):
    """A person using the portal; belongs to at most one department; roles in UserRole."""

    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("所属部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )

    objects = PortalUserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    @cached_property
    def role_set(self) -> frozenset[str]:
        """The user's roles, loaded once per request (the role table is small and read on every page)."""
        if not self.pk or not self.is_active:
            return frozenset()
        return frozenset(self.roles.values_list("role", flat=True))

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_set.intersection(roles))

    @property
    def widest_scope(self) -> str | None:
        order = [Scope.PLATFORM, Scope.CITY, Scope.REGION, Scope.DEPARTMENT]
        scopes = {ROLE_SCOPE[Role(r)] for r in self.role_set}
        return next((s for s in order if s in scopes), None)

    @property
    def region(self) -> Region | None:
        return self.department.region if self.department_id else None


class UserRole(models.Model):
    """One role held by one user; its scope is the user's department, region or the whole city (ROLE_SCOPE)."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)
    granted_at = models.DateTimeField(_("授予时间"), auto_now_add=True)
    granted_by = models.ForeignKey(
        User, verbose_name=_("授予人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("用户角色")
        verbose_name_plural = _("用户角色")
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="portal_userrole_unique"),
            # 三员分立 in the database as well as in the service: one admin role per account at most.
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(role__in=[r.value for r in ADMIN_ROLES]),
                name="portal_userrole_one_admin_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"
