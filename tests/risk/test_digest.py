"""The daily payment digest: exact figures on a crafted store day, its drill-down lists, and
the email sent once per person and day."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.core.management import CommandError, call_command

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.commerce.models import Order, Payment, Refund
from storedesk.core.scheduler import registered_jobs
from storedesk.disputes.models import Dispute, EarlyFraudWarning
from storedesk.risk import digest as digest_module
from storedesk.risk.digest import (
    DigestDayError,
    DigestFilterError,
    Trend,
    build_digest,
    digest_orders,
    parse_day,
)
from storedesk.risk.digest_email import do_send_digest, due_day, recipients, render_digest
from storedesk.risk.models import DigestDelivery, OrderRisk, RiskDecision, RiskRule
from storedesk.risk.reference import GeoIp
from storedesk.risk.tasks import check_digest_time, send_daily_digest
from tests.factories import StoreFactory
from tests.risk.digest_data import DAY, Shop, at, quiet_history

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def store():
    return StoreFactory(timezone="America/New_York")


def _risk(order, action, *, status="clear", held=False, reasons=(), rule=None):
    return OrderRisk.objects.create(
        order=order,
        action=action,
        status=status,
        fulfillment_held=held,
        score_reasons=list(reasons),
        decided_by_rule=rule,
        scored_at=order.created_at,
    )


def _refund(order, amount, reason, status, when, currency="USD"):
    return Refund.objects.create(
        order=order,
        amount=Decimal(amount),
        currency=currency,
        reason=reason,
        status=status,
        idempotency_key=f"refund-{order.pk}-{amount}-{status}-{when:%H%M}",
        created_at=when,
    )


def _dispute(order, reason, when, amount="100.00"):
    return Dispute.objects.create(
        order=order,
        payment=order.payments.filter(status="succeeded").first() or order.payments.first(),
        gateway="stripe",
        provider_id=f"dp_{order.pk}_{reason}_{when:%d%H%M}",
        reason=reason,
        status="needs_response",
        amount=Decimal(amount),
        currency="USD",
        opened_at=when,
    )


def _decide(order_risk, kind, when):
    return RiskDecision.objects.create(
        order_risk=order_risk, kind=kind, stage="done", created_at=when
    )


CVC = {"signal": "cvc_check", "points": 20, "reason": "CVC check failed", "value": "fail"}
DISPOSABLE = {"signal": "is_disposable_email", "points": 20, "reason": "disposable email"}
LOYAL = {"signal": "customer_orders_count", "points": -20, "reason": "returning customer"}


def _warning(provider_id, order, when):
    return EarlyFraudWarning.objects.create(
        provider_id=provider_id,
        charge_provider_id=f"ch_{provider_id}",
        order=order,
        fraud_type="made_with_stolen_card",
        actionable=True,
        warned_at=when,
        recorded_at=when,
    )


@pytest.fixture
def day(store):
    """Four quiet weeks (12 orders of 80.00 a day, a declined card every other day), then
    DAY with four orders, risk flags, decisions, refunds and disputes."""
    shop = Shop(store)
    quiet_history(shop)
    first = shop.order(at(DAY, 10), total=Decimal("100.00"), declines=2, ip="45.77.1.2")
    second = shop.order(at(DAY, 11), total=Decimal("50.00"), gateway=Payment.Gateway.PAYPAL)
    third = shop.order(at(DAY, 12), total=Decimal("40.00"), currency="EUR")
    late = shop.order(at(DAY, 23, 30), total=Decimal("30.00"))  # 03:30 UTC the next day
    shop.order(at(DAY + timedelta(days=1), 0, 30), total=Decimal("999.00"))  # the next day
    orders = shop.save()
    history = Order.objects.filter(store=store, created_at__lt=at(DAY, 0)).order_by("created_at")
    old_one, old_two = history[0], history[1]
    rule_a = RiskRule.objects.create(name="Failed CVC", source="review if x", action="review")
    rule_b = RiskRule.objects.create(name="Disposable", source="hold if y", action="review")
    in_review = _risk(
        orders[first], "review", status="in_review", reasons=[CVC, LOYAL], rule=rule_a
    )
    _risk(orders[second], "hold_fulfillment", held=True, reasons=[CVC, DISPOSABLE], rule=rule_b)
    _risk(orders[third], "allow")
    approved = _risk(old_one, "review", status="approved")
    cancelled = _risk(old_two, "review", status="cancelled")
    _decide(approved, RiskDecision.Kind.APPROVE, at(DAY, 9))
    _decide(cancelled, RiskDecision.Kind.CANCEL, at(DAY, 9, 30))
    _decide(in_review, RiskDecision.Kind.CONTACT, at(DAY, 10, 30))
    _decide(in_review, RiskDecision.Kind.NOTE, at(DAY, 10, 40))
    _decide(approved, RiskDecision.Kind.STAGE, at(DAY - timedelta(days=2), 9))
    _decide(approved, RiskDecision.Kind.APPROVE, at(DAY - timedelta(days=2), 10))
    _refund(orders[first], "20.00", "wrong_size", "succeeded", at(DAY, 13))
    _refund(orders[first], "15.00", "wrong_size", "pending", at(DAY, 14))
    _refund(orders[first], "12.00", "damaged", "failed", at(DAY, 15))
    _refund(orders[third], "10.00", "damaged", "succeeded", at(DAY, 16), currency="EUR")
    _refund(old_one, "80.00", "not_received", "succeeded", at(DAY - timedelta(days=3), 9))
    _dispute(orders[first], "fraudulent", at(DAY, 8))
    _dispute(orders[late], "fraudulent", at(DAY, 22))
    _dispute(orders[second], "product_not_received", at(DAY, 9), amount="50.00")
    _dispute(old_two, "general", at(DAY - timedelta(days=5), 9))
    _warning("issfr_first", orders[first], at(DAY, 9))
    _warning("issfr_late", orders[late], at(DAY, 23))
    _warning("issfr_before", old_one, at(DAY - timedelta(days=1), 9))
    _warning("issfr_unknown_charge", None, at(DAY, 12))
    return {
        "first": orders[first],
        "second": orders[second],
        "third": orders[third],
        "late": orders[late],
        "old_one": old_one,
        "old_two": old_two,
        "rule_a": rule_a,
    }


def test_parse_day_accepts_a_past_day_and_today():
    assert parse_day("2026-03-20", date(2026, 3, 23)) == date(2026, 3, 20)
    assert parse_day(" 2026-03-23 ", date(2026, 3, 23)) == date(2026, 3, 23)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday", "“yesterday” is not a date. Use the form YYYY-MM-DD, for example 2026-03-22"),
        ("2026-02-30", "is not a date"),
        ("20260320", "is not a date"),
        ("", "is not a date"),
        ("2026-03-24", "2026-03-24 has not happened yet: today is 2026-03-23"),
        ("1999-12-31", "Digests start on 2000-01-01."),
    ],
)
def test_parse_day_refuses_with_a_clear_message(text, message):
    with pytest.raises(DigestDayError, match=message):
        parse_day(text, date(2026, 3, 23))


def test_the_day_against_its_trailing_averages(store, day):
    digest = build_digest(store, DAY, now=NOW)

    assert digest.history_days == 28
    assert digest.is_partial is False
    assert digest.orders == Trend(Decimal(4), Decimal("12.0"), Decimal("12.0"))
    assert digest.orders.change == Decimal(-67)
    assert digest.orders_usd == Trend(Decimal("180.00"), Decimal("960.00"), Decimal("960.00"))
    assert digest.orders_other_currency == 1
    assert digest.payments_count == Trend(Decimal(4), Decimal("12.0"), Decimal("12.0"))
    assert digest.payments_usd.value == Decimal("180.00")
    # a declined card on every other quiet day: 4 in the last 7 days, 14 in the last 28
    assert digest.declined == Trend(Decimal(2), Decimal("0.6"), Decimal("0.5"))


def test_payments_by_gateway_and_currency(store, day):
    digest = build_digest(store, DAY, now=NOW)

    assert [(r.key, r.currency, r.count, r.amount, r.extra) for r in digest.payments] == [
        ("paypal", "USD", 1, Decimal("50.00"), 0),
        ("stripe", "EUR", 1, Decimal("40.00"), 0),
        ("stripe", "USD", 2, Decimal("130.00"), 2),
    ]
    assert [(r.key, r.currency) for r in digest.unconverted] == [("stripe", "EUR")]
    assert any("no exchange rates are recorded" in note for note in digest.notes)


def test_risk_flags_reasons_and_rules(store, day):
    digest = build_digest(store, DAY, now=NOW)

    assert digest.scored == 3
    # the two history orders decided on DAY were flagged four weeks before
    assert digest.flagged == Trend(Decimal(2), Decimal("0.0"), Decimal("0.1"))
    assert [(r.key, r.count) for r in digest.flagged_by_action] == [
        ("review", 1),
        ("hold_fulfillment", 1),
    ]
    assert digest.held == 1
    assert digest.in_review_now == 1
    assert [(r.key, r.label, r.count) for r in digest.top_reasons] == [
        ("cvc_check", "CVC check failed", 2),
        ("is_disposable_email", "disposable email", 1),
    ]
    assert [(r.label, r.count) for r in digest.top_rules] == [("Failed CVC", 1), ("Disposable", 1)]


def test_review_decisions(store, day):
    digest = build_digest(store, DAY, now=NOW)

    assert [(r.key, r.count) for r in digest.decisions] == [
        ("approve", 1),
        ("cancel", 1),
        ("contact", 1),
        ("note", 1),
    ]
    # orders decided (approve / cancel / cancel as fraud): 2 today, 1 two days before
    assert digest.reviewed == Trend(Decimal(2), Decimal("0.1"), Decimal("0.0"))


def test_refunds_issued_by_reason(store, day):
    digest = build_digest(store, DAY, now=NOW)

    assert [(r.key, r.count, r.amount, r.currency) for r in digest.refunds] == [
        ("wrong_size", 2, Decimal("35.00"), "USD"),
        ("damaged", 1, Decimal("10.00"), "EUR"),
    ]
    assert digest.refunds_count == Trend(Decimal(3), Decimal("0.1"), Decimal("0.0"))
    assert digest.refunds_usd.value == Decimal("35.00")
    assert digest.refunds_pending == 1


def test_new_disputes_by_reason_and_the_early_fraud_warnings_of_the_day(store, day):
    digest = build_digest(store, DAY, now=NOW)

    assert [(r.key, r.label, r.count, r.amount) for r in digest.disputes] == [
        ("fraudulent", "Fraudulent", 2, Decimal("200.00")),
        ("product_not_received", "Product not received", 1, Decimal("50.00")),
    ]
    assert digest.disputes_count == Trend(Decimal(3), Decimal("0.1"), Decimal("0.0"))
    assert (digest.early_fraud_warnings, digest.early_fraud_warnings_unmatched) == (2, 1)
    assert any(
        "1 more early fraud warnings of the day are about charges not known here" in note
        for note in digest.notes
    )


def test_the_digest_anomalies_say_where_countries_come_from(store, day):
    digest = build_digest(store, DAY, now=NOW)

    assert digest.anomalies.country_dimension == "billing_country"
    assert any("No GeoIP database is configured" in note for note in digest.notes)
    assert any("no card BIN" in note for note in digest.notes)


def test_the_digest_says_why_a_named_geoip_file_gives_no_ip_countries(
    store, day, monkeypatch, tmp_path
):
    monkeypatch.setattr(digest_module, "geoip", lambda: GeoIp(str(tmp_path / "GeoLite2.mmdb")))

    digest = build_digest(store, DAY, now=NOW)

    assert digest.anomalies.country_dimension == "billing_country"
    assert any(
        "IP countries are unavailable (GEOIP_PATH names a file that does not exist)" in note
        for note in digest.notes
    )
    assert not any("No GeoIP database is configured" in note for note in digest.notes)


def test_a_day_without_activity(store, day):
    quiet = DAY + timedelta(days=2)

    digest = build_digest(store, quiet, now=NOW)

    assert digest.has_activity is False
    assert digest.orders.value == 0
    assert digest.orders.avg28 == Decimal("11.3")  # (26 quiet days × 12 + 4 + 1) / 28
    assert digest.payments == []
    assert digest.decisions == digest.refunds == digest.disputes == []
    assert digest.anomalies.anomalies == []


def test_a_store_without_history_shows_no_averages(store):
    digest = build_digest(store, DAY, now=NOW)

    assert digest.history_days == 0
    assert digest.orders == Trend(Decimal(0), None, None)
    assert digest.orders.change is None
    assert "at least 7 days" in digest.anomalies.skipped


def test_today_is_marked_partial(store, day):
    digest = build_digest(store, DAY, now=at(DAY, 15))
    assert digest.is_partial is True


def test_the_digest_costs_a_fixed_number_of_queries(store, day, django_assert_num_queries):
    # first order, orders, payments, decisions, refunds, disputes, early fraud warnings, flag
    # reasons, the anomalies' window orders and payments, and the month's network ratios
    # (card payments, chargebacks, early fraud warnings, thresholds in force), and the month's
    # care budget (its plan, its spend)
    with django_assert_num_queries(16):
        build_digest(store, DAY, now=NOW)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("orders", "", ["late", "third", "second", "first"]),
        ("paid", "paypal", ["second"]),
        ("declined", "", ["first"]),
        ("flagged", "", ["second", "first"]),
        ("action", "review", ["first"]),
        ("held", "", ["second"]),
        ("in_review", "", ["first"]),
        ("signal", "cvc_check", ["second", "first"]),
        ("signal", "customer_orders_count", []),  # negative points are not reasons to flag
        ("decision", "approve", ["old_one"]),
        ("decision", "cancel", ["old_two"]),
        ("refund", "wrong_size", ["first"]),
        ("refund", "damaged", ["third"]),  # the failed refund was not issued
        ("dispute", "fraudulent", ["late", "first"]),
    ],
)
def test_drill_down_lists_hold_what_the_figures_count(store, day, name, value, expected):
    orders, title = digest_orders(store, DAY, name, value)
    assert list(orders) == [day[key] for key in expected]
    assert title


def test_drill_down_by_rule_and_anomaly(store, day):
    orders, _ = digest_orders(store, DAY, "rule", str(day["rule_a"].pk))
    assert list(orders) == [day["first"]]
    orders, title = digest_orders(store, DAY, "anomaly", "decline_burst_ip", "45.77.1.2")
    assert list(orders) == [day["first"]]
    assert title == "Card testing: declined payments from one IP"


@pytest.mark.parametrize(
    ("name", "value", "key", "message"),
    [
        ("everything", "", "", "There is no list called “everything”."),
        ("action", "allow", "", "Choose one of the flagging actions."),
        ("rule", "one", "", "A rule is named by its number."),
        ("decision", "maybe", "", "Choose one of the review decisions."),
        ("anomaly", "planets", "x", "Name the anomaly by its kind and key."),
        ("anomaly", "ip_range", "", "Name the anomaly by its kind and key."),
    ],
)
def test_drill_down_refuses_unknown_filters(store, name, value, key, message):
    with pytest.raises(DigestFilterError, match=message):
        digest_orders(store, DAY, name, value, key)


# --- Email -----------------------------------------------------------------------------


@pytest.fixture
def team(make_user):
    return {
        "lead": make_user(Role.LEAD, username="lead", email="mai@shop.example"),
        "payments": make_user(Role.PAYMENTS, username="payments", email="hoa@shop.example"),
        "agent": make_user(Role.AGENT, username="agent", email="linh@shop.example"),
        "no_email": make_user(Role.LEAD, username="lead2", email=""),
        "gone": make_user(Role.PAYMENTS, username="gone", email="x@shop.example", is_active=False),
    }


def test_recipients_are_active_leads_and_payments_specialists_with_email(team):
    assert list(recipients()) == [team["lead"], team["payments"]]


def test_the_email_renders_in_us_english_with_text_and_html(store, day, settings):
    settings.DESK_URL = "https://desk.tinypearl.example/"
    rendered = render_digest(build_digest(store, DAY, now=NOW))

    assert rendered.subject == "Tiny Pearl Jewelry payment digest for Fri, Mar 20, 2026"
    assert "payment digest for Friday, March 20, 2026 (America/New_York)" in rendered.text
    assert "Orders: 4 · 12.0 · 12.0" in rendered.text
    assert "Paid, USD: 180.00 · 960.00 · 960.00" in rendered.text
    assert "Early fraud warnings: 2" in rendered.text
    assert "Stripe: 2 paid, 130.00 USD; 2 declined" in rendered.text
    assert "Wrong size: 2, 35.00 USD" in rendered.text
    assert "https://desk.tinypearl.example/risk/digest/?date=2026-03-20" in rendered.text
    assert "<img" not in rendered.html  # no tracking pixel, no remote image
    assert 'href="https://desk.tinypearl.example/risk/digest/orders/?date=2026-03-20' in (
        rendered.html
    )
    assert "Fraudulent" in rendered.html


def test_the_email_subject_counts_anomalies(store):
    shop = Shop(store)
    quiet_history(shop)
    shop.order(at(DAY, 14, 10), ip="45.77.51.50", declines=12)
    shop.save()

    rendered = render_digest(build_digest(store, DAY, now=NOW))

    subject = "Tiny Pearl Jewelry payment digest for Fri, Mar 20, 2026: 2 anomalies"
    assert rendered.subject == subject
    assert "1. Card testing: declined payments from one IP: 45.77.51.50 — 12 within one hour" in (
        rendered.text
    )
    assert "store time" in rendered.text


def test_the_digest_is_sent_once_per_person_and_day(store, day, team):
    first = do_send_digest(store, DAY, now=NOW)
    again = do_send_digest(store, DAY, now=NOW)

    assert first.sent == ["mai@shop.example", "hoa@shop.example"]
    assert again.sent == []
    assert again.already_sent == ["mai@shop.example", "hoa@shop.example"]
    assert [message.to for message in mail.outbox] == [["mai@shop.example"], ["hoa@shop.example"]]
    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    assert message.alternatives[0].mimetype == "text/html"
    assert "Orders: 4" in message.body
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {"sent"}
    assert AuditEntry.objects.filter(action="risk.digest_sent").count() == 2


def test_the_emailed_digest_names_dispute_reasons_only_to_the_payments_role(store, day, team):
    do_send_digest(store, DAY, now=NOW)

    by_person = {message.to[0]: message for message in mail.outbox}
    lead, payments = by_person["mai@shop.example"], by_person["hoa@shop.example"]
    assert "Fraudulent" in payments.body
    assert "Fraudulent" in payments.alternatives[0].content
    assert "Fraudulent" not in lead.body
    assert "Fraudulent" not in lead.alternatives[0].content
    assert "Dispute reasons are shown to the roles that work disputes." in lead.body
    assert "New disputes: 3" in lead.body


def test_a_failed_send_is_recorded_and_retried_once(store, day, team, monkeypatch):
    real_send = EmailMultiAlternatives.send

    def flaky(message, *args, **kwargs):
        if message.to == ["hoa@shop.example"]:
            raise ConnectionRefusedError("smtp down")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky)
    first = do_send_digest(store, DAY, now=NOW)
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    second = do_send_digest(store, DAY, now=NOW)

    assert first.sent == ["mai@shop.example"]
    assert first.failed == ["hoa@shop.example"]
    assert second.sent == ["hoa@shop.example"]
    assert second.already_sent == ["mai@shop.example"]
    assert len(mail.outbox) == 2
    delivery = DigestDelivery.objects.get(email="hoa@shop.example")
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 2, "")


def test_a_different_day_is_a_different_email(store, day, team):
    do_send_digest(store, DAY, now=NOW)
    do_send_digest(store, DAY - timedelta(days=1), now=NOW)
    assert len(mail.outbox) == 4


def test_the_due_day_follows_the_team_clock(store, settings):
    settings.TEAM_TIMEZONE = "Asia/Ho_Chi_Minh"
    settings.RISK_DIGEST_TIME = "08:00"

    before = datetime(2026, 3, 21, 0, 55, tzinfo=UTC)  # 07:55 in Hanoi
    after = datetime(2026, 3, 21, 1, 5, tzinfo=UTC)  # 08:05 in Hanoi, 21:05 in New York
    evening = datetime(2026, 3, 21, 16, 0, tzinfo=UTC)  # 23:00 in Hanoi, noon in New York

    assert due_day(store, before) is None
    # at 08:00 in Hanoi, New York is still on March 20: March 19 is the last full day
    assert due_day(store, after) == date(2026, 3, 19)
    assert due_day(store, evening) == date(2026, 3, 19)


def test_a_bad_send_time_is_a_configuration_error(settings):
    settings.RISK_DIGEST_TIME = "8 am"
    with pytest.raises(ImproperlyConfigured, match="RISK_DIGEST_TIME must be a time of day"):
        due_day(StoreFactory(), NOW)
    assert [error.id for error in check_digest_time()] == ["risk.E001"]
    settings.RISK_DIGEST_TIME = "08:00"
    assert check_digest_time() == []


def test_the_daily_task_is_scheduled_and_sends_once_when_run_twice(store, team, settings):
    settings.RISK_DIGEST_TIME = "00:00"
    assert "risk-daily-digest" in [job.name for job in registered_jobs()]

    first = send_daily_digest.enqueue()
    second = send_daily_digest.enqueue()

    assert "sent 2, already sent 0" in first.return_value
    assert "sent 0, already sent 2" in second.return_value
    assert len(mail.outbox) == 2


def test_the_task_without_a_store(db):
    assert send_daily_digest.enqueue().return_value == "no store"


def test_the_command_prints_a_day(store, day):
    out = StringIO()
    call_command("risk-digest", "--date", "2026-03-20", stdout=out, stderr=StringIO())
    assert "Orders: 4 · 12.0 · 12.0" in out.getvalue()
    assert not mail.outbox


def test_the_command_sends_once(store, day, team):
    out = StringIO()
    call_command("risk-digest", "--date", "2026-03-20", "--send", stdout=out)
    call_command("risk-digest", "--date", "2026-03-20", "--send", stdout=out)
    assert len(mail.outbox) == 2
    assert "already had it: mai@shop.example" in out.getvalue()


@pytest.mark.parametrize(
    ("date_text", "message"),
    [("tomorrow", "--date: “tomorrow” is not a date"), ("2999-01-01", "has not happened yet")],
)
def test_the_command_refuses_bad_dates(store, date_text, message):
    with pytest.raises(CommandError, match=message):
        call_command("risk-digest", "--date", date_text, stdout=StringIO())


def test_the_command_without_a_store(db):
    with pytest.raises(CommandError, match="There is no store yet"):
        call_command("risk-digest", stdout=StringIO())


def test_the_digest_warns_when_the_months_dispute_ratio_is_projected_over_the_early_warning(
    store,
):
    from tests.factories import OrderFactory
    from tests.gateways.builders import dispute, payments

    order = OrderFactory(store=store, created_at=at(date(2026, 2, 1), 12))
    payments(order, 1000, at(date(2026, 2, 10), 12), brand="mastercard")  # February's sales
    march = payments(order, 50, at(date(2026, 3, 3), 12), brand="mastercard")
    for payment in march[:8]:
        dispute(payment, at(date(2026, 3, 10), 12))

    digest = build_digest(store, DAY, now=NOW)

    ecm = next(w for w in digest.ratio_warnings if w.program == "Mastercard ECM")
    assert (ecm.gateway, ecm.network, ecm.level) == ("Stripe", "mastercard", "early_warning")
    # 8 chargebacks by the end of March 20 (New York): 479 of the month's 743 hours gone, so
    # 12.4 by the month's end, on February's 1000 transactions: over the 1 % early warning.
    assert ecm.projected_ratio == Decimal("0.0124")
    assert "8 counted so far" in ecm.reason
    for figure in ("1.24 %", "1.00 %", "1.50 %"):
        assert figure in ecm.reason
    rendered = render_digest(digest)
    assert "NETWORK RATIO WATCH" in rendered.text
    assert "Early warning: Mastercard ECM, Stripe mastercard" in rendered.text
    assert "Mastercard ECM" in rendered.html

    quiet = build_digest(store, date(2026, 2, 20), now=NOW)
    assert quiet.ratio_warnings == []
    assert "No card network ratio is projected" in render_digest(quiet).text


def test_the_digest_names_the_care_budget_lines_at_their_warning_level_or_over(store):
    from storedesk.resolutions.models import CareBudget, Kind
    from tests.factories import OrderFactory
    from tests.pages.resolution_builders import make_resolution

    CareBudget.objects.create(
        store=store,
        month=DAY.replace(day=1),
        currency="USD",
        refunds=Decimal("100"),
        coupons=Decimal("10"),
        reships=Decimal("500"),
        updated_at=NOW,
    )
    order = OrderFactory(store=store, created_at=at(date(2026, 3, 2), 12))
    done = at(date(2026, 3, 5), 12)
    make_resolution(order, cost=Decimal("90"), done_at=done)  # a partial refund: 90 %
    make_resolution(order, kind=Kind.COUPON, cost=Decimal("15"), done_at=done)  # over
    make_resolution(order, kind=Kind.RESHIP, cost=Decimal("40"), done_at=done)  # 8 %: quiet

    digest = build_digest(store, DAY, now=NOW)

    assert digest.budget_warnings == [
        "Refunds: 90.00 USD of the month's 100.00 USD spent (90%).",
        "Coupons: 15.00 USD spent, over the month's plan of 10.00 USD (150%).",
    ]
    rendered = render_digest(digest)
    assert "CARE BUDGET" in rendered.text
    assert "plan of 10.00 USD (150%)" in rendered.html
    april = build_digest(store, date(2026, 4, 20), now=datetime(2026, 4, 23, tzinfo=UTC))
    assert april.budget_warnings == []  # no plan that month: nothing to warn about
