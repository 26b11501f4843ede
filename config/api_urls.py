"""/api/v1/: each chapter registers its routes here."""

from django.urls import include, path

from sharing.api.urls import data_urlpatterns as sharing_data_urlpatterns
from sharing.api.urls import verify_urlpatterns as sharing_verify_urlpatterns

# The data calls first: they are the hot path, and Django tries patterns in order (no pattern above them matches
# their paths, so the order changes no answer).
urlpatterns = [
    path("data/", include(sharing_data_urlpatterns)),
    path("", include("portal.api.urls")),
    path("catalog/", include("catalog.api.urls")),
    path("", include("aggregation.api.urls")),
    path("sharing/", include("sharing.api.urls")),
    path("security/", include("security.api.urls")),
    path("supervision/", include("supervision.api.urls")),
    path("verify/", include(sharing_verify_urlpatterns)),
]
