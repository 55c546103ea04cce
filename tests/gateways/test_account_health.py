"""Account-health cases: from Stripe's events (through the real webhook receiver), from the
gateways' e-mails, and worked by a person (owner, resolve)."""

import copy
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from storedesk.audit.models import AuditEntry
from storedesk.gateways.handlers import open_case_from_gateway_email
from storedesk.gateways.models import AccountHealthCase
from storedesk.gateways.services import (
    CaseIn,
    CaseRefused,
    do_assign_case,
    do_open_case,
    do_resolve_case,
    recognise_gateway_email,
)
from tests.desk.builders import make_ticket
from tests.factories import StoreFactory, UserFactory
from tests.integrations.test_stripe_webhooks import event
from tests.shared_data import shared_json

pytestmark = pytest.mark.django_db
Kind = AccountHealthCase.Kind
T1 = 1_767_312_000  # 2026-01-02 00:00 UTC


@pytest.fixture
def store():
    return StoreFactory()


def _resources() -> dict:
    return shared_json("fixtures/stripe/fixtures3.json")["resources"]


def failed_payout() -> dict:
    payout = copy.deepcopy(_resources()["payout"])
    payout |= {
        "status": "failed",
        "failure_code": "account_closed",
        "failure_message": "The bank account has been closed.",
    }
    return payout


def account(**changes) -> dict:
    return copy.deepcopy(_resources()["account"]) | changes


def test_a_failed_payout_opens_one_case_however_often_it_is_sent(store, deliver):
    sent = event("payout.failed", failed_payout(), "evt_payout_failed_1")
    assert deliver(sent).status_code == 200
    assert deliver(sent).json()["duplicate"] is True
    deliver(event("payout.failed", failed_payout(), "evt_payout_failed_2", created=T1))

    case = AccountHealthCase.objects.get()
    assert (case.kind, case.gateway, case.provider_ref, case.status) == (
        Kind.FAILED_PAYOUT,
        "stripe",
        "po_1Pgc79B7WZ01zgkWu1KToYf4",
        "open",
    )
    assert (case.amount, case.currency) == (Decimal("11.00"), "USD")  # 1100 minor units
    assert "The bank account has been closed." in case.title
    assert case.store == store
    assert [e.text for e in case.events.all()] == [f"Opened: {case.title}"]


def test_an_account_with_requirements_opens_a_review_and_a_payout_hold(store, deliver):
    """Stripe's example account: payouts disabled, requirements past due."""
    deadline = 1_767_830_400  # 2026-01-08
    requirements = account()["requirements"] | {
        "current_deadline": deadline,
        "past_due": ["external_account"],
    }
    deliver(event("account.updated", account(requirements=requirements), "evt_acct_1"))

    cases = {c.kind: c for c in AccountHealthCase.objects.all()}
    assert set(cases) == {Kind.PAYOUT_HOLD, Kind.ACCOUNT_REVIEW}
    review = cases[Kind.ACCOUNT_REVIEW]
    assert review.deadline == datetime(2026, 1, 8, tzinfo=UTC)
    assert review.required_documents[0] == "external_account"  # past due first
    assert "business_profile.url" in review.required_documents
    assert "requirements.past_due" in review.title

    # Fewer requirements: the same cases, updated, with a line on each timeline.
    fewer = requirements | {"currently_due": ["tos_acceptance.date"], "past_due": []}
    deliver(event("account.updated", account(requirements=fewer), "evt_acct_2", created=T1))
    review.refresh_from_db()
    assert review.required_documents == ["tos_acceptance.date"]
    assert AccountHealthCase.objects.count() == 2

    # In good standing: both resolved.
    clear = {**fewer, "currently_due": [], "past_due": [], "disabled_reason": None}
    good = account(requirements=clear, payouts_enabled=True, charges_enabled=True)
    deliver(event("account.updated", good, "evt_acct_3", created=T1 + 60))
    assert set(AccountHealthCase.objects.values_list("status", flat=True)) == {"resolved"}
    assert review.events.count() == 3


def test_owner_and_resolve_are_audited_and_repeatable(store):
    case_in = CaseIn(
        gateway="paypal",
        kind=Kind.RESERVE,
        provider_ref="PP-notice-1",
        title="PayPal holds a 10% rolling reserve",
        happened_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    case = do_open_case(store, case_in, actor="paypal").case
    specialist = UserFactory(username="pat")

    do_assign_case(case.pk, specialist, actor=specialist)
    do_assign_case(case.pk, specialist, actor=specialist)  # no change, no second entry
    do_resolve_case(case.pk, actor=specialist, note="reserve released")
    do_resolve_case(case.pk, actor=specialist)

    case.refresh_from_db()
    assert (case.owner, case.status) == (specialist, "resolved")
    actions = list(
        AuditEntry.objects.filter(
            object_id=str(case.pk), action__startswith="account_case"
        ).values_list("action", flat=True)
    )
    assert sorted(actions) == [
        "account_case.assigned",
        "account_case.opened",
        "account_case.resolved",
    ]
    # Resolved: the same notice again opens a new case.
    assert do_open_case(store, case_in, actor="paypal").created is True


def test_a_case_needs_a_known_kind_and_a_reference(store):
    base = CaseIn("stripe", Kind.RESERVE, "ref", "t", datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(CaseRefused):
        do_open_case(store, CaseIn(**{**vars(base), "kind": "vacation"}))
    with pytest.raises(CaseRefused):
        do_open_case(store, CaseIn(**{**vars(base), "provider_ref": ""}))


@pytest.mark.parametrize(
    ("sender", "subject", "expected"),
    [
        ("service@paypal.com", "Your account access has been limited", ("paypal", Kind.LIMITATION)),
        ("notifications@stripe.com", "Your payouts have been paused", ("stripe", Kind.PAYOUT_HOLD)),
        ("service@intl.paypal.com", "We're holding a reserve", ("paypal", Kind.RESERVE)),
        (
            "support@stripe.com",
            "Action required: verify your business",
            ("stripe", "account_review"),
        ),
        ("no-reply@shopify.com", "Your payout failed", ("shopify_payments", Kind.FAILED_PAYOUT)),
        ("emma@mail.example", "PayPal limited my account?", None),  # a customer, not PayPal
        ("service@paypal.com.evil.example", "Your account has been limited", None),
        ("service@paypal.com", "You've got money", None),
    ],
)
def test_gateway_emails_are_recognised_by_sender_and_subject(sender, subject, expected):
    assert recognise_gateway_email(sender, subject) == expected


def test_a_paypal_limitation_email_in_the_desk_opens_a_case(store):
    ticket = make_ticket(requester="service@paypal.com", subject="Your account has been limited")
    ticket.store = store
    ticket.save(update_fields=["store"])
    message = ticket.messages.get()
    received = SimpleNamespace(payload={"ticket_id": ticket.pk, "message_id": message.pk})

    open_case_from_gateway_email(received)
    open_case_from_gateway_email(received)  # the outbox may hand it over twice

    case = AccountHealthCase.objects.get()
    assert (case.gateway, case.kind, case.provider_ref) == (
        "paypal",
        Kind.LIMITATION,
        f"ticket:{ticket.pk}",
    )
