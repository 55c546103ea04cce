from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from storedesk.accounts.models import Team, User
from storedesk.commerce.models import Customer, Order, Payment, Policy, Shipment
from storedesk.demo.builtin import FRAUD_PATTERNS, PAYPAL_DISPUTE_REASONS, STRIPE_DISPUTE_REASONS
from storedesk.demo.data import PAYPAL_REASONS
from storedesk.demo.digest import demo_digest
from storedesk.demo.loader import demo_store
from storedesk.demo.models import GroundTruth
from storedesk.disputes.models import Dispute

pytestmark = pytest.mark.django_db
SMALL = ["--orders", "1500", "--end", "2026-06-30"]


def _demo(*args) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--orders", "0"], "--orders must be between 1 and 5,000,000"),
        (["--orders", "-5"], "--orders must be between 1 and 5,000,000"),
        (["--orders", "5000001"], "--orders must be between 1 and 5,000,000"),
        (["--orders", "many"], "--orders must be a whole number"),
        (["--months", "0"], "--months must be between 1 and 60"),
        (["--months", "61"], "--months must be between 1 and 60"),
        (["--end", "2026-02-30"], "--end must be a date as YYYY-MM-DD"),
        (["--end", "yesterday"], "--end must be a date as YYYY-MM-DD"),
    ],
)
def test_nonsense_arguments_are_refused(args, message):
    with pytest.raises(CommandError, match=message):
        _demo(*args)
    assert not Order.objects.exists()


def test_the_demo_shows_every_pattern_the_desk_must_handle():
    out = _demo(*SMALL)

    store = demo_store()
    assert Order.objects.filter(store=store).count() == 1500
    truth = GroundTruth.objects.filter(order__store=store)
    assert truth.count() == 1500
    assert set(FRAUD_PATTERNS) <= set(truth.values_list("fraud_pattern", flat=True))
    assert truth.filter(parcel_lost=True).exists()
    assert truth.filter(delivered_not_received=True).exists()
    assert truth.filter(friendly_fraud=True).exists()
    stripe = set(Dispute.objects.filter(gateway="stripe").values_list("reason", flat=True))
    paypal = set(Dispute.objects.filter(gateway="paypal").values_list("reason", flat=True))
    assert set(STRIPE_DISPUTE_REASONS) <= stripe
    assert {PAYPAL_REASONS[reason] for reason in PAYPAL_DISPUTE_REASONS} <= paypal
    assert Dispute.objects.filter(
        network_reason_code__in=["10.4", "4837", "F29", "UA02"], reason="fraudulent"
    ).exists()
    assert Payment.objects.filter(outcome_type="issuer_declined").count() >= 8
    assert set(Shipment.objects.values_list("carrier", flat=True)) == {
        "USPS",
        "UPS",
        "DHL Express",
        "FedEx",
    }
    assert Customer.objects.filter(is_vip=True, orders_count__gte=2).exists()
    assert Customer.objects.filter(orders_count__gte=2).count() > 50
    gateways = dict(
        Payment.objects.filter(status="succeeded")
        .values_list("gateway")
        .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("pk"))
    )
    assert 0.5 < gateways["stripe"] / (gateways["stripe"] + gateways["paypal"]) < 0.7
    assert Policy.objects.filter(kind="returns").count() == 2
    assert set(User.objects.values_list("username", flat=True)) >= {
        "agent",
        "lead",
        "payments",
        "admin",
    }
    # The departments a fresh install has (triage migration), the demo adds none of its own.
    departments = {"Care", "Payments", "Fulfillment", "Product quality"}
    assert set(Team.objects.values_list("name", flat=True)) == departments
    assert "http://127.0.0.1:8000/   agent      storedesk-demo   Agent" in out


def test_the_same_seed_gives_the_same_store_and_another_seed_another():
    _demo(*SMALL, "--seed", "7")
    first = demo_digest(demo_store())

    _demo(*SMALL, "--seed", "7", "--reset")
    second = demo_digest(demo_store())
    _demo(*SMALL, "--seed", "8", "--reset")
    other = demo_digest(demo_store())

    assert first == second
    assert other != first
    assert Order.objects.count() == 1500


def test_an_existing_store_is_kept_unless_reset_is_asked():
    _demo("--orders", "50", "--end", "2026-06-30")

    with pytest.raises(CommandError, match="use --reset"):
        _demo("--orders", "50", "--end", "2026-06-30")
    out = _demo("--if-empty")

    assert "not loading the demo" in out
    assert "storedesk-demo" in out
    assert Order.objects.count() == 50
