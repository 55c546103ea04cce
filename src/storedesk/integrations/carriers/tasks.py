"""Tasks of carrier tracking: follow one shipment; sweep the shipments still unfollowed."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.scheduler import periodic


@task()
def follow_shipment(shipment_id: int) -> str:
    from storedesk.integrations.carriers.services import do_follow_shipment

    return do_follow_shipment(shipment_id)


@periodic("carrier-trackers", every=timedelta(minutes=15))
@task()
def follow_unfollowed_shipments() -> int:
    from storedesk.integrations.carriers.services import unfollowed_shipment_ids

    ids = unfollowed_shipment_ids()
    for shipment_id in ids:
        follow_shipment.enqueue(shipment_id)
    return len(ids)
