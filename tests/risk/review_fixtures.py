"""Orders that the default rules put in review, for the review service, page and API tests."""

from decimal import Decimal

from storedesk.risk.models import OrderRisk
from storedesk.risk.services import do_install_defaults, do_score_orders
from tests.factories import OrderFactory, PaymentFactory


def scored(order) -> OrderRisk:
    do_install_defaults()
    do_score_orders([order.pk])
    return OrderRisk.objects.select_related("order").get(order=order)


def order_in_review(store, *, total=Decimal("89.00"), **order_fields) -> OrderRisk:
    """A first order the gateway rated highest risk: the default rules send it to review."""
    order = OrderFactory(store=store, total_price=total, subtotal_price=total, **order_fields)
    PaymentFactory(order=order, risk_level="highest", risk_score=88, card_fingerprint="fpSTOLEN01")
    risk = scored(order)
    assert risk.status == OrderRisk.Status.IN_REVIEW
    return risk


def cleared_order(store) -> OrderRisk:
    order = OrderFactory(store=store)
    PaymentFactory(order=order)
    risk = scored(order)
    assert risk.status == OrderRisk.Status.CLEAR
    return risk
