"""What the pages of chapter 3 share: service refusals onto forms, the record gate, who may load.

(A refusal as a 404 or 403 is portal.shortcuts.http_refusal / access_or_404, as on every chapter's pages.)"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404

from catalog import resource_perms
from portal.choices import Role
from portal.errors import PortalError
from portal.shortcuts import http_refusal

from ..selectors import pools as pool_selectors


def form_errors(form, exc: PortalError) -> None:
    """Put a service refusal onto the form (by field where the service named one)."""
    mapped = False
    for field, msgs in (exc.errors or {}).items():
        target = "fields_" if field == "fields" and "fields_" in form.fields else field
        if target in form.fields:
            for m in msgs:
                form.add_error(target, str(m))
            mapped = True
    if not mapped:
        form.add_error(None, str(exc.detail))


def run_form(request, form, call, success: str):
    """Run `call()` (a service) for a valid form: its result, with the `success` message; or None with the refusal
    put onto the form (out of scope or not allowed raise 404 / 403)."""
    try:
        result = call()
    except PortalError as exc:
        http_refusal(exc)
        form_errors(form, exc)
        return None
    messages.success(request, success)
    return result


def visible_record(user, dataset_pk: int, pk: int):
    """The dataset and live record if the user may open them, else Http404."""
    found = pool_selectors.visible_record(user, dataset_pk, pk)
    if found is None:
        raise Http404
    return found


def is_data_staff_of(user, department_id) -> bool:
    """The provider's data staff: who uploads files into the department's pool (by role; see may_load)."""
    return user.has_role(Role.DEPT_STAFF) and user.department_id == department_id


def may_load(user, dataset) -> bool:
    """The provider's data staff holding load_data on the dataset's resource: who sees the load buttons."""
    return is_data_staff_of(user, dataset.department_id) and resource_perms.holds(
        user, entry_id=dataset.entry_id, provider_id=dataset.department_id, perm=resource_perms.LOAD_DATA)

