"""Stores and their catalog."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from storedesk.audit.services import record_audit, record_audit_bulk
from storedesk.commerce.ingest import ProductIn
from storedesk.commerce.models import Product, Store, Variant
from storedesk.commerce.services.common import ROWS_PER_INSERT, _currency, _decimal, actor_label
from storedesk.core.events import record_event


@transaction.atomic
def do_create_store(
    *,
    name: str,
    slug: str,
    domain: str = "",
    currency: str = "USD",
    timezone_name: str = "America/New_York",
    order_number_prefix: str = "#TP",
    support_email: str = "",
    is_demo: bool = False,
    actor=None,
) -> Store:
    """Create a store (a connector's first sync, or the demo: `is_demo` sends its refunds
    to the in-process demo gateway, where no money moves)."""
    store = Store.objects.create(
        name=name,
        slug=slug,
        domain=domain,
        currency=_currency(currency),
        timezone=timezone_name,
        order_number_prefix=order_number_prefix,
        support_email=support_email,
        is_demo=is_demo,
    )
    record_audit(actor=actor, action="store.created", obj=store, changes={"name": name})
    record_event("store_created", store_id=store.pk)
    return store


@transaction.atomic
def do_upsert_catalog(store: Store, products: Iterable[ProductIn], *, actor=None) -> int:
    """Add products (by handle) and their variants in bulk; known handles are left alone.

    Returns the number of products created. Catalog edits are a later service.
    """
    incoming = {product.handle: product for product in products}
    known = set(
        Product.objects.filter(store=store, handle__in=list(incoming)).values_list(
            "handle", flat=True
        )
    )
    fresh = [product for handle, product in incoming.items() if handle not in known]
    rows = [
        Product(
            store=store,
            provider_id=p.provider_id,
            title=p.title[:200],
            handle=p.handle,
            kind=p.kind,
            material=p.material,
            vendor=p.vendor,
        )
        for p in fresh
    ]
    Product.objects.bulk_create(rows, batch_size=ROWS_PER_INSERT)
    Variant.objects.bulk_create(
        [
            Variant(
                product_id=row.pk,
                provider_id=v.provider_id,
                sku=v.sku,
                title=v.title,
                size=v.size,
                price=_decimal(v.price, "variant price"),
                currency=_currency(v.currency),
                grams=v.grams,
            )
            for row, product in zip(rows, fresh, strict=True)
            for v in product.variants
        ],
        batch_size=ROWS_PER_INSERT,
    )
    record_audit_bulk(
        actor_label=actor_label(actor),
        action="product.created",
        objects=rows,
        changes_for=lambda product: {"handle": product.handle},
    )
    return len(rows)
