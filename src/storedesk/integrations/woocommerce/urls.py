from django.urls import path

from storedesk.integrations.woocommerce.webhooks import woocommerce_webhook

app_name = "woocommerce"
urlpatterns = [path("", woocommerce_webhook, name="webhook")]
