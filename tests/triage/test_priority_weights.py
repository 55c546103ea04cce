"""Priority weights as data leads edit: versions, validation, audit, the page, the API and
re-scoring the open tickets."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.desk.models import Ticket, TicketEvent
from storedesk.desk.services import do_merge, do_set_priority
from storedesk.disputes.models import Dispute
from storedesk.disputes.services import EarlyFraudWarningIn, do_record_early_fraud_warning
from storedesk.triage.facts import facts_for
from storedesk.triage.models import PriorityWeights, TicketPriority, TicketSla
from storedesk.triage.priority import (
    DEFAULT_WEIGHTS,
    SCALAR_WEIGHTS,
    WeightsError,
    score_facts,
    validate_weights,
    weights,
)
from storedesk.triage.services import (
    do_refresh_sla,
    do_rescore_open_tickets,
    do_save_priority_weights,
    do_score_priority,
)
from tests.concurrency import run_at_once
from tests.desk.builders import make_ticket
from tests.factories import BASE_TIME, OrderFactory, PaymentFactory
from tests.triage.workflow_helpers import analyse

pytestmark = pytest.mark.django_db

URL = "/triage/priority/"


@pytest.fixture
def lead(make_user):
    return make_user(Role.LEAD, username="lead")


def refund_ticket(**fields) -> Ticket:
    ticket = make_ticket(at=BASE_TIME, **fields)
    analyse(ticket.messages.get(), "refund_request")
    return ticket


def form(**changes) -> dict:
    """The page's fields as they are shown for the built-in weights, with `changes`."""
    data = {f"intent.{key}": str(value) for key, value in DEFAULT_WEIGHTS["intent"].items()}
    data |= {f"mood.{key}": str(value) for key, value in DEFAULT_WEIGHTS["mood"].items()}
    data |= {f"threat.{key}": str(value) for key, value in DEFAULT_WEIGHTS["threat"].items()}
    data |= {
        "order_value": "500:15, 200:8",
        "lifetime_spend": "2000:10, 1000:5",
        "levels.urgent": "70",
        "levels.high": "40",
        "levels.normal": "10",
    }
    for name in SCALAR_WEIGHTS:
        data[name] = str(DEFAULT_WEIGHTS[name])
    return data | changes


# --- the service ---------------------------------------------------------------------------


def test_a_saved_version_changes_the_score_of_newly_scored_tickets(lead):
    before = do_score_priority(refund_ticket(), now=BASE_TIME)
    assert {"reason": "intent: refund_request", "points": 10} in before.reasons

    saved = do_save_priority_weights(
        DEFAULT_WEIGHTS | {"intent": {"refund_request": 60}}, actor=lead, note="refunds first"
    )

    assert saved.version == 1
    after = do_score_priority(refund_ticket(requester="other@mail.example"), now=BASE_TIME)
    assert {"reason": "intent: refund_request", "points": 60} in after.reasons
    assert after.score == before.score + 50
    stored = TicketPriority.objects.get(ticket__requester_email="other@mail.example")
    assert stored.weights_version == 1


def test_each_save_is_a_version_with_who_and_an_audit_entry_of_what_changed(lead):
    first = do_save_priority_weights(DEFAULT_WEIGHTS | {"vip": 30}, actor=lead)
    second = do_save_priority_weights(DEFAULT_WEIGHTS | {"vip": 30, "anger": 0}, actor=lead)

    assert [first.version, second.version] == [1, 2]
    assert second.changed_by == lead
    assert weights()["vip"] == 30
    assert weights()["anger"] == 0
    entries = AuditEntry.objects.filter(action="triage.priority_weights_saved").order_by("pk")
    assert [entry.changes["changed"] for entry in entries] == [
        {"vip": [15, 30]},
        {"anger": [10, 0]},
    ]
    assert entries[1].actor == lead


