from django.urls import path

from storedesk.core import views

app_name = "core"
urlpatterns = [
    path("", views.settings_index, name="settings"),
]
