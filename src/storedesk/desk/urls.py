from django.urls import path

from storedesk.desk.views import inbox, ticket

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
