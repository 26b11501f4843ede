"""The sharing chapter's API routes, in three lists the root API URLconf mounts:

- `urlpatterns` under /api/v1/sharing/: requests, grants, interface specifications;
- `data_urlpatterns` under /api/v1/data/: the data calls (pull — one URL with the provider's push —, online query,
  bulk download), mounted first (the hot path);
- `verify_urlpatterns` under /api/v1/verify/: public verification of signed documents (R26.1).
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import clients, data, documents, grants, interface, push, requests

router = SimpleRouter()
router.register("requests", requests.SharingRequestViewSet, basename="sharing-request")
router.register("grants", grants.GrantViewSet, basename="sharing-grant")
router.register("push-subscriptions", push.PushSubscriptionViewSet, basename="sharing-push")
router.register("clients", clients.ApiClientViewSet, basename="sharing-client")

urlpatterns = [
    path("interface/<str:resource>/", interface.InterfaceSpecView.as_view(), name="sharing-interface-spec"),
    *router.urls,
]

data_urlpatterns = [
    # One URL, two exchange methods: GET is the pull, POST the provider's push (a subclass of aggregation's view).
    path("<str:resource>/records/", data.RecordsView.as_view(), name="data-records"),
    path("<str:resource>/records/<str:key>/", data.RecordDetailView.as_view(), name="data-record-detail"),
    path("<str:resource>/export/", data.ExportView.as_view(), name="data-export"),
]

verify_urlpatterns = [
    path("", documents.VerifyView.as_view(), name="document-verify"),
    path("key/", documents.VerifyKeyView.as_view(), name="document-verify-key"),
]
