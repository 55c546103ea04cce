"""Every inbound message is understood and stored; its orders are linked only when they are
the sender's own; bad input never crashes; agents confirm or correct the intents."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.desk.services import do_open_ticket, do_receive_message
from storedesk.triage.analysis import analyse_text
from storedesk.triage.models import IntentLabel, MessageAnalysis
from storedesk.triage.services import do_analyse_message, do_label_message
from tests.desk.builders import inbound
from tests.factories import CustomerFactory, OrderFactory, ShipmentFactory, StoreFactory

pytestmark = pytest.mark.django_db

EMMA = "emma@mail.example"


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def emma_order(store):
    customer = CustomerFactory(store=store, email=EMMA)
    return OrderFactory(
        store=store, customer=customer, number="#TP20001", created_at=timezone.now()
    )


@pytest.fixture
def other_order(store):
    customer = CustomerFactory(store=store, email="someone.else@mail.example")
    return OrderFactory(
        store=store, customer=customer, number="#TP30003", created_at=timezone.now()
    )


def receive(captured, text, *, sender=EMMA, subject="Help"):
    """A customer's message through the desk; the outbox runs the handlers after commit."""
    with captured(execute=True):
        ticket = do_open_ticket(channel="email", requester_email=sender, subject=subject)
        return do_receive_message(ticket, inbound(text, from_email=sender, subject=subject))


def test_an_inbound_message_is_analysed_and_stored(django_capture_on_commit_callbacks):
    message = receive(
        django_capture_on_commit_callbacks,
        "WHERE IS MY RING?? Ordered 3 weeks ago!!! I'll dispute the charge with my bank.",
    )
    analysis = MessageAnalysis.objects.get(message=message)
    assert analysis.primary_intent == "order_status"
    assert analysis.intents[0]["confidence"] > 0.5
    assert analysis.explanation["order_status"][0]["feature"]
    assert analysis.mood in ("frustrated", "angry")
    assert analysis.anger > 0.3
    assert analysis.threats == ["chargeback"]
    assert analysis.has_threat
    assert analysis.language == "en"
    assert analysis.is_english
    assert analysis.model_version.startswith("builtin-")
    assert analysis.ticket_id == message.ticket_id


def test_analysing_twice_keeps_one_analysis(django_capture_on_commit_callbacks):
    message = receive(django_capture_on_commit_callbacks, "Please cancel my order")
    do_analyse_message(message)
    assert MessageAnalysis.objects.filter(message=message).count() == 1


def test_the_senders_own_order_is_linked(django_capture_on_commit_callbacks, emma_order):
    message = receive(django_capture_on_commit_callbacks, "Where is order #TP20001?")
    analysis = MessageAnalysis.objects.get(message=message)
    assert list(message.ticket.orders.all()) == [emma_order]
    assert analysis.order_refs == [
        {
            "kind": "order",
            "value": "TP20001",
            "text": "#TP20001",
            "order_id": emma_order.pk,
            "number": "#TP20001",
        }
    ]
    assert not analysis.needs_order_number


def test_an_order_written_as_digits_only_is_found_too(
    django_capture_on_commit_callbacks, emma_order
):
    message = receive(django_capture_on_commit_callbacks, "order 20001 never came")
    assert list(message.ticket.orders.all()) == [emma_order]


def test_a_tracking_number_finds_the_senders_order(django_capture_on_commit_callbacks, emma_order):
    ShipmentFactory(order=emma_order, carrier="UPS", tracking_number="1Z999AA10123456784")
    message = receive(django_capture_on_commit_callbacks, "UPS 1Z999AA10123456784 is stuck")
    assert list(message.ticket.orders.all()) == [emma_order]


