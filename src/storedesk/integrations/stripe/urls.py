from django.urls import path

from storedesk.integrations.stripe.views import stripe_webhook

app_name = "stripe"
urlpatterns = [path("", stripe_webhook, name="webhook")]