def test_an_unchanged_set_writes_no_version(lead):
    saved = do_save_priority_weights(DEFAULT_WEIGHTS | {"vip": 30}, actor=lead)
    again = do_save_priority_weights(DEFAULT_WEIGHTS | {"vip": 30}, actor=lead)
    assert again == saved
    assert PriorityWeights.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_saves_each_become_a_version(lead):
    """Four leads saving at once before any version exists: versions 1 to 4, no error."""
    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks and concurrent connections (PostgreSQL)")

    def save(vip: int):
        return lambda: do_save_priority_weights(DEFAULT_WEIGHTS | {"vip": vip}, actor=lead)

    outcomes = run_at_once(*[save(vip) for vip in (20, 25, 30, 35)])

    assert not [o for o in outcomes if isinstance(o, Exception)]
    versions = PriorityWeights.objects.order_by("version")
    assert [v.version for v in versions] == [1, 2, 3, 4]
    assert sorted(v.weights["vip"] for v in versions) == [20, 25, 30, 35]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"vip": 500}, "vip", "vip must be between -100 and 100; 500 is out of range."),
        ({"vip": "lots"}, "vip", "vip must be a number, not “lots”."),
        ({"anger": 2.5}, "anger", "anger must be a whole number."),
        ({"intent": {"gossip": 5}}, "intent.gossip", "intent: “gossip” is not one of"),
        ({"order_value": [[500, 15], [500, 8]]}, "order_value", "the threshold 500 appears twice"),
        ({"levels": {"urgent": 30, "high": 40, "normal": 10}}, "levels", "must fall"),
        ({"speed": 3}, "speed", "Unknown weight: speed."),
        ({"age_points_per_hour": "NaN"}, "age_points_per_hour", "must be a number"),
    ],
)
def test_a_wrong_weight_is_refused_with_its_field_and_nothing_is_saved(
    lead, change, field, message
):
    with pytest.raises(WeightsError) as refused:
        do_save_priority_weights(DEFAULT_WEIGHTS | change, actor=lead)
    assert refused.value.field == field
    assert message in refused.value.messages[0]
    assert PriorityWeights.objects.count() == 0
    assert not AuditEntry.objects.filter(action="triage.priority_weights_saved").exists()


def test_validation_keeps_the_stored_form_and_sorts_bands():
    checked = validate_weights({"order_value": [[200, 8], [900, 20]]})
    assert checked["order_value"] == [[900, 20], [200, 8]]
    assert checked["age_points_per_hour"] == "0.5"
    assert checked["levels"] == [[70, 4], [40, 3], [10, 2], [-1000, 1]]
    assert score_facts({"order_value": Decimal(950)}, checked).score == 20


# --- dispute risk --------------------------------------------------------------------------


def test_dispute_risk_counts_only_an_open_dispute_on_the_tickets_order():
    order = _disputed_order()
    ticket = refund_ticket()
    ticket.orders.add(order)
    assert facts_for(ticket, now=BASE_TIME)["open_dispute"] is True
    assert {"reason": "open dispute on the order", "points": 40} in do_score_priority(
        ticket, now=BASE_TIME
    ).reasons
    Dispute.objects.filter(order=order).update(status="won")  # closed without a date
    assert facts_for(ticket, now=BASE_TIME)["open_dispute"] is False
    assert facts_for(ticket, now=BASE_TIME)["early_fraud_warning"] is False


def _disputed_order():
    order = OrderFactory(total_price=Decimal("80.00"))
    payment = PaymentFactory(order=order)
    Dispute.objects.create(
        order=order,
        payment=payment,
        gateway=payment.gateway,
        provider_id="dp_1",
        reason="fraudulent",
        status="needs_response",
        amount=order.total_price,
        currency="USD",
        opened_at=BASE_TIME,
    )
    return order


def test_merging_in_a_ticket_about_a_disputed_order_rescores_the_survivor(
    agent, django_capture_on_commit_callbacks
):
    survivor = refund_ticket()
    before = do_score_priority(survivor, now=BASE_TIME)
    about_dispute = make_ticket(requester="emma@mail.example", subject="Chargeback")
    about_dispute.orders.add(_disputed_order())

    with django_capture_on_commit_callbacks(execute=True):
        do_merge(about_dispute, survivor, actor=agent)

    dispute_risk = {"reason": "open dispute on the order", "points": 40}
    assert dispute_risk not in before.reasons
    after = TicketPriority.objects.get(ticket=survivor)
    assert dispute_risk in after.reasons
    assert after.score >= before.score + 40


