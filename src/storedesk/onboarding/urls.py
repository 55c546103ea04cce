from django.urls import path

from storedesk.onboarding.views import first_run

app_name = "onboarding"
urlpatterns = [path("setup/", first_run, name="first_run")]
