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
from storedesk.experience.services.outreach import (
    OutreachError,
    do_cancel_campaign,
    do_queue_campaign,
    do_record_delivery,
    do_run_due_campaigns,
    do_save_campaign,
    do_save_segment,
    do_schedule_campaign,
    do_send_campaign_batch,
    do_unsubscribe,
)
from storedesk.experience.services.tracking import (
    TrackingReportIn,
    do_record_shipping_problem,
    do_report_from_tracking,
)

__all__ = [
    "HelpArticleError",
    "OutreachError",
    "TrackingReportIn",
    "clean_help_session",
    "do_archive_article",
    "do_cancel_campaign",
    "do_publish_article",
    "do_queue_campaign",
    "do_record_contact_after_help",
    "do_record_delivery",
    "do_record_search",
    "do_record_shipping_problem",
    "do_record_suggestions",
    "do_record_view",
    "do_report_from_tracking",
    "do_run_due_campaigns",
    "do_save_article",
    "do_save_campaign",
    "do_save_segment",
    "do_schedule_campaign",
    "do_send_campaign_batch",
    "do_unsubscribe",
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
