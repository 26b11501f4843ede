"""/api/v1/: each chapter registers its routes here."""

from django.urls import include, path

from sharing import verify_views
from sharing.data_api import RecordDetailView
from sharing.export import ExportView

# The data calls first: they are the hot path, and Django tries patterns in order (no pattern above them matches
# their paths, so the order changes no answer).
urlpatterns = [
    path("data/<str:resource>/records/<str:key>/", RecordDetailView.as_view(), name="data-record-detail"),
    path("data/<str:resource>/export/", ExportView.as_view(), name="data-export"),
    path("", include("portal.api.urls")),
    path("catalog/", include("catalog.api.urls")),
    path("", include("aggregation.api.urls")),
    path("sharing/", include("sharing.api.urls")),
    path("verify/", include(verify_views.api_urlpatterns)),
]
