"""Root URLconf: the portal's pages, each chapter's pages, the admin, and the API under /api/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from portal import views
from portal.admin import portal_admin_site

urlpatterns = [
    path("api/v1/", include("config.api_urls")),  # first: machine clients' calls are most of the traffic
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("healthz/", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("notifications/", views.notifications, name="notifications"),
    path("tokens/", views.tokens, name="tokens"),
    path("calendar/", views.calendar_view, name="calendar"),
    path("calendar/<int:year>/", views.calendar_view, name="calendar-year"),
    path("calendar/day/", views.calendar_day_edit, name="calendar-day"),
    path("calendar/confirm/", views.calendar_year_confirm_view, name="calendar-confirm"),
    path("catalog/", include("catalog.urls")),
    path("aggregation/", include("aggregation.urls")),
    path("sharing/", include("sharing.urls")),
    path("verify/", include("sharing.verify_views")),  # R26.1 public document verification page
    path("admin/", portal_admin_site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

