"""The sharing chapter's tables (R19, R22.1, R28.1), one module per domain."""

from .clients import ApiClient
from .grants import Grant
from .push import PushRun, PushSubscription
from .requests import SharingAttachment, SharingComment, SharingRequest, attachment_path

__all__ = [
    "ApiClient",
    "Grant",
    "PushRun",
    "PushSubscription",
    "SharingAttachment",
    "SharingComment",
    "SharingRequest",
    "attachment_path",  # migration 0001 names it as sharing.models.attachment_path
]
