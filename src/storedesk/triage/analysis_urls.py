from django.urls import path

from storedesk.triage import analysis_views

app_name = "triage_analysis"

urlpatterns = [
    path("tickets/<int:number>/", analysis_views.ticket_analysis, name="ticket"),
]
