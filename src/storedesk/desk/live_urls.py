"""Live streams for the agent's screens, mounted at /desk/live/ (see `desk.live`)."""

from django.urls import path

from storedesk.desk import live

app_name = "desk_live"

urlpatterns = [
    path("tickets/<int:number>/stream", live.ticket_stream, name="ticket_stream"),
    path("inbox/stream", live.inbox_stream, name="inbox_stream"),
    path("presence", live.presence, name="presence"),
]
