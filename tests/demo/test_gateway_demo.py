"""The gateway-health part of the demo: cases from a Stripe event and a PayPal e-mail through
their real handlers, and a current month whose projected dispute ratio warns."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from storedesk.demo.loader import demo_store
from storedesk.desk.models import Message
from storedesk.gateways.models import AccountHealthCase
from storedesk.gateways.ratios import month_ratios

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_payout_hold_a_paypal_limitation_and_a_ratio_warning():
    call_command("demo", "--orders", "1500", "--months", "1", stdout=StringIO())

    store = demo_store()
    cases = {(c.gateway, c.kind): c for c in AccountHealthCase.objects.filter(store=store)}
    hold = cases[("stripe", AccountHealthCase.Kind.PAYOUT_HOLD)]
    assert hold.provider_ref == "acct_1DemoJewelry"
    assert "company.tax_id" in hold.required_documents
    assert ("stripe", AccountHealthCase.Kind.FAILED_PAYOUT) in cases
    limitation = cases[("paypal", AccountHealthCase.Kind.LIMITATION)]
    mail = Message.objects.get(pk=limitation.events.first().data["message_id"])
    assert mail.from_email == "service@paypal.com"
    assert limitation.title == "Your account access has been limited"

    now = timezone.now()
    ratios = month_ratios(store, now.date().replace(day=1), now=now)
    assert any(
        row.gateway == "stripe" and row.network == "visa" and program.program == "vamp"
        for row, program in ratios.warnings
    )

    call_command("demo", "--orders", "1500", "--months", "1", "--reset", stdout=StringIO())
    assert AccountHealthCase.objects.filter(store=demo_store()).count() == len(cases)
