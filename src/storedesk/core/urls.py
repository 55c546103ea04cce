from django.urls import path

from storedesk.core import views

app_name = "core"
urlpatterns = [
    path("settings/", views.settings_index, name="settings"),
    path("system/tasks/stuck/", views.stuck_tasks, name="stuck_tasks"),
]