def test_an_early_fraud_warning_scores_with_its_weight():
    result = score_facts({"early_fraud_warning": True})
    assert result.reasons == [{"reason": "early fraud warning on the payment", "points": 35}]


def test_an_early_fraud_warning_arriving_rescores_the_open_tickets_about_its_order(
    django_capture_on_commit_callbacks,
):
    payment = PaymentFactory(order=OrderFactory(total_price=Decimal("80.00")))
    ticket, unrelated = refund_ticket(), refund_ticket(requester="other@mail.example")
    ticket.orders.add(payment.order)
    do_score_priority(ticket, now=BASE_TIME)
    warning = EarlyFraudWarningIn(
        provider_id="issfr_1",
        charge_provider_id=payment.provider_id,
        fraud_type="made_with_stolen_card",
        actionable=True,
        warned_at=BASE_TIME,
    )

    with django_capture_on_commit_callbacks(execute=True):
        do_record_early_fraud_warning(warning)

    assert facts_for(ticket, now=BASE_TIME)["early_fraud_warning"] is True
    reasons = TicketPriority.objects.get(ticket=ticket).reasons
    assert {"reason": "early fraud warning on the payment", "points": 35} in reasons
    assert not TicketPriority.objects.filter(ticket=unrelated).exists()  # not about the order


# --- re-scoring ----------------------------------------------------------------------------


def test_rescoring_applies_new_weights_to_open_tickets_set_based(
    lead, agent, django_assert_num_queries
):
    tickets = [refund_ticket(requester=f"buyer{n}@mail.example") for n in range(4)]
    by_hand, solved = tickets[2], tickets[3]
    do_set_priority(by_hand, Ticket.Priority.LOW, actor=agent)
    Ticket.objects.filter(pk=solved.pk).update(status=Ticket.Status.SOLVED)
    do_save_priority_weights(DEFAULT_WEIGHTS | {"intent": {"refund_request": 90}}, actor=lead)

    result = do_rescore_open_tickets(now=BASE_TIME)

    assert (result.scored, result.changed, result.weights_version) == (3, 2, 1)
    levels = dict(Ticket.objects.values_list("pk", "priority"))
    assert levels[tickets[0].pk] == levels[tickets[1].pk] == Ticket.Priority.URGENT
    assert levels[by_hand.pk] == Ticket.Priority.LOW
    assert TicketPriority.objects.get(ticket=by_hand).level == Ticket.Priority.URGENT
    assert not TicketPriority.objects.filter(ticket=solved, weights_version=1).exists()
    event = TicketEvent.objects.filter(ticket=tickets[0], kind="priority").latest("pk")
    assert event.data["new"] == Ticket.Priority.URGENT
    assert event.data["reason"].startswith("re-scored with weights v1")
    assert do_rescore_open_tickets(now=BASE_TIME).changed == 0  # idempotent


def test_rescoring_costs_the_same_queries_for_more_tickets(lead):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(count: int) -> int:
        for n in range(count):
            refund_ticket(requester=f"q{count}-{n}@mail.example")
        TicketPriority.objects.all().delete()
        Ticket.objects.update(priority=Ticket.Priority.NORMAL)
        with CaptureQueriesContext(connection) as captured:
            do_rescore_open_tickets(now=BASE_TIME)
        Ticket.objects.update(status=Ticket.Status.CLOSED)
        return len(captured)

    assert queries_for(2) == queries_for(9)


def test_the_command_rescores(lead, capsys):
    ticket = refund_ticket()
    do_save_priority_weights(DEFAULT_WEIGHTS | {"intent": {"refund_request": 90}}, actor=lead)
    call_command("triage-rescore")
    assert "1 open tickets scored, 1 changed priority" in capsys.readouterr().out
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.URGENT


# --- the page ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [(Role.AGENT, 403), (Role.LEAD, 200), (Role.ADMIN, 200)]
)
def test_the_page_is_for_leads_and_admins(client, make_user, role, status):
    client.force_login(make_user(role, username=f"u-{role}"))
    assert client.get(URL).status_code == status
    assert client.post(URL, form(vip="30")).status_code == (403 if status == 403 else 302)


