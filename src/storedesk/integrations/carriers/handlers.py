"""A tracker for each new tracking number: when a shipment is recorded (`order_shipped`), a
task asks the store's carrier-tracking service to follow it. The call is a task of its own so
an EasyPost outage never holds up the other handlers of the event; the sweep in `tasks` picks
up any shipment whose task failed."""

from storedesk.core.events import handles
from storedesk.core.tasks import enqueue_on_commit


@handles("order_shipped")
def follow_new_shipment(event) -> None:
    from storedesk.integrations.carriers.tasks import follow_shipment

    shipment_id = event.payload.get("shipment_id")
    if shipment_id:
        enqueue_on_commit(follow_shipment, shipment_id)
