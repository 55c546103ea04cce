from django.urls import path

from storedesk.integrations.paypal.views import paypal_webhook

app_name = "paypal"
urlpatterns = [path("", paypal_webhook, name="webhook")]
