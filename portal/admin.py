"""The system administrator's departments and accounts, on Django's admin (its lists, search and filters), with
every save going through the kernel services (and so their rules and the audit trail).

The site is the system administrator's alone and registers only what that role owns: regions (read only),
departments and accounts — no roles (the security administrator grants them on /security/roles/), no other app's
models. It has no login of its own (the portal's, with its lockout and second factor, is the only one), keeps no
history of its own (Django's LogEntry would be a second, unsealed trail), and deletes nothing.
"""

from functools import update_wrapper

from django import forms
from django.contrib import admin
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.choices import ADMIN_ROLES, Role
from portal.models import Department, Region, User
from portal.services import org


class PortalAdminSite(admin.AdminSite):
    site_header = _("焦作市大数据平台门户 · 系统管理")
    site_title = _("系统管理")
    index_title = _("组织与人员")

    def has_permission(self, request):
        return request.user.is_active and is_system_admin(request)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            # Somebody signed in who is not the system administrator: for them this site does not exist.
            if request.user.is_authenticated and not is_system_admin(request):
                raise Http404
            return inner(request, *args, **kwargs)

        return update_wrapper(guarded, inner)

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            raise Http404
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


portal_admin_site = PortalAdminSite(name="admin")


def is_system_admin(request) -> bool:
    """The admin site is the system administrator's alone; anybody signed out (the admin's login page) is not one."""
    return request.user.is_authenticated and request.user.has_role(Role.SYSTEM_ADMIN)


class SystemAdminOnly:
    """No deletes: departments and accounts are deactivated, so the audit trail keeps its references."""

    def log_addition(self, request, obj, message):  # the portal's audit trail records every save (services)
        return None

    def log_change(self, request, obj, message):
        return None

    def log_deletions(self, request, queryset):
        return None

    def history_view(self, request, object_id, extra_context=None):
        raise Http404

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


class UserAddForm(forms.ModelForm):
    password = forms.CharField(
        label=_("初始密码"), widget=forms.PasswordInput, strip=False,
        help_text=_("至少 10 位，含大写字母、小写字母、数字、符号中的 3 类，不得包含用户名。请当面或另行告知本人。"),
    )

    class Meta:
        model = User
        fields = ["username", "full_name", "phone", "email", "department", "is_active"]

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("username"):
            try:
                candidate = User(username=data["username"], full_name=data.get("full_name", ""))
                validate_password(data["password"], candidate)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class UserChangeForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "phone", "email", "department", "is_active"]

    def clean_is_active(self):
        active = self.cleaned_data["is_active"]
        if not active and self.instance.is_active and self.instance.roles.filter(role__in=ADMIN_ROLES).exists():
            raise ValidationError(_("该账号担任管理员角色，须先由安全管理员撤销该角色后才能停用"))
        return active


@admin.register(User, site=portal_admin_site)
class UserAdmin(SystemAdminOnly, admin.ModelAdmin):
    list_display = ["username", "full_name", "department", "is_active", "last_login"]
    list_filter = ["is_active", "department__region", "department"]
    search_fields = ["username", "full_name", "department__name", "department__short_name"]
    list_select_related = ["department"]
    actions = None

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = UserAddForm if obj is None else UserChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fields = [*UserAddForm.Meta.fields, "password"] if obj is None else UserChangeForm.Meta.fields
        return [(None, {"fields": fields})]

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
