"""Tasks of resolutions: carry one resolution through its outside calls; retry the due and the
stuck ones; expire approvals nobody decided. Each is idempotent (ids in, state re-read)."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.events import handles
from storedesk.core.scheduler import periodic
from storedesk.core.tasks import enqueue_on_commit


@task()
def execute_resolution(resolution_id: int) -> str:
    """Call the gateway/platform for a processing resolution with its own idempotency key."""
    from storedesk.resolutions.services import do_execute_resolution  # services queue us

    return do_execute_resolution(resolution_id).status


@periodic("resolution-retries", every=timedelta(minutes=1))
@task()
def retry_resolutions() -> int:
    """Processing resolutions whose call failed or whose worker died: called again, same key."""
    from storedesk.resolutions.services import do_retry_due_resolutions

    return do_retry_due_resolutions()


@periodic("approval-expiry", every=timedelta(minutes=5))
@task()
def expire_approvals() -> int:
    from storedesk.resolutions.services import do_expire_approvals

    return do_expire_approvals()


@handles("resolution_to_execute")
def queue_execution(event) -> None:
    """A resolution started inside another app's transaction (a risk review's cancel) is
    carried out by a task once that transaction has committed."""
    enqueue_on_commit(execute_resolution, event.payload["resolution_id"])
