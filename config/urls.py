"""Root URLconf: the kernel's pages, each chapter's pages, the admin, and the API under /api/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from portal.admin import portal_admin_site
from sharing.urls import verify_urlpatterns as sharing_verify_urlpatterns

urlpatterns = [
    path("api/v1/", include("config.api_urls")),  # first: machine clients' calls are most of the traffic
    path("", include("portal.urls")),
    path("catalog/", include("catalog.urls")),
    path("aggregation/", include("aggregation.urls")),
    path("sharing/", include("sharing.urls")),
    path("verify/", include(sharing_verify_urlpatterns)),  # R26.1 public document verification page
    path("admin/", portal_admin_site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

