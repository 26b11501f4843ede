"""Root URLconf: the kernel's pages, each chapter's pages, the admin, and the API under /api/."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from portal.admin import portal_admin_site
from sharing.urls import verify_urlpatterns as sharing_verify_urlpatterns

# The API's unmatched paths answer its JSON error (`{"code": "not_found"}`), the site's the 404 page.
handler404 = "portal.api.views.not_found"

REDOC_CSP = {"style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"]}

urlpatterns = [
    path("api/v1/", include("config.api_urls")),  # first: machine clients' calls are most of the traffic
    path("", include("portal.urls")),
    path("catalog/", include("catalog.urls")),
    path("aggregation/", include("aggregation.urls")),
    path("sharing/", include("sharing.urls")),
    path("security/", include("security.urls")),
    path("supervision/", include("supervision.urls")),
    path("verify/", include(sharing_verify_urlpatterns)),  # R26.1 public document verification page
    path("admin/", portal_admin_site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI fits the site's Content-Security-Policy as it is: the split view loads its init script from a URL.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema",
                                                          template_name="api_docs/swagger_ui.html"), name="api-docs"),
    # ReDoc injects <style> elements at run time and runs its search index in a Web Worker made from a blob: — allowed
    # on this page only (every other response keeps style-src 'self').
    path("api/redoc/", csp_update(REDOC_CSP)(SpectacularRedocView.as_view(url_name="api-schema",
                                                                         template_name="api_docs/redoc.html")),
         name="api-redoc"),
]

