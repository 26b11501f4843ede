"""Chapters 6–7 and the policy note's pages (/supervision/); each register's views live in `views/<domain>.py`."""

from django.urls import path

from supervision.views import violations

app_name = "supervision"

urlpatterns = [
    # ---- violations register (R35), rectification orders (R36), notices of criticism (通报)
    path("violations/", violations.violation_list_page, name="violation-list"),
    path("violations/new/", violations.violation_file_page, name="violation-new"),
    path("violations/<int:violation_id>/", violations.violation_detail, name="violation-detail"),
    path("violations/<int:violation_id>/dismiss/", violations.violation_dismiss, name="violation-dismiss"),
    path("orders/", violations.order_list_page, name="order-list"),
    path("orders/new/", violations.order_issue_page, name="order-new"),
    path("orders/<int:order_id>/", violations.order_detail, name="order-detail"),
    path("orders/<int:order_id>/report/", violations.order_report_page, name="order-report"),
    path("orders/<int:order_id>/accept/", violations.order_accept, name="order-accept"),
    path("orders/<int:order_id>/return/", violations.order_return, name="order-return"),
    path("orders/<int:order_id>/refer/", violations.order_refer, name="order-refer"),
    path("orders/<int:order_id>/attachments/<int:attachment_id>/", violations.order_attachment,
         name="order-attachment"),
    path("notices/", violations.notice_list_page, name="notice-list"),
    path("notices/<int:notice_id>/", violations.notice_detail, name="notice-detail"),
    path("notices/<int:notice_id>/edit/", violations.notice_edit_page, name="notice-edit"),
    path("notices/<int:notice_id>/publish/", violations.notice_publish, name="notice-publish"),
]
