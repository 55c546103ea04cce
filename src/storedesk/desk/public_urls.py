"""Public pages and endpoints for customers, mounted at /help/ (no login)."""

from django.urls import path

from storedesk.desk import public_views as views

app_name = "desk_public"

urlpatterns = [
    path("widget.js", views.widget_js, name="widget_js"),
    path("chat/status", views.chat_status, name="chat_status"),
    path("chat/start", views.chat_start, name="chat_start"),
    path("chat/send", views.chat_send, name="chat_send"),
    path("chat/email", views.chat_email, name="chat_email"),
    path("chat/messages", views.chat_messages, name="chat_messages"),
    path("chat/events", views.chat_events, name="chat_events"),
    path("contact/", views.contact, name="contact"),
    path("contact/embed/", views.contact, {"embed": True}, name="contact_embed"),
    path("contact/sent/<str:done>/", views.contact_sent, name="contact_sent"),
    path(
        "contact/embed/sent/<str:done>/",
        views.contact_sent,
        {"embed": True},
        name="contact_embed_sent",
    ),
]
