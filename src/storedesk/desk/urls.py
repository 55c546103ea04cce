"""Every URL of the desk, in four namespaces mounted by the project's urls.py:

- `desk` at /desk/: the inbox and the ticket page;
- `desk_templates` at /desk/ (before `desk`): the reply-template library and search;
- `desk_live` at /desk/live/: live streams for the agent's screens (see `desk.live`);
- `desk_public` at /help/: the customers' chat widget and contact form (no login).
"""

from django.urls import path

from storedesk.desk import live
from storedesk.desk.views import inbox, public, templates, ticket

app_name = "desk"
urlpatterns = [
    path("", inbox.inbox, name="inbox"),
    path("bulk/", inbox.bulk, name="bulk"),
    path("views/", inbox.save_view, name="save_view"),
    path("views/<int:pk>/delete/", inbox.delete_view, name="delete_view"),
    path("tickets/<int:number>/", ticket.ticket_detail, name="ticket"),
    path("tickets/<int:number>/reply/", ticket.compose, name="compose"),
    path("tickets/<int:number>/properties/", ticket.update_properties, name="properties"),
    path("tickets/<int:number>/orders/", ticket.link_order, name="link_order"),
    path("tickets/<int:number>/merge/", ticket.merge, name="merge"),
    path("tickets/<int:number>/split/", ticket.split, name="split"),
    path(
        "tickets/<int:number>/template-preview/",
        ticket.template_preview,
        name="template_preview",
    ),
    path("tickets/<int:number>/presence/", ticket.presence_beat, name="presence"),
    path("tickets/<int:number>/messages/", ticket.messages_after, name="messages_after"),
    path("tickets/<int:number>/messages/<int:pk>/resend/", ticket.resend, name="resend"),
    path("attachments/<int:pk>/", ticket.attachment, name="attachment"),
]

template_urls = (
    [
        path("templates/", templates.template_list, name="list"),
        path("templates/<int:pk>/", templates.template_detail, name="detail"),
        path("templates/<int:pk>/propose/", templates.template_propose, name="propose"),
        path(
            "templates/<int:pk>/versions/<int:version_pk>/decide/",
            templates.template_decide,
            name="decide",
        ),
        path("search/", templates.search_page, name="search"),
    ],
    "desk_templates",
)

live_urls = (
    [
        path("tickets/<int:number>/stream", live.ticket_stream, name="ticket_stream"),
        path("inbox/stream", live.inbox_stream, name="inbox_stream"),
        path("presence", live.presence, name="presence"),
    ],
    "desk_live",
)

public_urls = (
    [
        path("widget.js", public.widget_js, name="widget_js"),
        path("chat/status", public.chat_status, name="chat_status"),
        path("chat/start", public.chat_start, name="chat_start"),
        path("chat/send", public.chat_send, name="chat_send"),
        path("chat/email", public.chat_email, name="chat_email"),
        path("chat/messages", public.chat_messages, name="chat_messages"),
        path("chat/events", public.chat_events, name="chat_events"),
        path("contact/", public.contact, name="contact"),
        path("contact/embed/", public.contact, {"embed": True}, name="contact_embed"),
        path("contact/sent/<str:done>/", public.contact_sent, name="contact_sent"),
        path(
            "contact/embed/sent/<str:done>/",
            public.contact_sent,
            {"embed": True},
            name="contact_embed_sent",
        ),
    ],
    "desk_public",
)
