"""Every write of the experience app, one module per feature, re-exported here."""

from storedesk.experience.services.help import (
    HelpArticleError,
    clean_help_session,
    do_archive_article,
    do_publish_article,
    do_record_contact_after_help,
    do_record_search,
    do_record_suggestions,
    do_record_view,
    do_save_article,
    do_vote,
    ensure_help_categories,
    voter_key,
)

__all__ = [
    "HelpArticleError",
    "clean_help_session",
    "do_archive_article",
    "do_publish_article",
    "do_record_contact_after_help",
    "do_record_search",
    "do_record_suggestions",
    "do_record_view",
    "do_save_article",
    "do_vote",
    "ensure_help_categories",
    "voter_key",
]

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