def test_another_customers_order_is_never_linked_nor_revealed(
    django_capture_on_commit_callbacks, emma_order, other_order
):
    message = receive(django_capture_on_commit_callbacks, "Where is my order #TP30003?")
    analysis = MessageAnalysis.objects.get(message=message)
    assert not message.ticket.orders.exists()
    assert analysis.order_refs[0] == {"kind": "order", "value": "TP30003", "text": "#TP30003"}
    assert all(ref.get("order_id") != other_order.pk for ref in analysis.order_refs)
    assert "someone.else" not in str(analysis.order_refs)


def test_with_no_number_the_senders_recent_order_is_suggested(
    django_capture_on_commit_callbacks, emma_order
):
    message = receive(django_capture_on_commit_callbacks, "Hi, where is my package?")
    analysis = MessageAnalysis.objects.get(message=message)
    assert analysis.order_refs == [
        {
            "kind": "recent_order",
            "value": "#TP20001",
            "order_id": emma_order.pk,
            "number": "#TP20001",
        }
    ]
    assert not analysis.needs_order_number  # exactly one recent order: that's the one
    assert not message.ticket.orders.exists()


def test_ambiguous_order_asks_for_the_order_number(django_capture_on_commit_callbacks, store):
    customer = CustomerFactory(store=store, email=EMMA)
    for days in (1, 5):
        OrderFactory(
            store=store, customer=customer, created_at=timezone.now() - timedelta(days=days)
        )
    message = receive(django_capture_on_commit_callbacks, "my necklace never arrived")
    assert MessageAnalysis.objects.get(message=message).needs_order_number


def test_a_compliment_needs_no_order_number(django_capture_on_commit_callbacks, store):
    message = receive(django_capture_on_commit_callbacks, "I love my ring, thank you so much!")
    assert not MessageAnalysis.objects.get(message=message).needs_order_number


def test_outbound_messages_are_not_analysed(django_capture_on_commit_callbacks):
    message = receive(django_capture_on_commit_callbacks, "Please cancel my order")
    assert MessageAnalysis.objects.count() == 1
    assert MessageAnalysis.objects.get().message == message


# --- bad input -----------------------------------------------------------------------------


def test_empty_message_is_other_with_no_confidence():
    result = analyse_text("")
    assert result.intents == [{"intent": "other", "confidence": 0.0}]
    assert result.notes == ["no words to understand"]


def test_only_emojis_still_reads_the_mood():
    result = analyse_text("😡😡😡🤬")
    assert result.primary_intent == "other"
    assert result.mood == "angry"


def test_a_megabyte_of_text_is_truncated_and_said_so():
    result = analyse_text("where is my order? " * 55_000)
    assert result.primary_intent == "order_status"
    assert result.notes[0].startswith("truncated: analysed the first 20,000 of 1,045,000")


def test_html_soup_is_stripped_first():
    # An Outlook-style mail: styles, a script and attributes full of numbers around one sentence.
    html = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta charset="utf-8">'
        '<style>@font-face{font-family:"Calibri";panose-1:2 15 5 2 2 2 4 3 2 4}'
        'p.MsoNormal{margin:0in;font-size:11.0pt;font-family:"Calibri",sans-serif}'
        "a:link{color:#0563C1;text-decoration:underline}.MsoChpDefault{mso-style-type:export-only}"
        "@page WordSection1{size:8.5in 11.0in;margin:1.0in 1.0in 1.0in 1.0in}</style>"
        '<script>var tracking = 20240531; alert("order 99887766")</script></head>'
        '<body lang="EN-US" link="#0563C1"><div class="WordSection1">'
        '<table width="600" cellpadding="0" border="0"><tr><td style="padding:0 0 0 0">'
        '<p class="MsoNormal">I want a <b>refund</b> for order <span>#TP12345</span>'
        "&nbsp;&mdash; it&#39;s broken.</p></td></tr></table>"
        '<img src="cid:image001.png@01DA1234.56789ABC" width="120" height="40"></div></body></html>'
    )
    result = analyse_text(html)
    assert result.primary_intent == "refund_request"
    assert [ref["value"] for ref in result.order_refs] == ["TP12345"]
    assert result.is_english
    features = str(result.explanation)
    assert "alert" not in features
    assert "link" not in features


