"""Django admin for the system admin only; every save goes through the kernel services (and so the audit)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from portal.choices import ADMIN_ROLES, Role
from portal.errors import RoleConflict
from portal.models import Department, Region, User, UserRole
from portal.services import org


class PortalAdminSite(admin.AdminSite):
    site_header = _("焦作市大数据平台门户 · 系统管理")
    site_title = _("系统管理")
    index_title = _("组织与人员")

    def has_permission(self, request):
        return request.user.is_active and is_system_admin(request)


portal_admin_site = PortalAdminSite(name="admin")


def is_system_admin(request) -> bool:
    """The admin site is the system administrator's alone; anybody signed out (the admin's login page) is not one."""
    return request.user.is_authenticated and request.user.has_role(Role.SYSTEM_ADMIN)


class SystemAdminOnly:
    """No deletes: departments and accounts are deactivated, so the audit trail keeps its references."""

    def has_module_permission(self, request):
        return is_system_admin(request)

    has_view_permission = has_add_permission = has_change_permission = (
        lambda self, request, obj=None: is_system_admin(request)
    )

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Region, site=portal_admin_site)
class RegionAdmin(SystemAdminOnly, admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Department, site=portal_admin_site)
class DepartmentAdmin(SystemAdminOnly, admin.ModelAdmin):
    list_display = ["name", "short_name", "region", "kind", "credit_code", "head", "is_bureau", "is_active"]
    list_filter = ["region", "kind", "is_bureau", "is_active"]
    search_fields = ["name", "short_name", "credit_code"]
    fields = ["name", "short_name", "region", "kind", "credit_code", "is_bureau", "is_active", "head"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "head":
            department_id = request.resolver_match.kwargs.get("object_id")
            members = User.objects.filter(department_id=department_id)
            kwargs["queryset"] = members if department_id else User.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data[f] for f in org.DEPARTMENT_FIELDS if f in form.changed_data or not change}
        if change:
            org.department_update(actor=request.user, department=obj, **values)
            if "head" in form.changed_data:
                org.department_set_head(actor=request.user, department=obj, head=form.cleaned_data["head"])
        else:
            created = org.department_create(actor=request.user, **values)
            obj.pk = created.pk


class UserRoleFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [f.cleaned_data.get("role") for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if len([r for r in kept if r in ADMIN_ROLES]) > 1:
            raise forms.ValidationError(str(RoleConflict.default_detail))


class UserRoleInline(SystemAdminOnly, admin.TabularInline):
    model = UserRole
    formset = UserRoleFormSet
    fk_name = "user"
    extra = 1
    fields = ["role", "granted_by", "granted_at"]
    readonly_fields = ["granted_by", "granted_at"]

    def has_delete_permission(self, request, obj=None):
        return is_system_admin(request)


class UserAddForm(forms.ModelForm):
    password = forms.CharField(label=_("初始密码"), widget=forms.PasswordInput)

    class Meta:
        model = User
        fields = ["username", "full_name", "phone", "email", "department", "is_active"]


@admin.register(User, site=portal_admin_site)
class UserAdmin(SystemAdminOnly, admin.ModelAdmin):
    list_display = ["username", "full_name", "department", "is_active", "last_login"]
    list_filter = ["is_active", "roles__role", "department__region"]
    search_fields = ["username", "full_name", "department__name"]
    inlines = [UserRoleInline]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = UserAddForm
        else:
            kwargs["fields"] = ["full_name", "phone", "email", "department", "is_active"]
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            values = {f: form.cleaned_data[f] for f in form.changed_data if f in org.USER_FIELDS}
            org.user_update(actor=request.user, user=obj, **values)
        else:
            data = form.cleaned_data
            created = org.user_create(
                actor=request.user,
                username=data["username"],
                password=data["password"],
                **{f: data[f] for f in ("full_name", "phone", "email", "department", "is_active")},
            )
            obj.pk = created.pk
            obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        # Roles change only through the service (三员分立, audit); the admin's own bookkeeping stays empty.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        user = User.objects.get(pk=form.instance.pk)
        for inline_form in formset.forms:
            if not inline_form.has_changed() and not inline_form.cleaned_data.get("DELETE"):
                continue
            data = inline_form.cleaned_data
            if not data:
                continue
            existing = inline_form.instance.pk
            if data.get("DELETE") and existing:
                org.role_revoke(actor=request.user, user=user, role=inline_form.instance.role)
            elif not existing and data.get("role"):
                org.role_grant(actor=request.user, user=user, role=data["role"])
            elif existing and "role" in inline_form.changed_data:
                org.role_revoke(actor=request.user, user=user, role=inline_form.initial["role"])
                org.role_grant(actor=request.user, user=user, role=data["role"])
