"""The reply-template library and the search page, mounted at /desk/ before desk.urls."""

from django.urls import path

from storedesk.desk import views_templates as views

app_name = "desk_templates"
urlpatterns = [
    path("templates/", views.template_list, name="list"),
    path("templates/<int:pk>/", views.template_detail, name="detail"),
    path("templates/<int:pk>/propose/", views.template_propose, name="propose"),
    path(
        "templates/<int:pk>/versions/<int:version_pk>/decide/",
        views.template_decide,
        name="decide",
    ),
    path("search/", views.search_page, name="search"),
]
