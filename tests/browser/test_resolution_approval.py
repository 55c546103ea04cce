"""An agent asks for a refund over their limit from the ticket, in a real Chromium: the panel
previews the cost and says it needs approval, the agent gives the reason; a lead finds it in
the approvals queue (counted in the navigation), lowers the amount and approves; the money moves
once (the demo store's gateway), the customer gets the message and the timeline shows it all."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from storedesk.accounts.roles import Role
from storedesk.commerce.models import Refund
from storedesk.desk.models import Message
from storedesk.resolutions.models import Approval, Resolution
from tests.browser.conftest import CSP_LISTENER, sign_in
from tests.desk.builders import make_ticket
from tests.factories import (
    CustomerFactory,
    LineItemFactory,
    OrderFactory,
    PaymentFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(live_server):
    cache.clear()
    store = StoreFactory(is_demo=True)
    customer = CustomerFactory(store=store, first_name="Olivia", email="olivia@mail.example")
    order = OrderFactory(
        store=store,
        customer=customer,
        subtotal_price=Decimal("120.00"),
        total_price=Decimal("120.00"),
    )
    LineItemFactory(order=order, title="Moonstone Ring", price=Decimal("120.00"))
    PaymentFactory(order=order)
    ticket = make_ticket(requester="olivia@mail.example", subject="My ring arrived bent")
    ticket.orders.add(order)
    UserFactory(username="alex", roles=[Role.AGENT], first_name="Alex")
    UserFactory(username="lena", roles=[Role.LEAD], first_name="Lena")
    return {"url": live_server.url, "ticket": ticket, "order": order}


def _no_trouble(page):
    assert page.evaluate("window.__cspViolations") == []
    # A preview asked for while the form is still incomplete answers 400 (the browser logs
    # that); nothing else may go wrong.
    assert [e for e in page.console_errors if "status of 400" not in e] == []


def test_agent_asks_lead_lowers_and_approves_customer_and_timeline_see_it(desk, page):
    url, ticket = desk["url"], desk["ticket"]
    ticket_url = f"{url}/desk/tickets/{ticket.number}/"

    # The agent asks for $80 back: over the $50 an agent may refund alone.
    sign_in(page, ticket_url, "alex")
    page.click("[data-testid=resolve-open]")
    form = page.locator("[data-testid=resolve-form]")
    form.wait_for()
    form.locator("select[name=kind]").select_option("partial_refund")
    form.locator("select[name=reason]").select_option("damaged")
    form.locator("input[name=amount]").fill("80.00")
    form.locator("input[name=amount]").press("Tab")
    approval_needed = page.locator("[data-testid=preview-approval]")
    approval_needed.wait_for()
    assert "over the 50.00 limit per action" in approval_needed.inner_text()
    assert page.locator("[data-testid=preview-cost]").inner_text().startswith("8")  # 80 + fee
    assert "40.00 USD" in page.locator("[data-testid=preview-refundable]").inner_text()
    form.locator("textarea[name=note]").fill("Bent in transit; her photos are in the thread")
    form.locator("[data-testid=resolve-confirm]").click()
    page.locator("[data-testid=resolve-result][data-status=pending_approval]").wait_for()
    # The request is on the timeline at once, without a reload.
    asked = page.locator("#conversation [data-step=approval_requested]")
    asked.wait_for()
    assert "Alex asked for approval: Partial refund 80.00 USD (Damaged)" in asked.inner_text()
    assert not Refund.objects.exists()
    _no_trouble(page)

    # A lead sees it counted in the navigation, lowers it to $60 and approves.
    lead_context = page.context.browser.new_context(locale="en-US", timezone_id="Asia/Ho_Chi_Minh")
    lead_context.add_init_script(CSP_LISTENER)
    lead = lead_context.new_page()
    lead.set_default_timeout(10_000)
    lead.console_errors = []
    lead.on("console", lambda m: m.type == "error" and lead.console_errors.append(m.text))
    sign_in(lead, f"{url}/", "lena")
    badge = lead.locator("[data-testid=nav-approvals-count]")
    expect(badge).to_have_text("1")  # fetched by htmx after the page
    lead.click("[data-testid=nav-approvals]")
    lead.wait_for_url(f"{url}/resolutions/approvals/")
    row = lead.locator("[data-testid=approval]")
    assert row.count() == 1
    assert "Bent in transit; her photos are in the thread" in row.inner_text()
    assert f"#{ticket.number} My ring arrived bent" in row.inner_text()
    row.locator("[data-testid=lower-amount]").fill("60.00")
    row.locator("[data-testid=approve-lower]").click()
    lead.locator(".message-success", has_text="Approved: Partial refund").wait_for()
    assert lead.locator("[data-testid=approvals-empty]").is_visible()
    _no_trouble(lead)
    lead_context.close()

    approval = Approval.objects.get()
    assert (approval.status, approval.approved_amount) == ("approved", Decimal("60.00"))
    assert Resolution.objects.get().status == Resolution.Status.DONE
    assert Refund.objects.get().amount == Decimal("60.00")  # once, the lowered amount

    # The agent's ticket shows the decision, the refund done and the customer's message.
    page.goto(ticket_url)
    timeline = page.locator("#conversation")
    assert "Lena approved Partial refund 60.00 USD (asked: 80.00)" in timeline.inner_text()
    done = page.locator("#conversation [data-step=resolution_done]")
    assert "Partial refund 60.00 USD done (Damaged)" in done.inner_text()
    assert "demo: no money moved" in done.inner_text()
    reply = Message.objects.get(ticket=ticket, kind="outbound")
    assert "$60.00" in reply.text
    shown = page.locator(f"#message-{reply.pk}")
    assert "$60.00" in shown.inner_text()
    _no_trouble(page)