def test_another_language_is_flagged():
    result = analyse_text("Hola, todavía no he recibido mi pedido. ¿Dónde está mi collar?")
    assert result.language == "es"
    assert not result.is_english
    assert any(note.startswith("not English (es)") for note in result.notes)


# --- agents' labels ------------------------------------------------------------------------


def test_an_agent_corrects_the_intents(django_capture_on_commit_callbacks, make_user):
    agent = make_user(Role.AGENT)
    message = receive(django_capture_on_commit_callbacks, "Please cancel my order")
    label = do_label_message(message, ["cancel_change", "refund_request"], actor=agent)
    assert label.intents == ["cancel_change", "refund_request"]
    assert label.predicted == ["cancel_change"]
    assert AuditEntry.objects.get(action="triage.intents_corrected").actor == agent


def test_confirming_twice_keeps_one_label(django_capture_on_commit_callbacks, make_user):
    agent = make_user(Role.AGENT)
    message = receive(django_capture_on_commit_callbacks, "Please cancel my order")
    do_label_message(message, ["cancel_change"], actor=agent)
    do_label_message(message, ["cancel_change"], actor=agent)
    assert IntentLabel.objects.filter(message=message).count() == 1
    assert AuditEntry.objects.filter(action="triage.intents_confirmed").count() == 2


@pytest.mark.parametrize(
    ("intents", "error"),
    [
        ([], "choose at least one intent"),
        (["teleport"], "unknown intent: teleport"),
        (["damaged", "warranty", "refund_request", "other"], "at most 3 intents"),
    ],
)
def test_bad_labels_are_refused(django_capture_on_commit_callbacks, make_user, intents, error):
    message = receive(django_capture_on_commit_callbacks, "Please cancel my order")
    with pytest.raises(ValidationError, match=error):
        do_label_message(message, intents, actor=make_user(Role.AGENT))
    assert not IntentLabel.objects.exists()


# --- the panel on the ticket page -----------------------------------------------------------


def test_the_panel_shows_the_analysis(
    client, make_user, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    message = receive(
        django_capture_on_commit_callbacks, "I will never buy from you again. Where is #TP55555?"
    )
    client.force_login(make_user(Role.AGENT))
    url = f"/triage/analysis/tickets/{message.ticket.number}/"
    client.get(url)
    with django_assert_max_num_queries(8):
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Order status / where is my order" in html
    assert "Never buying again" in html
    assert "#TP55555" in html
    assert 'name="intent" value="order_status" checked' in html


def test_the_panel_form_stores_the_agents_label(
    client, make_user, django_capture_on_commit_callbacks
):
    message = receive(django_capture_on_commit_callbacks, "Please cancel my order")
    agent = make_user(Role.AGENT)
    client.force_login(agent)
    url = f"/triage/analysis/tickets/{message.ticket.number}/"
    response = client.post(url, {"intent": ["cancel_change", "refund_request"]})
    assert response.status_code == 200
    assert IntentLabel.objects.get(message=message).labelled_by == agent
    assert "Intents confirmed" in response.content.decode()


def test_the_panel_form_refuses_nonsense_with_a_message(
    client, make_user, django_capture_on_commit_callbacks
):
    message = receive(django_capture_on_commit_callbacks, "Please cancel my order")
    client.force_login(make_user(Role.AGENT))
    response = client.post(f"/triage/analysis/tickets/{message.ticket.number}/", {"intent": "x"})
    assert response.status_code == 422
    assert "unknown intent: x" in response.content.decode()


def test_the_panel_of_an_unknown_ticket_is_404(client, make_user):
    client.force_login(make_user(Role.AGENT))
    assert client.get("/triage/analysis/tickets/999999/").status_code == 404


def test_the_panel_needs_sign_in(client):
    assert client.get("/triage/analysis/tickets/1/").status_code == 302