def test_an_agent_posting_weights_changes_nothing(agent_client):
    response = agent_client.post(URL, form(vip="99"))
    assert response.status_code == 403
    assert PriorityWeights.objects.count() == 0


def test_a_lead_saves_weights_on_the_page(client, lead):
    client.force_login(lead)
    response = client.post(URL, form(**{"intent.refund_request": "60", "note": "refunds first"}))
    assert response.status_code == 302
    saved = PriorityWeights.objects.get()
    assert saved.weights["intent"]["refund_request"] == 60
    assert saved.note == "refunds first"
    page = client.get(URL).content.decode()
    assert 'name="intent.refund_request" value="60"' in page
    assert "refunds first" in page


def test_an_invalid_weight_on_the_page_is_a_clear_400_and_keeps_the_input(client, lead):
    client.force_login(lead)
    response = client.post(URL, form(**{"threat.legal": "1000", "vip": "25"}))
    assert response.status_code == 400
    page = response.content.decode()
    assert "threat.legal must be between -100 and 100; 1000 is out of range." in page
    assert 'name="vip" value="25"' in page
    assert PriorityWeights.objects.count() == 0


def test_the_page_speaks_the_leads_language(client, make_user):
    client.force_login(make_user(Role.LEAD, username="lan", language="vi"))
    page = client.get(URL).content.decode()
    assert "Khách hàng VIP" in page  # a weight's label, "VIP customer"
    assert "VIP customer" not in page


def test_a_band_typed_wrong_is_refused(client, lead):
    client.force_login(lead)
    response = client.post(URL, form(order_value="500 15"))
    assert response.status_code == 400
    assert "write each band as amount:points" in response.content.decode()


def test_the_rescore_button_rescores_the_open_tickets(
    client, lead, django_capture_on_commit_callbacks
):
    ticket = refund_ticket()
    do_save_priority_weights(DEFAULT_WEIGHTS | {"intent": {"refund_request": 90}}, actor=lead)
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True) as enqueued:
        assert client.post(URL, {"do": "rescore"}).status_code == 302
    assert len(enqueued) == 2  # the re-score, then the priority event it recorded
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.URGENT


def test_a_rescore_that_raises_the_priority_moves_the_sla_clock(
    lead, django_capture_on_commit_callbacks
):
    ticket = refund_ticket()
    standard = do_refresh_sla(ticket, now=BASE_TIME)
    assert standard.policy.name == "Standard"
    do_save_priority_weights(DEFAULT_WEIGHTS | {"intent": {"refund_request": 90}}, actor=lead)

    with django_capture_on_commit_callbacks(execute=True):
        do_rescore_open_tickets(now=BASE_TIME)

    sla = TicketSla.objects.get(ticket=ticket)
    assert sla.policy.name == "Urgent"
    assert sla.first_response_due_at < standard.first_response_due_at  # 60 business min, not 240


def test_a_priority_set_by_hand_moves_the_sla_clock(lead, django_capture_on_commit_callbacks):
    ticket = refund_ticket()
    do_refresh_sla(ticket, now=BASE_TIME)

    with django_capture_on_commit_callbacks(execute=True):
        do_set_priority(ticket, Ticket.Priority.HIGH, actor=lead)

    assert TicketSla.objects.get(ticket=ticket).policy.name == "High"


def test_the_ticket_panel_names_the_weights_version_behind_the_score(client, lead):
    ticket = refund_ticket()
    do_save_priority_weights(DEFAULT_WEIGHTS | {"vip": 30}, actor=lead)
    do_score_priority(ticket, now=BASE_TIME)
    client.force_login(lead)
    page = client.get(f"/triage/tickets/{ticket.number}/panel/").content.decode()
    assert "Weights version 1" in page
    assert 'href="/triage/priority/"' in page


@pytest.mark.parametrize("versions", [0, 4])
def test_the_page_costs_a_fixed_number_of_queries(
    client, lead, versions, django_assert_num_queries
):
    for n in range(versions):
        do_save_priority_weights(DEFAULT_WEIGHTS | {"vip": n}, actor=lead, note=f"try {n}")
    client.force_login(lead)
    client.get(URL)  # warm the session
    # session, user, user and group permissions, the newest version, the version history
    with django_assert_num_queries(6):
        assert client.get(URL).status_code == 200
