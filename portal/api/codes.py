"""The registry of the API's stable error codes (SPEC §9.2): every `code` an error body `{"code", "detail"}` can carry.

One list, read by the exception handler (portal.exceptions: DRF's own codes mapped onto these) and by the OpenAPI
document (portal.api.schema: the `Error` schema's `code` enum). A service that raises a PortalError with a code not
listed here fails tests/portal/api/test_error_codes.py, so a client can rely on the enum being complete.
"""

from __future__ import annotations

# DRF's own exception codes → the contract's codes (the handler answers the right-hand side).
DRF_CODES = {
    "not_authenticated": "not_authenticated",
    "authentication_failed": "not_authenticated",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
    "throttled": "throttled",
    "parse_error": "invalid",
    "invalid": "invalid",
}
# An APIException the mapping above does not know (none is raised today; a fallback, never a new code).
FALLBACK = "error"

# The use cases' refusals (PortalError and subclasses, by floor), and the middleware's (portal.middleware).
SERVICE_CODES = frozenset({
    # portal: the kernel, organisations, three administrators, sign-in, audit trail
    "invalid", "not_found", "permission_denied", "invalid_state", "role_conflict",
    "admin_account", "admin_role_exclusive", "department_required", "head_not_member", "role_held", "role_not_held",
    "role_scope", "user_inactive", "already_confirmed", "basis_required", "deadline_not_running", "deadline_running",
    "otp_already_enrolled", "otp_enrolment_expired", "otp_invalid", "otp_mandatory", "otp_not_enrolled",
    "otp_required", "otp_reset_self", "otp_throttled", "password_expired",
    "audit_purge_mismatch", "audit_purge_nothing", "audit_purge_too_recent", "audit_purge_unverified",
    "audit_verify_busy",
    # catalog
    "already_approved", "bureau_missing", "comment_required", "invalid_file", "items_unfit", "no_changes",
    "no_resource_permission", "not_deletable", "not_editable", "secrecy_review", "update_case_running",
    # security: signed calls (security.signing.errors), reviews, risks, incidents
    "not_authenticated", "signature_invalid", "replayed", "unavailable", "client_suspended", "ip_not_allowed",
    "already_completed", "already_decided", "already_pending", "already_scheduled", "not_allowed", "not_reviewer",
    "not_security_admin",
    # aggregation
    "case_closed", "case_open", "extension_used", "head_only", "no_change", "no_extension_request", "no_sources",
    "no_subject_key", "not_published", "one_source", "overdue", "own_data", "record_deleted", "table_busy",
    "too_large", "unconfirmed", "pool_move_refused",
    # sharing
    "grant_expired", "host_not_allowed", "method_not_offered", "no_grant", "own_department", "own_entry",
    "range_not_satisfiable", "unconditional",
    # supervision
    "already_published", "already_referred", "already_submitted", "assessment_exists", "checklist_failed",
    "deadline_required", "no_resources", "no_violations", "not_assessed", "not_assessor", "not_awaiting_report",
    "not_bureau", "not_department_staff", "not_open", "not_reported", "not_order_department", "not_own_department",
    "objection_period_over", "objection_period_running", "objections_unanswered", "one_department", "out_of_scope",
    "reason_required", "unknown_indicator", "weights_not_100",
})

CODES: tuple[str, ...] = tuple(sorted(SERVICE_CODES | set(DRF_CODES.values()) | {FALLBACK}))
# For the schema's enum (ENUM_NAME_OVERRIDES "ErrorCodeEnum"): each code is its own label.
CODE_CHOICES = [(code, code) for code in CODES]


def api_code(drf_code: str) -> str:
    """The contract's code for a DRF exception's `default_code`."""
    return DRF_CODES.get(drf_code, FALLBACK)
