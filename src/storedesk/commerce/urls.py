from django.urls import path

from storedesk.commerce import views

app_name = "commerce"
urlpatterns = [
    path("", views.home, name="home"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("customers/", views.customer_list, name="customers"),
    path("customers/<int:pk>/", views.customer_detail, name="customer"),
    path("tasks/", views.task_list, name="tasks"),
]
