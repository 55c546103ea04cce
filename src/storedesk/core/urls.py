from django.urls import path

from storedesk.core import views
from storedesk.core.first_run_views import first_run

app_name = "core"
urlpatterns = [
    path("settings/", views.settings_index, name="settings"),
    path("setup/", first_run, name="first_run"),
    path("system/tasks/stuck/", views.stuck_tasks, name="stuck_tasks"),
]
