"""An agent signs in, finds an order from the top search box and reads its shipment timeline,
in a real Chromium, with the real CSP, static files and htmx."""

from datetime import timedelta

import pytest

from storedesk.accounts.roles import Role
from storedesk.commerce.models import Shipment
from tests.browser.conftest import sign_in
from tests.factories import (
    BASE_TIME,
    CustomerFactory,
    OrderFactory,
    ShipmentEventFactory,
    ShipmentFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(live_server):
    """A store with one shipped order and an agent, created before the browser starts."""
    store = StoreFactory()
    customer = CustomerFactory(
        store=store,
        first_name="Grace",
        last_name="Hopper",
        name_key="grace hopper",
        last_name_key="hopper",
        email="grace@mail.example",
    )
    order = OrderFactory(store=store, customer=customer, number="#TP31337", number_key="TP31337")
    shipment = ShipmentFactory(
        order=order,
        tracking_number="LX123456789VN",
        status=Shipment.Status.DELIVERED,
        signed_by="G HOPPER",
    )
    ShipmentEventFactory(
        shipment=shipment,
        message="Accepted at Hanoi post office",
        happened_at=BASE_TIME + timedelta(days=1),
    )
    ShipmentEventFactory(
        shipment=shipment,
        message="Arrived at USPS regional facility",
        city="Los Angeles",
        country="US",
        happened_at=BASE_TIME + timedelta(days=5),
    )
    ShipmentEventFactory(
        shipment=shipment,
        message="Delivered, in/at mailbox",
        city="Austin",
        country="US",
        status=Shipment.Status.DELIVERED,
        happened_at=BASE_TIME + timedelta(days=8),
    )
    UserFactory(username="mai", roles=[Role.AGENT], first_name="Mai")
    return {"url": live_server.url, "order": order}


def _assert_no_csp_trouble(page):
    violations = page.evaluate("window.__cspViolations")
    csp_console = [text for text in page.console_errors if "Content Security Policy" in text]
    assert violations == []
    assert csp_console == []
    assert page.console_errors == []


def _sign_in(page, url):
    sign_in(page, f"{url}/", "mai")


def test_agent_finds_an_order_and_reads_its_timeline(desk, page):
    url, order = desk["url"], desk["order"]
    _sign_in(page, url)
    assert page.locator(".tile-figure").first.is_visible()
    assert page.evaluate("typeof window.htmx") == "object"
    topbar_color = page.evaluate(
        "getComputedStyle(document.querySelector('.topbar')).backgroundColor"
    )
    assert topbar_color == "rgb(29, 36, 51)"  # our stylesheet applied

    page.fill("#top-search", "tp31337")
    page.press("#top-search", "Enter")
    page.wait_for_url(f"{url}/orders/{order.pk}/")

    assert page.locator("h1").inner_text().startswith("Order #TP31337")
    events = page.locator("[data-testid=shipment-timeline] .timeline-message").all_inner_texts()
    assert events == [
        "Accepted at Hanoi post office",
        "Arrived at USPS regional facility",
        "Delivered, in/at mailbox",
    ]
    assert page.get_by_text("G HOPPER").is_visible()
    _assert_no_csp_trouble(page)


def test_customer_search_updates_in_place_with_htmx(desk, page):
    url = desk["url"]
    _sign_in(page, url)
    page.click("nav.mainnav >> text=Customers")
    page.wait_for_url(f"{url}/customers/")
    page.fill("#customer-q", "hop")
    page.wait_for_url(f"{url}/customers/?q=hop")
    page.locator("#results >> text=Grace Hopper").wait_for()
    page.fill("#customer-q", "zzz")
    page.locator("#results >> text=No customer matches").wait_for()
    _assert_no_csp_trouble(page)
