"""Every write of the experience app, one module per feature, re-exported here."""

# --- surveys
from storedesk.experience.services.surveys import (  # noqa: F401
    Answer,
    SurveyClosed,
    definition_for,
    do_add_survey_comment,
    do_invite_after_solve,
    do_invite_recent_buyers,
    do_record_survey_answer,
    do_update_survey_texts,
    send_survey_invitation,
)
