from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.audit.models import AuditEntry
from storedesk.commerce.models import Refund
from storedesk.core.models import DomainEvent
from storedesk.desk.models import Message, TicketEvent
from storedesk.desk.replies import do_install_default_templates
from storedesk.resolutions import services
from storedesk.resolutions.models import Approval, Resolution
from storedesk.resolutions.services import (
    ApprovalClosed,
    InvalidResolution,
    NotAllowed,
    ResolutionRefused,
    do_approve,
    do_decline,
    do_expire_approvals,
    do_request_resolution,
)
from tests.factories import ShipmentFactory
from tests.resolutions.conftest import paid_order


def ask(actor, order, kind="partial_refund", amount="20.00", key="k1", **kwargs):
    values = {"currency": "USD", "reason": "damaged"} | kwargs
    return do_request_resolution(
        actor=actor,
        order=order,
        kind=kind,
        amount=None if amount is None else Decimal(amount),
        idempotency_key=key,
        **values,
    )


@pytest.mark.django_db
def test_a_refund_within_the_agents_limit_goes_through_stripe_and_is_recorded_once(
    order, people, stripe_server, ticket_for
):
    do_install_default_templates()
    ticket = ticket_for(order)

    resolution = ask(people["agent"], order, amount="25.00", ticket=ticket)

    assert resolution.status == "done"
    assert resolution.gateway == "stripe"
    assert resolution.gateway_reference == "re_test000001"
    [call] = stripe_server.requests
    assert call["form"]["amount"] == "2500"
    assert call["form"]["charge"] == order.payments.get().provider_id
    assert call["key"] == services.gateway_key(resolution)
    refund = Refund.objects.get()
    assert (refund.status, refund.provider_id, refund.amount) == (
        "succeeded",
        "re_test000001",
        Decimal("25.00"),
    )
    order.refresh_from_db()
    assert (order.total_refunded, order.financial_status) == (
        Decimal("25.00"),
        "partially_refunded",
    )
    assert resolution.cost == Decimal("25.80")  # + a quarter of the 3.20 fee Stripe keeps
    assert AuditEntry.objects.filter(action="resolution.done", actor=people["agent"]).exists()
    assert DomainEvent.objects.filter(name="resolution_done").count() == 1
    steps = [e.data["step"] for e in TicketEvent.objects.filter(ticket=ticket, kind="resolution")]
    assert steps == ["resolution_started", "resolution_done"]
    message = Message.objects.get(ticket=ticket, kind="outbound")
    assert "$25.00" in message.text
    assert order.number in message.text

    again = ask(people["agent"], order, amount="25.00", ticket=ticket)
    assert again.pk == resolution.pk
    assert len(stripe_server.requests) == 1
    assert Message.objects.filter(ticket=ticket, kind="outbound").count() == 1


@pytest.mark.django_db
def test_over_the_agents_limit_asks_for_approval_and_a_lead_approves_a_lower_amount(
    order, people, stripe_server, ticket_for
):
    ticket = ticket_for(order)

    resolution = ask(people["agent"], order, amount="60.00", ticket=ticket, note="lost twice")

    assert resolution.status == "pending_approval"
    approval = Approval.objects.get()
    assert approval.requested_amount == Decimal("60.00")
    assert approval.why_needed == [
        "over the 50.00 limit per action",
        "over 30% of the order",
    ]
    assert stripe_server.requests == []
    assert Refund.objects.count() == 0

    with pytest.raises(NotAllowed, match="own"):
        do_approve(actor=people["agent"], approval=approval)
    with pytest.raises(NotAllowed):
        do_approve(actor=people["agent2"], approval=approval)  # agents do not approve
    with pytest.raises(InvalidResolution, match="lower"):
        do_approve(actor=people["lead"], approval=approval, amount=Decimal("70.00"))

    done = do_approve(actor=people["lead"], approval=approval, amount=Decimal("45.00"))

    assert (done.status, done.amount) == ("done", Decimal("45.00"))
    approval.refresh_from_db()
    assert (approval.status, approval.approver, approval.approved_amount) == (
        "approved",
        people["lead"],
        Decimal("45.00"),
    )
    assert stripe_server.requests[0]["form"]["amount"] == "4500"
    steps = [e.data["step"] for e in TicketEvent.objects.filter(ticket=ticket, kind="resolution")]
    assert steps == [
        "approval_requested",
        "approval_approved",
        "resolution_started",
        "resolution_done",
    ]
    assert do_approve(actor=people["lead"], approval=approval).pk == done.pk  # a second click
    assert len(stripe_server.requests) == 1


