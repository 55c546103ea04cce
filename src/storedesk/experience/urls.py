"""The customer-facing pages of the experience app (mounted at the site root) and the desk's
pages that manage them."""

from django.urls import path

from storedesk.experience.views import tracking

app_name = "experience"

urlpatterns = [
    # --- tracking
    path("track/", tracking.track, name="track"),
    path("track/<str:token>/", tracking.track_link, name="track_link"),
    path("track/<str:token>/report/", tracking.track_report, name="track_report"),
    path("tracking/notices/", tracking.tracking_notices, name="tracking_notices"),
]
