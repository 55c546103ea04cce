"""The gateway-health part of the demo, fed through the same paths as live data: a Stripe
payout that failed and an account whose payouts Stripe paused (`payout.failed` and
`account.updated` events through the Stripe event handler), a PayPal limitation notice in the
desk's mail (recognised by the mail handler, which opens the case), and the current month's
chargebacks pushed over Visa's early warning, so the ratio page and the digest warn.
"""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from storedesk.commerce.ingest import DisputeIn
from storedesk.commerce.models import Payment
from storedesk.core.models import DomainEvent
from storedesk.demo.scenarios import DemoContext, Scenario, scenario
from storedesk.desk.mail_in import do_ingest_email
from storedesk.desk.models import TicketEvent
from storedesk.disputes.services import do_ingest_disputes
from storedesk.gateways.handlers import open_case_from_gateway_email
from storedesk.gateways.models import AccountHealthCase, AccountHealthEvent
from storedesk.gateways.ratios import month_ratios
from storedesk.integrations.stripe.events import process_event

ACTOR = "demo"
ACCOUNT_ID = "acct_1DemoJewelry"
# The share of the month's Visa card payments disputed so far: over VAMP's early warning.
DEMO_DISPUTE_SHARE = "0.012"


def _stripe_events(ctx: DemoContext) -> list[dict]:
    """Two events shaped as Stripe sends them (API objects `payout` and `account`)."""
    failed_at = ctx.now - timedelta(days=2, hours=3)
    paused_at = ctx.now - timedelta(days=1, hours=5)
    payout = {
        "id": "po_1DemoFailedPayout",
        "object": "payout",
        "amount": 1_842_50,
        "currency": "usd",
        "arrival_date": int((failed_at + timedelta(days=2)).timestamp()),
        "created": int(failed_at.timestamp()),
        "destination": "ba_1DemoBankAccount",
        "failure_code": "account_closed",
        "failure_message": "The bank account has been closed.",
        "livemode": False,
        "method": "standard",
        "status": "failed",
        "type": "bank_account",
    }
    account = {
        "id": ACCOUNT_ID,
        "object": "account",
        "charges_enabled": True,
        "payouts_enabled": False,
        "requirements": {
            "current_deadline": int((ctx.now + timedelta(days=6)).timestamp()),
            "currently_due": ["company.tax_id", "external_account"],
            "past_due": [],
            "eventually_due": [],
            "disabled_reason": "requirements.past_due",
            "errors": [],
            "pending_verification": [],
        },
    }
    return [
        {
            "id": "evt_1DemoPayoutFailed",
            "object": "event",
            "type": "payout.failed",
            "created": int(failed_at.timestamp()),
            "data": {"object": payout},
        },
        {
            "id": "evt_1DemoAccountUpdated",
            "object": "event",
            "type": "account.updated",
            "created": int(paused_at.timestamp()),
            "data": {"object": account, "previous_attributes": {"payouts_enabled": True}},
        },
    ]


def _paypal_limitation_mail(ctx: DemoContext) -> bytes:
    mail = EmailMessage()
    mail["From"] = "PayPal <service@paypal.com>"
    mail["To"] = "support@" + (ctx.store.domain or "store.example")
    mail["Subject"] = "Your account access has been limited"
    # At the demo's end: written after the conversations, it is the desk's newest ticket.
    mail["Date"] = format_datetime(ctx.now.replace(microsecond=0))
    mail["Message-ID"] = make_msgid(idstring="demo-limitation", domain="paypal.com")
    mail.set_content(
        "Hello,\n\n"
        "We noticed a change in your selling activity and need more information about your "
        "business. Until then you can receive payments but not withdraw or send money.\n\n"
        "Please upload by the date shown in the Resolution Center:\n"
        "- proof of delivery for your 10 most recent orders\n"
        "- a recent supplier invoice\n\n"
        "Sincerely,\nPayPal\n"
    )
    return mail.as_bytes()


def _push_ratio(ctx: DemoContext) -> int:
    """Chargebacks on this month's Stripe Visa payments until their share reaches
    DEMO_DISPUTE_SHARE, opened on the days gone by, through the disputes ingest."""
    from decimal import Decimal

    month = ctx.now.date().replace(day=1)
    current = month_ratios(ctx.store, month, now=ctx.now)
    row = next(
        (r for r in current.rows if (r.gateway, r.network) == ("stripe", "visa")),
        None,
    )
    if row is None or not row.transactions:
        return 0
    wanted = int(Decimal(row.transactions) * Decimal(DEMO_DISPUTE_SHARE)) + 1 - row.disputes
    if wanted <= 0:
        return 0
    free = list(
        Payment.objects.filter(
            store=ctx.store,
            gateway="stripe",
            card_brand="visa",
            method=Payment.Method.CARD,
            status=Payment.Status.SUCCEEDED,
            created_at__lt=ctx.now - timedelta(days=1),
        )
        .exclude(disputes__isnull=False)
        .order_by("-created_at")
        .values_list("provider_id", "amount", "created_at")[:wanted]
    )
    month_start = _month_start(ctx)
    disputes = [
        DisputeIn(
            gateway="stripe",
            provider_id=f"dp_1DemoRatio{n:05d}",
            payment_provider_id=charge,
            reason="fraudulent" if n % 3 == 0 else "product_not_received",
            network_reason_code="10.4" if n % 3 == 0 else "13.1",
            status="needs_response",
            amount=amount,
            currency="USD",
            opened_at=max(created + timedelta(days=1), month_start),
            evidence_due_by=ctx.now + timedelta(days=7 + n % 10),
        )
        for n, (charge, amount, created) in enumerate(free)
    ]
    return do_ingest_disputes(disputes, actor=ACTOR, dispatch_events=False).created


def _month_start(ctx: DemoContext):
    from storedesk.gateways.ratios import month_bounds

    return month_bounds(ctx.now.date().replace(day=1), ctx.store.timezone)[0]


@scenario("gateway_health", order=130)
class GatewayHealthScenario(Scenario):
    """Account-health cases from a Stripe event and a PayPal e-mail; a month over the ratio."""

    def finish(self, ctx: DemoContext) -> None:
        for event in _stripe_events(ctx):
            process_event(event, actor=ACTOR)
        result = do_ingest_email(_paypal_limitation_mail(ctx), source="demo")
        message = getattr(result, "message", None)
        if message is not None:
            # The timeline's "created" entry is stamped when it is written; the mail came then.
            TicketEvent.objects.filter(ticket_id=message.ticket_id, kind="created").update(
                created_at=message.created_at
            )
            # What the outbox does when it delivers `message_received` (idempotent per ticket).
            event = DomainEvent(name="message_received", payload={"message_id": message.pk})
            open_case_from_gateway_email(event)
        ctx.count("account_cases", AccountHealthCase.objects.filter(store=ctx.store).count())
        ctx.count("ratio_disputes", _push_ratio(ctx))

    def reset(self, store) -> None:
        for queryset in (
            AccountHealthEvent.objects.filter(case__store=store),
            AccountHealthCase.objects.filter(store=store),
        ):
            queryset._raw_delete(queryset.db)
