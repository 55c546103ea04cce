from datetime import UTC, datetime
from decimal import Decimal

import pytest

from storedesk.commerce.services import do_ingest_orders
from storedesk.disputes.models import Dispute
from storedesk.disputes.services import do_ingest_disputes
from storedesk.integrations.stripe.mappers import charge_to_payment, dispute_to_dispute
from tests.shared_data import shared_json

DJ_STRIPE = "fixtures/stripe/dj-stripe"


def test_a_real_charge_maps_card_checks_and_radar_outcome():
    charge = shared_json(f"{DJ_STRIPE}/charge_ch_fakefakefakefakefake0001.json")

    payment = charge_to_payment(charge)

    assert (payment.gateway, payment.provider_id, payment.provider_intent_id) == (
        "stripe",
        "ch_fakefakefakefakefake0001",
        "pi_fakefakefakefakefake0001",
    )
    assert (payment.amount, payment.currency, payment.status, payment.captured) == (
        Decimal("20.00"),
        "USD",
        "succeeded",
        True,
    )
    assert payment.created_at == datetime(2019, 5, 16, 8, 26, 17, tzinfo=UTC)
    assert (
        payment.card_brand,
        payment.card_last4,
        payment.card_country,
        payment.card_fingerprint,
        payment.card_funding,
    ) == ("visa", "4242", "US", "88PuXw9tEmvYe69o", "credit")
    assert (payment.avs_line1_check, payment.avs_postal_check, payment.cvc_check) == ("", "", "")
    assert (
        payment.network_status,
        payment.outcome_type,
        payment.risk_level,
        payment.risk_score,
    ) == ("approved_by_network", "authorized", "normal", 2)
    assert payment.three_d_secure_result == ""
    assert payment.card_wallet == ""


def test_the_api_reference_charge_maps_wallet_cvc_and_missing_risk():
    charge = shared_json("fixtures/stripe/fixtures3.json")["resources"]["charge"]

    payment = charge_to_payment(charge)

    assert (payment.amount, payment.cvc_check, payment.card_wallet) == (
        Decimal("1.00"),
        "pass",
        "link",
    )
    assert payment.risk_score is None
    assert payment.risk_level == ""


def test_a_real_dispute_maps_reason_status_and_deadline():
    dispute = shared_json(f"{DJ_STRIPE}/dispute_dp_fakefakefakefake01.json")

    dispute_in = dispute_to_dispute(dispute)

    assert (
        dispute_in.provider_id,
        dispute_in.payment_provider_id,
        dispute_in.reason,
        dispute_in.status,
        dispute_in.kind,
    ) == (
        "dp_1JAyTwJSZQVUcJYgPqasUEn1",
        "ch_fakefakefakefakefake0001",
        "fraudulent",
        "needs_response",
        "chargeback",
    )
    assert dispute_in.amount == Decimal("10.00")
    assert dispute_in.evidence_due_by == datetime(2021, 7, 17, 23, 59, 59, tzinfo=UTC)


def test_an_inquiry_carries_the_network_reason_code():
    dispute = shared_json("fixtures/stripe/fixtures3.json")["resources"]["dispute"]

    dispute_in = dispute_to_dispute(dispute)

    assert (dispute_in.kind, dispute_in.status, dispute_in.network_reason_code) == (
        "inquiry",
        "warning_needs_response",
        "10.4",
    )


@pytest.mark.django_db
def test_a_mapped_charge_and_dispute_go_through_the_services():
    from tests.commerce.builders import order_in
    from tests.factories import StoreFactory

    charge = charge_to_payment(shared_json(f"{DJ_STRIPE}/charge_ch_fakefakefakefakefake0001.json"))
    base = order_in(1)
    order = base.__class__(
        **{
            **{name: getattr(base, name) for name in base.__dataclass_fields__},
            "payments": (charge,),
        }
    )
    do_ingest_orders(StoreFactory(), [order])

    do_ingest_disputes(
        [dispute_to_dispute(shared_json(f"{DJ_STRIPE}/dispute_dp_funds_reinstated_full.json"))]
    )

    dispute = Dispute.objects.get()
    assert (dispute.payment.provider_id, dispute.status) == (
        "ch_fakefakefakefakefake0001",
        "under_review",
    )
