from django.urls import path

from . import push_views, views
from .online_query import online_query_view

app_name = "sharing"

urlpatterns = [
    path("", views.index, name="index"),
    path("entries/<int:entry_id>/interface/", views.interface_spec_view, name="interface-spec"),
    path("entries/<int:entry_id>/request/", views.request_new, name="request-new"),
    path("requests/", views.request_list, name="request-list"),
    path("requests/<int:pk>/", views.request_detail, name="request-detail"),
    path("requests/<int:pk>/comment/", views.request_comment, name="request-comment"),
    path("requests/<int:pk>/approve/", views.request_approve, name="request-approve"),
    path("requests/<int:pk>/reject/", views.request_reject, name="request-reject"),
    path("requests/<int:pk>/withdraw/", views.request_withdraw, name="request-withdraw"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("review/", views.review_queue, name="review-queue"),
    path("grants/", views.grant_list, name="grant-list"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant-revoke"),
    path("query/", online_query_view, name="online-query"),
    path("clients/", views.client_list, name="client-list"),
    path("clients/<int:pk>/suspend/", views.client_suspend, name="client-suspend"),
    path("clients/<int:pk>/resume/", views.client_resume, name="client-resume"),
    path("clients/<int:pk>/rotate/", views.client_rotate, name="client-rotate"),
    path("push/", push_views.push_list, name="push-list"),
    path("push/<int:pk>/", push_views.push_detail, name="push-detail"),
    path("push/<int:pk>/run/", push_views.push_run_now, name="push-run"),
    path("push/<int:pk>/pause/", push_views.push_pause, name="push-pause"),
    path("push/<int:pk>/resume/", push_views.push_resume, name="push-resume"),
]
