"""The risk review queue, one order's review page, and the risk panel on the order page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from storedesk.accounts.roles import Role
from storedesk.commerce.models import Order, OrderTask
from storedesk.risk.models import OrderRisk, RiskDecision, RiskRule
from storedesk.risk.review import do_add_note, do_cancel
from tests.factories import (
    BASE_TIME,
    OrderFactory,
    RefundFactory,
    ShipmentEventFactory,
    ShipmentFactory,
)
from tests.risk.review_fixtures import cleared_order, order_in_review


@pytest.fixture
def lead(make_user):
    return make_user(Role.LEAD, username="lead")


@pytest.fixture
def lead_client(client, lead):
    client.force_login(lead)
    return client


@pytest.fixture
def risk(store):
    return order_in_review(store)


def _warm_caches():
    for model in (Order, OrderTask):
        ContentType.objects.get_for_model(model)


# --- The queue ----------------------------------------------------------------------------------


def test_queue_lists_orders_in_review_by_score_then_amount(agent_client, store):
    small = order_in_review(store, total=Decimal("120.00"))
    large = order_in_review(store, total=Decimal("900.00"))
    riskier = order_in_review(store, total=Decimal("50.00"))
    OrderRisk.objects.filter(pk=riskier.pk).update(score=95)
    OrderRisk.objects.filter(pk__in=[small.pk, large.pk]).update(score=40)
    cleared_order(store)

    response = agent_client.get("/risk/review/")

    assert response.status_code == 200
    assert [r.pk for r in response.context["page"]] == [riskier.pk, large.pk, small.pk]
    html = response.text
    assert "3 orders in review." in html
    assert "Gateway says highest risk" in html
    assert "gateway risk highest" in html
    assert "first order" in html
    assert f'href="/risk/orders/{large.order_id}/"' in html


def test_queue_filters_by_stage_action_and_score(agent_client, store, lead):
    low, high = order_in_review(store), order_in_review(store)
    OrderRisk.objects.filter(pk=low.pk).update(score=10, action="hold_fulfillment")
    OrderRisk.objects.filter(pk=high.pk).update(score=80, stage=OrderRisk.Stage.DECIDE)

    def listed(**params):
        return [r.pk for r in agent_client.get("/risk/review/", params).context["page"]]

    assert listed(min_score=50) == [high.pk]
    assert listed(stage="decide") == [high.pk]
    assert listed(action="hold_fulfillment") == [low.pk]
    assert listed(stage="check", min_score=50) == []
    html = agent_client.get("/risk/review/").text
    assert '<span class="count" data-testid="stage-count-decide">1</span>' in html
    assert '<span class="count" data-testid="stage-count-check">1</span>' in html


@pytest.mark.parametrize(
    "params", [{"min_score": "lots"}, {"min_score": "101"}, {"stage": "nowhere"}, {"page": "x"}]
)
def test_bad_filters_are_explained_not_a_500(agent_client, risk, params):
    response = agent_client.get("/risk/review/", params)

    assert response.status_code == 200
    assert [r.pk for r in response.context["page"]] == [risk.pk]
    if "page" not in params:
        assert "That filter was ignored." in response.text


def test_queue_pages_by_50(agent_client, store):
    first = order_in_review(store)
    OrderRisk.objects.bulk_create(
        [
            OrderRisk(
                order=OrderFactory(store=store),
                status=OrderRisk.Status.IN_REVIEW,
                stage=OrderRisk.Stage.CHECK,
                score=first.score,
                scored_at=first.scored_at,
            )
            for _ in range(50)
        ]
    )

    page_one = agent_client.get("/risk/review/", {"min_score": 0})
    page_two = agent_client.get("/risk/review/", {"min_score": 0, "page": 2})

    assert len(page_one.context["page"].object_list) == 50
    assert "Page 1 of 2" in page_one.text
    assert "?min_score=0&amp;page=2" in page_one.text
    assert len(page_two.context["page"].object_list) == 1


# session, user, permissions (2), store, count, page rows (joined: order, customer, rule),
# stage counts
QUEUE_QUERIES = 8


@pytest.mark.parametrize("orders", [2, 12])
def test_queue_query_count_is_fixed(agent_client, store, django_assert_num_queries, orders):
    for _ in range(orders):
        order_in_review(store)

    with django_assert_num_queries(QUEUE_QUERIES):
        response = agent_client.get("/risk/review/")
    assert response.context["page"].paginator.count == orders


# --- One order's review -------------------------------------------------------------------------


def test_review_page_has_everything_needed_to_decide(lead_client, store, risk):
    earlier = OrderFactory(
        store=store, customer=risk.order.customer, created_at=BASE_TIME - timedelta(days=40)
    )
    RefundFactory(order=earlier, amount=Decimal("15.00"))
    Order.objects.filter(pk=earlier.pk).update(total_refunded=Decimal("15.00"))

    response = lead_client.get(f"/risk/orders/{risk.order_id}/")

    assert response.status_code == 200
    html = response.text
    assert f"Risk review of {risk.order.number}" in html
    assert 'data-testid="review-status">In review<' in html
    # score reasons, and the rule that fired with the value that made it fire
    assert "gateway risk highest" in html
    assert "Gateway says highest risk" in html
    assert "review if :gateway_risk_level: = &#x27;highest&#x27;" in html
    assert ">fired<" in html
    assert '<dt class="mono">gateway_risk_level</dt><dd><span class="mono">highest</span>' in html
    # every signal group, missing values never shown as safe
    for group in ("order", "customer", "ip", "addresses", "email", "phone", "gateway"):
        assert f'data-testid="signal-group-{group}"' in html
    assert (
        '<dd data-signal="ip_country"><span class="badge value-missing">unavailable</span>' in html
    )
    assert 'data-testid="velocity"' in html
    assert 'data-testid="distance">0.0 km' in html
    # card fingerprint: leads have no payment-details permission
    assert "fpSTOLEN01" not in html
    assert "hidden for your role" in html
    # customer history, payments, the stepper and the action forms
    assert earlier.number in html
    assert 'data-testid="history-orders">1<' in html
    assert "15.00" in html
    assert "VISA ···· 4242" in html
    assert '<li class="step step-current" aria-current="step">Check</li>' in html
    for form in ("approve", "cancel", "contact", "stage", "note"):
        assert f'data-testid="form-{form}"' in html
    assert "the card ending in 4242" in html


def test_open_tickets_of_the_customer_or_about_the_order_are_shown(agent_client, store, risk):
    from storedesk.desk.models import Ticket

    def ticket(number, status, **about):
        return Ticket.objects.create(
            number=number,
            subject=f"Ticket {number}",
            channel="email",
            status=status,
            created_at=BASE_TIME,
            updated_at=BASE_TIME,
            **about,
        )

    ticket(1, "open", customer=risk.order.customer)
    ticket(2, "pending").orders.add(risk.order)
    ticket(3, "solved", customer=risk.order.customer)

    html = agent_client.get(f"/risk/orders/{risk.order_id}/").text

    assert html.count('data-testid="open-ticket"') == 2
    assert 'href="/desk/tickets/1/"' in html
    assert "Ticket 2" in html
    assert "Ticket 3" not in html


def test_the_orders_early_fraud_warnings_are_shown(agent_client, risk):
    from storedesk.disputes.models import EarlyFraudWarning

    EarlyFraudWarning.objects.create(
        provider_id="issfr_1Shown",
        charge_provider_id="ch_1Shown",
        order=risk.order,
        fraud_type="made_with_stolen_card",
        actionable=True,
        warned_at=BASE_TIME,
        recorded_at=BASE_TIME,
    )

    html = agent_client.get(f"/risk/orders/{risk.order_id}/").text

    assert html.count('data-testid="early-fraud-warning"') == 1
    assert "made_with_stolen_card" in html
    assert "a refund can still prevent the dispute" in html


def test_payments_specialists_see_the_card_fingerprint(client, make_user, risk):
    client.force_login(make_user(Role.PAYMENTS, username="payments"))

    html = client.get(f"/risk/orders/{risk.order_id}/").text

    assert '<dd data-signal="card_fingerprint"><span class="mono">fpSTOLEN01</span>' in html


def test_agents_can_read_a_review_but_not_decide(agent_client, risk):
    html = agent_client.get(f"/risk/orders/{risk.order_id}/").text
    assert 'data-testid="form-approve"' not in html

    response = agent_client.post(
        f"/risk/orders/{risk.order_id}/decide/", {"kind": "approve", "reason": "fine"}
    )

    assert response.status_code == 403
    assert not RiskDecision.objects.exists()


def test_approving_redirects_with_a_message_and_shows_on_the_timeline(lead_client, risk):
    response = lead_client.post(
        f"/risk/orders/{risk.order_id}/decide/",
        {"kind": "approve", "reason": "Known customer, confirmed by phone"},
        follow=True,
    )

    assert response.redirect_chain == [(f"/risk/orders/{risk.order_id}/", 302)]
    html = response.text
    assert "Order approved; fulfillment is released." in html
    assert 'data-testid="review-status">Approved<' in html
    assert "Known customer, confirmed by phone" in html
    assert 'data-testid="form-approve"' not in html
    risk.refresh_from_db()
    assert risk.status == OrderRisk.Status.APPROVED


def test_cancel_and_report_fraud_from_the_page(lead_client, risk):
    response = lead_client.post(
        f"/risk/orders/{risk.order_id}/decide/",
        {"kind": "cancel_fraud", "reason": "Cardholder denies the purchase"},
        follow=True,
    )

    assert "Order cancelled and reported as fraud" in response.text
    assert "Refund through the gateway: 89.00 USD" in response.text
    assert RiskDecision.objects.get().kind == RiskDecision.Kind.CANCEL_FRAUD


def test_a_missing_reason_keeps_what_was_typed_and_decides_nothing(lead_client, risk):
    response = lead_client.post(
        f"/risk/orders/{risk.order_id}/decide/",
        {"kind": "contact", "template": "photo_id", "reason": "", "message": "My edited text"},
    )

    assert response.status_code == 422
    assert "Say why: a reason is required for every decision." in response.text
    assert "My edited text</textarea>" in response.text
    assert not RiskDecision.objects.exists()


def test_a_decision_on_a_cleared_order_is_refused_clearly(lead_client, store):
    cleared = cleared_order(store)

    response = lead_client.post(
        f"/risk/orders/{cleared.order_id}/decide/", {"kind": "note", "reason": "fine"}
    )
    assert response.status_code == 302  # a note is fine on any order
    response = lead_client.post(
        f"/risk/orders/{cleared.order_id}/decide/", {"kind": "approve", "reason": "fine"}
    )

    assert response.status_code == 409
    assert "This order is not in review: its risk check cleared it." in response.text


@pytest.mark.parametrize("data", [{"kind": "launch", "reason": "x"}, {}])
def test_an_unknown_decision_kind_is_a_400(lead_client, risk, data):
    response = lead_client.post(f"/risk/orders/{risk.order_id}/decide/", data)

    assert response.status_code == 400
    assert not RiskDecision.objects.exists()


def test_unknown_or_unscored_orders_are_404(lead_client, store):
    unscored = OrderFactory(store=store)

    assert lead_client.get("/risk/orders/999999/").status_code == 404
    assert lead_client.get(f"/risk/orders/{unscored.pk}/").status_code == 404
    response = lead_client.post("/risk/orders/999999/decide/", {"kind": "approve", "reason": "x"})
    assert response.status_code == 404


def test_the_verification_preview_swaps_with_the_template(agent_client, risk):
    response = agent_client.get(
        f"/risk/orders/{risk.order_id}/verification-preview/",
        {"template": "photo_id"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="verification-preview"')
    assert "government-issued photo ID" in response.text
    assert f"Please confirm your identity for order {risk.order.number}" in response.text


# session, user, permissions (2), order+store+customer+risk+rule, items, payments, refunds,
# shipments, shipment events, open tasks, rule names, customer orders, their totals, their
# disputes, early fraud warnings, open tickets, decisions
REVIEW_QUERIES = 18


@pytest.mark.parametrize("extra", [0, 5])
def test_review_page_query_count_is_fixed(
    agent_client, store, risk, lead, django_assert_num_queries, extra
):
    for n in range(extra):
        OrderFactory(
            store=store, customer=risk.order.customer, created_at=BASE_TIME - timedelta(days=n + 1)
        )
        do_add_note(risk, lead, f"note {n}")
        ShipmentEventFactory(shipment=ShipmentFactory(order=risk.order))
    ShipmentFactory(order=risk.order)
    _warm_caches()

    with django_assert_num_queries(REVIEW_QUERIES):
        assert agent_client.get(f"/risk/orders/{risk.order_id}/").status_code == 200


# --- The order page's risk panel ----------------------------------------------------------------


def _refund_failed(risk, lead) -> OrderTask:
    """Cancel, and the gateway refuses the refund: a task for a person is left."""
    from storedesk.core.events import dispatch_event
    from storedesk.core.models import DomainEvent
    from storedesk.resolutions.models import Resolution
    from storedesk.resolutions.services import do_execute_resolution

    do_cancel(risk, lead, "stolen card")
    do_execute_resolution(Resolution.objects.get(order_id=risk.order_id).pk)  # no Stripe key
    for event in DomainEvent.objects.filter(name="resolution_failed"):
        dispatch_event.call(event.pk)
    return OrderTask.objects.get()


def test_order_page_shows_the_risk_panel_and_the_refund_task(lead_client, risk, lead):
    _refund_failed(risk, lead)

    html = lead_client.get(f"/orders/{risk.order_id}/").text

    assert 'id="risk"' in html
    assert 'data-testid="risk-status">Cancelled<' in html
    assert "gateway risk highest" in html
    assert f'href="/risk/orders/{risk.order_id}/"' in html
    assert "Refund needed: 89.00 USD" in html
    assert "Mark done" in html


def test_the_order_pages_risk_panel_says_the_order_was_warned_of(lead_client, risk):
    OrderRisk.objects.filter(pk=risk.pk).update(
        signals=risk.signals | {"order_early_fraud_warnings": "1", "order_disputes": "0"}
    )

    html = lead_client.get(f"/orders/{risk.order_id}/").text

    assert 'data-testid="risk-early-fraud-warnings">1 early fraud warning<' in html
    assert 'data-testid="risk-disputes"' not in html


def test_agents_see_the_task_but_cannot_mark_it_done(agent_client, risk, lead):
    task = _refund_failed(risk, lead)

    html = agent_client.get(f"/orders/{risk.order_id}/").text
    response = agent_client.post(f"/risk/tasks/{task.pk}/done/")

    assert "Refund needed: 89.00 USD" in html
    assert "Mark done" not in html
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == OrderTask.Status.OPEN


def test_marking_the_refund_task_done_goes_back_to_the_order(lead_client, risk, lead):
    task = _refund_failed(risk, lead)

    response = lead_client.post(
        f"/risk/tasks/{task.pk}/done/", {"next": f"/orders/{risk.order_id}/"}, follow=True
    )

    assert response.redirect_chain == [(f"/orders/{risk.order_id}/", 302)]
    assert "Refund needed: marked done." in response.text
    assert "Mark done" not in response.text
    task.refresh_from_db()
    assert task.status == OrderTask.Status.DONE


def test_an_unscored_order_says_so_on_its_panel(agent_client, full_order):
    html = agent_client.get(f"/orders/{full_order.pk}/").text

    assert "Not scored yet." in html


def test_the_main_nav_links_to_the_review_queue(agent_client, risk):
    html = agent_client.get("/risk/review/").text

    assert '<a href="/risk/review/" aria-current="page">Risk</a>' in html


def test_a_rule_deleted_since_is_named_as_such(lead_client, risk):
    RiskRule.objects.filter(pk=risk.decided_by_rule_id).delete()

    html = lead_client.get(f"/risk/orders/{risk.order_id}/").text

    assert "(deleted rule)" in html


# --- Facts that change what a reviewer can do ---------------------------------------------------


def test_a_shipped_order_offers_no_cancel_and_a_posted_cancel_is_refused(lead_client, risk):
    ShipmentFactory(order=risk.order, shipped_at=risk.order.created_at)

    html = lead_client.get(f"/risk/orders/{risk.order_id}/").text
    response = lead_client.post(
        f"/risk/orders/{risk.order_id}/decide/", {"kind": "cancel", "reason": "stolen card"}
    )

    assert 'data-testid="cancel-refused"' in html
    assert f"Order {risk.order.number} shipped on " in html
    assert 'value="cancel_fraud"' not in html
    assert response.status_code == 422
    assert "it can no longer be cancelled" in response.text
    assert Order.objects.get(pk=risk.order_id).cancelled_at is None


def test_a_partly_refunded_order_warns_before_and_after_cancelling(lead_client, risk):
    order = risk.order
    RefundFactory(order=order, payment=order.payments.get(), amount=Decimal("20.00"))
    warning = (
        f"Order {order.number} was already partly refunded: 20.00 of 89.00 USD; "
        "69.00 USD remain to refund."
    )

    before = lead_client.get(f"/risk/orders/{risk.order_id}/").text
    after = lead_client.post(
        f"/risk/orders/{risk.order_id}/decide/",
        {"kind": "cancel", "reason": "customer unreachable"},
        follow=True,
    ).text

    assert f'data-testid="cancel-warning">{warning}<' in before
    assert warning in after
    assert "Order cancelled." in after


def test_the_verification_request_is_emailed_and_the_answer_shows_on_the_review(
    lead_client, risk, django_capture_on_commit_callbacks
):
    from django.core import mail

    from storedesk.desk.models import Message
    from storedesk.desk.services import InboundMessage, do_receive_message

    with django_capture_on_commit_callbacks(execute=True):
        response = lead_client.post(
            f"/risk/orders/{risk.order_id}/decide/",
            {"kind": "contact", "template": "photo_id", "reason": "Name differs"},
            follow=True,
        )

    sent = Message.objects.get(kind="outbound")
    ticket = sent.ticket
    assert f"Verification request emailed to the customer on ticket {ticket.token}" in (
        response.text.replace("&quot;", '"')
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [risk.order.email]
    do_receive_message(
        ticket,
        InboundMessage(
            channel="email",
            from_email=risk.order.email,
            text="Attached is my driver's license.",
            message_id="<answer.7@mail.example>",
            in_reply_to=sent.message_id,
        ),
    )

    html = lead_client.get(f"/risk/orders/{risk.order_id}/").text

    assert 'data-testid="verification-answer"' in html
    assert "Attached is my driver&#x27;s license." in html
    assert f'href="/desk/tickets/{ticket.number}/"' in html


def test_a_review_events_overtook_says_so_and_offers_no_decision(lead_client, risk):
    from storedesk.risk.review import do_close_overtaken_reviews

    ShipmentFactory(order=risk.order, shipped_at=BASE_TIME + timedelta(days=2))
    do_close_overtaken_reviews([risk.order_id])

    html = lead_client.get(f"/risk/orders/{risk.order_id}/").text

    assert 'data-testid="review-status">Overtaken by events<' in html
    assert 'data-testid="review-overtaken"' in html
    assert "overtaken by events: shipped on " in html
    assert 'data-testid="form-approve"' not in html
