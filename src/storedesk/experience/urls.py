"""The customer-facing pages of the experience app (mounted at the site root) and the desk's
pages that manage them."""

from django.urls import path

from storedesk.experience.views import outreach

app_name = "experience"

urlpatterns = [
    # --- outreach
    path("u/<str:token>/", outreach.unsubscribe, name="unsubscribe"),
    path("outreach/segments/", outreach.segment_list, name="segments"),
    path("outreach/segments/new/", outreach.segment_edit, name="segment_new"),
    path("outreach/segments/<int:pk>/", outreach.segment_edit, name="segment"),
    path("outreach/campaigns/", outreach.campaign_list, name="campaigns"),
    path("outreach/campaigns/new/", outreach.campaign_edit, name="campaign_new"),
    path("outreach/campaigns/<int:pk>/", outreach.campaign_edit, name="campaign"),
    path("outreach/campaigns/<int:pk>/send/", outreach.campaign_send, name="campaign_send"),
    path(
        "outreach/campaigns/<int:pk>/schedule/",
        outreach.campaign_schedule,
        name="campaign_schedule",
    ),
    path("outreach/campaigns/<int:pk>/cancel/", outreach.campaign_cancel, name="campaign_cancel"),
]