@pytest.mark.django_db
def test_a_declined_request_moves_nothing_and_an_expired_one_cannot_be_approved(order, people):
    first = ask(people["agent"], order, amount="80.00", key="a")
    with pytest.raises(InvalidResolution):
        do_decline(actor=people["lead"], approval=first.approval, reason="  ")
    declined = do_decline(actor=people["lead"], approval=first.approval, reason="not lost")
    assert declined.status == "declined"
    assert Approval.objects.get(pk=first.approval.pk).decline_reason == "not lost"

    second = ask(people["agent"], order, amount="70.00", key="b")
    Approval.objects.filter(pk=second.approval.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(ApprovalClosed, match="expired"):
        do_approve(actor=people["lead"], approval=second.approval)
    second.refresh_from_db()
    assert second.status == "expired"

    third = ask(people["agent"], order, amount="65.00", key="c")
    Approval.objects.filter(pk=third.approval.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert do_expire_approvals() == 1
    third.refresh_from_db()
    assert (third.status, third.approval.status) == ("expired", "expired")
    assert Refund.objects.count() == 0


@pytest.mark.django_db
def test_bad_input_is_refused_with_a_clear_error_and_the_attempt_is_audited(order, people):
    agent = people["agent"]
    cases = [
        ({"amount": "0"}, "invalid_amount"),
        ({"amount": "-5.00"}, "invalid_amount"),
        ({"amount": "12.345"}, "invalid_amount"),
        ({"amount": "101.00"}, "more_than_refundable"),
        ({"currency": "EUR"}, "wrong_currency"),
        ({"reason": "because"}, "invalid_reason"),
        ({"reason": ""}, "invalid_reason"),
    ]
    for n, (change, code) in enumerate(cases):
        values = {"amount": "20.00"} | change
        with pytest.raises(InvalidResolution) as refused:
            ask(agent, order, key=f"bad-{n}", **values)
        assert refused.value.code == code, change
    assert Resolution.objects.count() == 0
    assert AuditEntry.objects.filter(
        action="resolution.attempt_refused", actor=agent
    ).count() == len(cases)
    with pytest.raises(NotAllowed):
        ask(people["nobody"], order, key="nobody")


@pytest.mark.django_db
def test_rules_refuse_an_open_chargeback_a_shipped_cancel_and_an_over_refund(
    order, people, stripe_server
):
    from storedesk.disputes.models import Dispute

    admin = people["admin"]
    ask(admin, order, amount="90.00", key="first")
    with pytest.raises(ResolutionRefused) as over:
        ask(admin, order, amount="20.00", key="second")
    assert over.value.code == "over_refund"
    assert "10.00" in over.value.message
    with pytest.raises(ResolutionRefused):  # replaying the refused key refuses again
        ask(admin, order, amount="20.00", key="second")

    shipped = paid_order("50.00")
    ShipmentFactory(order=shipped, status="in_transit")
    with pytest.raises(ResolutionRefused) as cancel:
        ask(admin, shipped, kind="cancel", amount=None, key="cancel", reason="cancellation")
    assert cancel.value.code == "shipped"
    assert "shipped" in cancel.value.message

    disputed = paid_order("40.00")
    dispute = Dispute.objects.create(
        order=disputed,
        payment=disputed.payments.get(),
        gateway="stripe",
        provider_id="dp_1Test",
        reason="product_not_received",
        status="needs_response",
        amount=Decimal("40.00"),
        currency="USD",
        opened_at=timezone.now(),
    )
    with pytest.raises(ResolutionRefused) as chargeback:
        ask(admin, disputed, amount="10.00", key="cb")
    assert chargeback.value.code == "open_chargeback"
    assert dispute.provider_id in chargeback.value.message


@pytest.mark.django_db
def test_a_flagged_orders_refund_goes_to_a_payments_specialist(order, people, stripe_server):
    from storedesk.risk.models import OrderRisk

    OrderRisk.objects.create(order=order, status="in_review", scored_at=timezone.now(), score=80)
    lead_request = ask(people["lead"], order, amount="10.00", key="lead")
    assert lead_request.status == "pending_approval"
    assert lead_request.approval.approver_role == "payments_specialist"
    with pytest.raises(NotAllowed):
        do_approve(actor=people["lead2"], approval=lead_request.approval)
    approved = do_approve(actor=people["payments"], approval=lead_request.approval)
    assert approved.status == "done"

    alone = ask(people["payments"], order, amount="80.00", key="payments")
    assert alone.status == "done"


@pytest.mark.django_db
def test_cancel_and_refund_cancels_the_order_and_refunds_the_rest(order, people, stripe_server):
    resolution = ask(people["agent"], order, kind="cancel", amount=None, reason="cancellation")

    assert (resolution.status, resolution.amount) == ("done", Decimal("100.00"))
    order.refresh_from_db()
    assert order.cancelled_at is not None
    assert order.financial_status == "refunded"
    with pytest.raises(ResolutionRefused) as again:
        ask(people["agent"], order, kind="cancel", amount=None, key="k2", reason="cancellation")
    assert again.value.code == "already_cancelled"


@pytest.mark.django_db
def test_reship_coupon_and_store_credit_on_the_demo_store(people):
    from storedesk.commerce.models import Store

    order = paid_order("100.00")
    Store.objects.filter(pk=order.store_id).update(is_demo=True)
    order.refresh_from_db()

    reship = ask(people["agent"], order, kind="reship", amount=None, key="r", reason="not_received")
    coupon = ask(people["agent"], order, kind="coupon", amount="15.00", key="c", reason="late")
    refund = ask(people["agent"], order, amount="10.00", key="f")

    assert reship.status == coupon.status == refund.status == "done"
    assert reship.cost == Decimal("35.00") + Decimal("7.50")  # goods at 35% + postage
    assert coupon.platform_reference.startswith("SORRY-")
    assert coupon.cost == Decimal("9.00")
    assert refund.gateway == "demo"
    assert refund.gateway_reference.startswith("demo_re_")
    second = ask(people["agent"], order, kind="reship", amount=None, key="r2", reason="damaged")
    assert second.status == "pending_approval"  # agents reship once per order
