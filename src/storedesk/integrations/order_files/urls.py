from django.urls import path

from storedesk.integrations.order_files import views

app_name = "order_files"
urlpatterns = [path("", views.import_orders, name="import")]
