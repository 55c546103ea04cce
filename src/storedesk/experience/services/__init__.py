"""Every write of the experience app, one module per feature, re-exported here."""

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
