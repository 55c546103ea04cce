from django.urls import path

from storedesk.audit import views

app_name = "audit"
urlpatterns = [
    path("<slug:app_label>/<slug:model>/<str:object_id>/", views.history, name="history"),
]
