from django.urls import path

from storedesk.integrations.connections import views

app_name = "connections"
urlpatterns = [
    path("", views.connection_list, name="list"),
    path("add/<slug:system>/", views.connect, name="connect"),
    path("<int:pk>/", views.connection_detail, name="detail"),
    path("<int:pk>/sync/", views.sync_now, name="sync"),
]
