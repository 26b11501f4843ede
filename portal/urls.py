"""The kernel's pages: home dashboard, sign-in, health check, notifications, personal tokens, calendar."""

from django.urls import include, path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("account/password/", views.password_change_view, name="password-change"),
    path("healthz/", views.healthz, name="healthz"),
    path("accounts/locks/", views.locks, name="locks"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("notifications/", views.notifications, name="notifications"),
    path("tokens/", views.tokens, name="tokens"),
    path("calendar/", views.calendar_view, name="calendar"),
    path("calendar/<int:year>/", views.calendar_view, name="calendar-year"),
    path("calendar/day/", views.calendar_day_edit, name="calendar-day"),
    path("calendar/confirm/", views.calendar_year_confirm_view, name="calendar-confirm"),
]
