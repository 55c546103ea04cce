"""A lead writes a risk rule in a real Chromium: sees the syntax error while typing, then the
backtest on the store's history, saves it, and watches a new matching order, ingested through
the real service, land in the review queue decided by that rule."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.commerce.services import do_ingest_orders
from storedesk.risk.backtest import snapshots
from storedesk.risk.models import OrderRisk, RiskRule
from storedesk.risk.services import do_install_defaults, do_score_orders
from tests.browser.conftest import sign_in
from tests.browser.test_order_flow import _assert_no_csp_trouble
from tests.commerce.builders import order_in
from tests.factories import OrderFactory, PaymentFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RULE = "review if :amount_usd: > 700 and :is_first_order:"


@pytest.fixture
def store_history(live_server):
    """Default rules, a lead, and 50 scored orders of the last weeks, each a new customer's
    first order: two are big, the rest small."""
    snapshots.clear()
    do_install_defaults()
    store = StoreFactory()
    now = timezone.now()
    orders = []
    for n in range(50):
        amount = Decimal("850.00") if n in (3, 17) else Decimal("60.00")
        order = OrderFactory(
            store=store,
            created_at=now - timedelta(days=1 + n % 20, minutes=n),
            total_price=amount,
            subtotal_price=amount,
        )
        PaymentFactory(order=order, amount=amount)
        orders.append(order)
    do_score_orders([order.pk for order in orders])
    UserFactory(username="linh", roles=[Role.LEAD], first_name="Linh")
    yield {"url": live_server.url, "store": store}
    snapshots.clear()


def _sign_in(page, url):
    sign_in(page, f"{url}/risk/rules/", "linh")


def test_lead_writes_a_rule_sees_its_backtest_and_catches_the_next_order(store_history, page):
    url, store = store_history["url"], store_history["store"]
    _sign_in(page, url)
    page.click("text=New rule")
    page.wait_for_url(f"{url}/risk/rules/new/")

    source = page.locator("#id_source")
    source.press_sequentially("review if :amount_usd: > 700 and", delay=15)
    error = page.locator("[data-testid=rule-error]")
    error.wait_for()
    assert "Line 1, column 33:" in error.inner_text()
    assert page.locator("[data-testid=rule-pointer]").inner_text().endswith(" " * 32 + "^")

    source.press_sequentially(" :is_first_order:", delay=15)
    page.locator("[data-testid=bt-matched]").wait_for()
    assert page.locator("[data-testid=rule-error]").count() == 0
    matched = int(page.locator("[data-testid=bt-matched]").inner_text())
    figures = {
        name: page.locator(f"[data-testid=bt-{name}]").inner_text()
        for name in ("volume", "rate", "good", "disputed", "refunded")
    }
    assert matched == 2
    assert figures["volume"].startswith("1,700.00")
    assert figures["rate"] == "4.0%"
    assert page.locator("[data-testid=bt-examples] tbody tr").count() == 2

    page.fill("#id_name", "Big first order")
    page.fill("#id_priority", "5")
    page.fill("#id_note", "big first orders slipped through")
    page.click("button[type=submit].primary")
    rule = RiskRule.objects.get(name="Big first order")
    page.wait_for_url(f"{url}/risk/rules/{rule.pk}/")
    assert "saved as version 1" in page.locator(".messages").inner_text()
    assert page.locator("[data-testid=version]").count() == 1
    assert rule.source == RULE

    # A new customer's order arrives through the real ingest service; its order_created event
    # scores it (the immediate task backend runs the task when the ingest commits).
    # Not shipped yet: a review of an order already on its way closes itself (overtaken).
    new_order = replace(
        order_in(95001, email="new.buyer@mail.example", total=Decimal("920.00")), shipments=()
    )
    do_ingest_orders(store, [new_order])
    risk = OrderRisk.objects.get(order__number=new_order.number)
    assert risk.status == OrderRisk.Status.IN_REVIEW
    assert risk.decided_by_rule == rule

    page.goto(f"{url}/risk/review/")
    row = page.locator("[data-testid=queue-row]", has_text=risk.order.number)
    row.wait_for()
    assert "Big first order" in row.inner_text()
    _assert_no_csp_trouble(page)
