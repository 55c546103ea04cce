from django.urls import include, path

from storedesk.api import api

urlpatterns = [
    path("accounts/", include("storedesk.accounts.urls")),
    path("audit/", include("storedesk.audit.urls")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("storedesk.commerce.urls")),
]

handler400 = "storedesk.core.views.bad_request"
handler403 = "storedesk.core.views.permission_denied"
handler404 = "storedesk.core.views.page_not_found"
handler500 = "storedesk.core.views.server_error"
