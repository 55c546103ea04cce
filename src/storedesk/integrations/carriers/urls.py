from django.urls import path

from storedesk.integrations.carriers.views import easypost_webhook

app_name = "easypost"
urlpatterns = [path("", easypost_webhook, name="webhook")]
