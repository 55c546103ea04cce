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
from storedesk.experience.services.outreach import (  # noqa: F401
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
