"""Long content wraps or folds: a page never grows wider than a 1280 px window, an order with a
card-testing run of declines stays a readable height, and the ticket's customer box keeps its
content inside."""

from datetime import timedelta

import pytest

from storedesk.accounts.roles import Role
from storedesk.commerce.models import Payment
from storedesk.desk.replies import do_create_template
from tests.browser.conftest import sign_in
from tests.desk.builders import make_ticket
from tests.factories import (
    BASE_TIME,
    CustomerFactory,
    OrderFactory,
    PaymentFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT = {"width": 1280, "height": 900}
DECLINED_ATTEMPTS = 25
ORDER_PAGE_MAX_HEIGHT = 2500  # px: 1,658 with the folded attempts, 7,248 with all laid out
LONG_EMAIL = "margaretelainehamiltonapolloguidancesoftwarelead@averyverylongmaildomain.example"


@pytest.fixture
def desk(live_server):
    """A template with a 5,000-character unbroken body, a card-tested order and a ticket from a
    customer with a very long email address, created before the browser starts."""
    store = StoreFactory()
    template = do_create_template(
        name="Unbroken", category="product", subject="Long", body="x" * 5000
    )
    customer = CustomerFactory(store=store, email=LONG_EMAIL, first_name="Margaret")
    order = OrderFactory(store=store, customer=customer, number="#TP40404", number_key="TP40404")
    for attempt in range(DECLINED_ATTEMPTS):
        PaymentFactory(
            order=order,
            status=Payment.Status.FAILED,
            failure_code="card_declined",
            failure_message="Your card was declined.",
            created_at=BASE_TIME + timedelta(minutes=attempt),
        )
    PaymentFactory(order=order, created_at=BASE_TIME + timedelta(hours=1))
    ticket = make_ticket(requester=LONG_EMAIL, subject="Where is my order?")
    UserFactory(username="lead", roles=[Role.LEAD])
    return {"live": live_server.url, "template": template, "order": order, "ticket": ticket}


def _document_width(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_long_content_wraps_or_folds_at_1280_px(page, desk):
    page.set_viewport_size(VIEWPORT)
    live = desk["live"]
    sign_in(page, f"{live}/desk/templates/{desk['template'].pk}/", "lead")
    scroll_width, viewport_width = _document_width(page)
    assert scroll_width <= viewport_width

    page.goto(f"{live}/orders/{desk['order'].pk}/")
    scroll_width, viewport_width = _document_width(page)
    assert scroll_width <= viewport_width
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < ORDER_PAGE_MAX_HEIGHT
    folded = page.locator("[data-testid=folded-payments]")
    assert (
        f"{DECLINED_ATTEMPTS - 3} earlier failed attempts" in folded.locator("summary").inner_text()
    )
    folded.locator("summary").click()
    assert folded.locator("article.payment").count() == DECLINED_ATTEMPTS - 3

    page.goto(f"{live}/desk/tickets/{desk['ticket'].number}/")
    box = page.locator("[data-testid=customer]")
    assert LONG_EMAIL in box.inner_text().replace("\n", "")
    scroll, client = box.evaluate("(el) => [el.scrollWidth, el.clientWidth]")
    assert scroll <= client
    scroll_width, viewport_width = _document_width(page)
    assert scroll_width <= viewport_width
    assert page.console_errors == []
