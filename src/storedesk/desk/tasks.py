"""Background work of the desk: its periodic jobs (outgoing mail has its own tasks in
`desk.mail_out`)."""

from django.tasks import task

from storedesk.core.scheduler import periodic
from storedesk.desk.queries import COUNTS_REFRESH_EVERY, refresh_team_counts


@periodic("desk-inbox-counts", every=COUNTS_REFRESH_EVERY)
@task()
def refresh_inbox_counts() -> None:
    """The team's sidebar counts, kept fresh for the inbox requests."""
    refresh_team_counts()
