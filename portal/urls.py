"""The kernel's pages: home dashboard, sign-in, health check, notifications, personal tokens, calendar."""

from django.urls import include, path

from portal.views import account, calendar, deadlines, home, system, twofactor

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", account.LoginView.as_view(), name="login"),
    path("login/verify/", twofactor.verify, name="otp-verify"),
    path("logout/", account.logout_view, name="logout"),
    path("account/password/", account.password_change_view, name="password-change"),
    path("account/two-factor/", twofactor.two_factor, name="otp-enrol"),
    path("healthz/", home.healthz, name="healthz"),
    path("accounts/locks/", account.locks, name="locks"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("notifications/", home.notifications, name="notifications"),
    path("deadlines/", deadlines.deadline_list, name="clock-list"),
    path("tokens/", account.tokens, name="tokens"),
    path("system/", system.desk, name="system"),
    path("settings/", system.system_settings, name="system-settings"),
    path("calendar/", calendar.calendar_view, name="calendar"),
    path("calendar/<int:year>/", calendar.calendar_view, name="calendar-year"),
    path("calendar/day/", calendar.calendar_day_edit, name="calendar-day"),
    path("calendar/confirm/", calendar.calendar_year_confirm_view, name="calendar-confirm"),
]
