"""Background work of the mail integration: the periodic job that polls every IMAP mailbox
(one scheduler: storedesk.core.scheduler)."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.scheduler import periodic
from storedesk.integrations.mail.imap import poll_all_mailboxes


@periodic("mail-poll", every=timedelta(minutes=1))
@task(queue_name="mail")
def poll_mailboxes() -> dict:
    """Poll all mailboxes at once; returns the counts, for the task's result."""
    results = [result for result in poll_all_mailboxes() if result is not None]
    return {
        "mailboxes": len(results),
        "stored": sum(result.stored for result in results),
        "duplicates": sum(result.duplicates for result in results),
        "quarantined": sum(result.quarantined for result in results),
    }
