"""The customer-facing pages of the experience app (mounted at the site root) and the desk's
pages that manage them."""

from django.urls import path

from storedesk.experience.views import surveys

app_name = "experience"

urlpatterns = [
    # --- surveys
    path("s/<str:token>/", surveys.survey_answer, name="survey_answer"),
    path("surveys/", surveys.survey_results_page, name="survey_results"),
    path("surveys/texts/", surveys.survey_texts_page, name="survey_texts"),
    path("surveys/texts/<slug:kind>/", surveys.survey_texts_edit, name="survey_texts_edit"),
]
