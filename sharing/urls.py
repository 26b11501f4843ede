"""The sharing chapter's pages under /sharing/ (namespace `sharing`), and the public verification page that the root
URLconf mounts at /verify/ (`verify_urlpatterns`, no namespace: the page is named `verify`)."""

from django.urls import path

from .views import catalog, clients, documents, grants, online_query, push, requests

app_name = "sharing"

urlpatterns = [
    path("", catalog.index, name="index"),
    path("entries/<int:entry_id>/interface/", catalog.interface_spec_view, name="interface-spec"),
    path("entries/<int:entry_id>/interface/openapi.json", catalog.interface_openapi_view, name="interface-openapi"),
    path("entries/<int:entry_id>/request/", requests.request_new, name="request-new"),
    path("requests/", requests.request_list, name="request-list"),
    path("requests/<int:pk>/", requests.request_detail, name="request-detail"),
    path("requests/<int:pk>/comment/", requests.request_comment, name="request-comment"),
    path("requests/<int:pk>/approve/", requests.request_approve, name="request-approve"),
    path("requests/<int:pk>/reject/", requests.request_reject, name="request-reject"),
    path("requests/<int:pk>/withdraw/", requests.request_withdraw, name="request-withdraw"),
    path("attachments/<int:pk>/", requests.attachment_download, name="attachment"),
    path("review/", requests.review_queue, name="review-queue"),
    path("grants/", grants.grant_list, name="grant-list"),
    path("grants/<int:pk>/revoke/", grants.grant_revoke, name="grant-revoke"),
    path("query/", online_query.online_query_view, name="online-query"),
    path("clients/", clients.client_list, name="client-list"),
    path("clients/<int:pk>/suspend/", clients.client_suspend, name="client-suspend"),
    path("clients/<int:pk>/resume/", clients.client_resume, name="client-resume"),
    path("clients/<int:pk>/rotate/", clients.client_rotate, name="client-rotate"),
    path("clients/<int:pk>/networks/", clients.client_networks, name="client-networks"),
    path("clients/<int:pk>/leak-policy/", clients.client_leak_policy, name="client-leak-policy"),
    path("push/", push.push_list, name="push-list"),
    path("push/<int:pk>/", push.push_detail, name="push-detail"),
    path("push/<int:pk>/run/", push.push_run_now, name="push-run"),
    path("push/<int:pk>/pause/", push.push_pause, name="push-pause"),
    path("push/<int:pk>/resume/", push.push_resume, name="push-resume"),
]

verify_urlpatterns = [path("", documents.verify_page, name="verify")]
