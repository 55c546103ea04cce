from django.urls import include, path

from storedesk.api import api
from storedesk.core.api import urls_answering_405_in_json
from storedesk.desk import urls as desk_urls
from storedesk.triage.urls import analysis_urlpatterns as triage_analysis_urls

urlpatterns = [
    path("accounts/", include("storedesk.accounts.urls")),
    path("audit/", include("storedesk.audit.urls")),
    path("desk/", include(desk_urls.template_urls)),  # before the desk's own: more specific
    path("desk/", include("storedesk.desk.urls")),
    path("desk/live/", include(desk_urls.live_urls)),
    path("disputes/", include("storedesk.disputes.urls")),
    path("help/", include(desk_urls.public_urls)),
    path("", include("storedesk.experience.urls")),
    path("api/v1/", urls_answering_405_in_json(api)),
    path("mail/", include("storedesk.integrations.mail.inbound")),
    path("mail/", include("storedesk.integrations.mail.tracking")),
    path("resolutions/", include("storedesk.resolutions.urls")),
    path("risk/", include("storedesk.risk.urls")),
    path("gateways/", include("storedesk.gateways.urls")),
    path("", include("storedesk.core.urls")),
    path("", include("storedesk.onboarding.urls")),
    path("imports/orders/", include("storedesk.integrations.order_files.urls")),
    path("webhooks/easypost/", include("storedesk.integrations.carriers.urls")),
    path("webhooks/woocommerce/", include("storedesk.integrations.woocommerce.urls")),
    path("webhooks/paypal/", include("storedesk.integrations.paypal.urls")),
    path("webhooks/stripe/", include("storedesk.integrations.stripe.urls")),
    path("webhooks/shopify/", include("storedesk.integrations.shopify.urls")),
    path("settings/connections/", include("storedesk.integrations.connections.urls")),
    path("triage/analysis/", include(triage_analysis_urls)),
    path("triage/", include("storedesk.triage.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("storedesk.commerce.urls")),
]

handler400 = "storedesk.core.views.bad_request"
handler403 = "storedesk.core.views.permission_denied"
handler404 = "storedesk.core.views.page_not_found"
handler500 = "storedesk.core.views.server_error"
