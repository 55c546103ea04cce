from django.urls import path

from storedesk.integrations.shopify.webhooks import shopify_webhook

app_name = "shopify"
urlpatterns = [path("", shopify_webhook, name="webhook")]
