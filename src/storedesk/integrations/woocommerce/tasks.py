"""The reconcile task "sync now" and the periodic sweep queue for a WooCommerce site."""

from django.tasks import task

from storedesk.integrations.connections.services import register_syncer
from storedesk.integrations.connections.systems import WOOCOMMERCE


@task()
def sync_woocommerce(connection_id: int) -> int:
    from storedesk.integrations.connections.models import Connection
    from storedesk.integrations.woocommerce.services import do_sync_orders

    connection = Connection.objects.filter(pk=connection_id, status="active").first()
    if connection is None:
        return 0
    return do_sync_orders(connection).seen


register_syncer(WOOCOMMERCE, sync_woocommerce)
