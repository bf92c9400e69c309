from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from rmportal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/locked/", views.LockedAccountsView.as_view(), name="locked-accounts"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("clients/", include("clients.urls")),
    path("performance/", include("performance.urls")),
    path("careers/", include("careers.urls")),
    path("risk/", include("careers.urls_risk")),
    path("operations/", include("performance.urls_operations")),
    path("imports/", include("rmportal.import_urls")),
    path("api/v1/", include("rmportal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The docs page is for people: a login page rather than a JSON refusal (the schema itself
    # needs an authenticated token or session, SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]). Its
    # start-up script is fetched from the page's own address (?script), never written inline.
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
]

handler400 = "rmportal.views.bad_request"
handler403 = "rmportal.views.permission_denied"
handler404 = "rmportal.views.page_not_found"
handler500 = "rmportal.views.server_error"
