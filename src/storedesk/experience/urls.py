"""The customer-facing pages of the experience app (mounted at the site root) and the desk's
pages that manage them."""

from django.urls import path

from storedesk.experience.views import help as help_views
from storedesk.experience.views import outreach, surveys, tracking

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
    # --- help center: customers (no login)
    path("help/", help_views.help_home, name="help_home"),
    path("help/search/", help_views.help_search, name="help_search"),
    path("help/suggest", help_views.help_suggest, name="help_suggest"),
    path("help/categories/<slug:slug>/", help_views.help_category, name="help_category"),
    path("help/articles/<slug:slug>/", help_views.help_article, name="help_article"),
    path("help/articles/<slug:slug>/vote/", help_views.help_vote, name="help_vote"),
    path("help/policies/<slug:kind>/", help_views.help_policy, name="help_policy"),
    path(
        "help/policies/<slug:kind>/v<int:version>/",
        help_views.help_policy_version,
        name="help_policy_version",
    ),
    # --- help center: the desk
    path("desk/help-center/", help_views.desk_article_list, name="desk_help_articles"),
    path("desk/help-center/new/", help_views.desk_article_new, name="desk_help_article_new"),
    path(
        "desk/help-center/preview/",
        help_views.desk_article_preview,
        name="desk_help_article_preview",
    ),
    path("desk/help-center/report/", help_views.desk_help_report, name="desk_help_report"),
    path("desk/help-center/<int:pk>/", help_views.desk_article_edit, name="desk_help_article"),
    path(
        "desk/help-center/<int:pk>/publish/",
        help_views.desk_article_publish,
        name="desk_help_article_publish",
    ),
    path(
        "desk/help-center/<int:pk>/archive/",
        help_views.desk_article_archive,
        name="desk_help_article_archive",
    ),
    # --- tracking
    path("track/", tracking.track, name="track"),
    path("track/<str:token>/", tracking.track_link, name="track_link"),
    path("track/<str:token>/report/", tracking.track_report, name="track_report"),
    path("tracking/notices/", tracking.tracking_notices, name="tracking_notices"),
    # --- surveys
    path("s/<str:token>/", surveys.survey_answer, name="survey_answer"),
    path("surveys/", surveys.survey_results_page, name="survey_results"),
    path("surveys/texts/", surveys.survey_texts_page, name="survey_texts"),
    path("surveys/texts/<slug:kind>/", surveys.survey_texts_edit, name="survey_texts_edit"),
]
