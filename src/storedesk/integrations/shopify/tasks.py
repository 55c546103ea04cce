"""Shopify's tasks: the reconcile of one shop ("sync now" and every 15 minutes)."""

import logging

from django.tasks import task

from storedesk.integrations.connections.services import register_syncer
from storedesk.integrations.connections.systems import SHOPIFY

logger = logging.getLogger(__name__)


@task()
def reconcile_shopify(connection_id: int) -> str:
    from storedesk.integrations.connections.credentials import NotConnected
    from storedesk.integrations.connections.models import Connection
    from storedesk.integrations.shopify.sync import SyncFailed, reconcile

    connection = Connection.objects.select_related("store").filter(pk=connection_id).first()
    if connection is None:
        return "gone"
    try:
        result = reconcile(connection)
    except (NotConnected, SyncFailed) as error:
        logger.warning("Shopify reconcile of connection %s stopped: %s", connection_id, error)
        return "stopped"
    return f"created {result.orders_created}, updated {result.orders_updated}"


register_syncer(SHOPIFY, reconcile_shopify)
