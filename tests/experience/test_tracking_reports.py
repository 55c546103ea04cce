"""Reports from the tracking page: each becomes one structured ticket with the order linked,
the intent the customer chose, and the photos attached; offered only when they make sense."""

import html
import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from storedesk.commerce.models import Shipment
from storedesk.commerce.queries import order_tracking_url
from storedesk.desk.models import Attachment, Channel, Message, Ticket
from storedesk.desk.services import InboundMessage, do_open_ticket, do_receive_message
from storedesk.experience.models import TrackingReport
from storedesk.triage.models import MessageAnalysis, TicketPriority
from storedesk.triage.services import do_analyse_message
from tests.experience.tracking_builders import tracked_order

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def open_page(client, order) -> tuple[str, str]:
    """Open the order's page by its signed link: (the link, the report form's key)."""
    url = order_tracking_url(order, absolute=False)
    page = client.get(url).content.decode()
    key = re.search(r'name="form_key" value="([^"]+)"', page)
    return url, key.group(1) if key else ""


def report(client, url, key, **fields):
    data = {"kind": "delivered_not_received", "message": "", "form_key": key} | fields
    return client.post(f"{url}report/", data)


def photo(name="box.png", data=PNG, content_type="image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_delivered_but_not_received_with_a_photo_opens_a_structured_ticket(
    client, django_capture_on_commit_callbacks
):
    order = tracked_order(status=Shipment.Status.DELIVERED, days_ago=5)
    url, key = open_page(client, order)

    with django_capture_on_commit_callbacks(execute=True):
        response = report(
            client,
            url,
            key,
            message="Nothing at the front door <script>alert(1)</script>",
            photos=[photo("porch.png")],
        )

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    saved = TrackingReport.objects.get()
    assert (saved.order, saved.ticket, saved.kind) == (order, ticket, "delivered_not_received")
    assert list(ticket.orders.all()) == [order]
    assert ticket.customer == order.customer
    assert ticket.requester_email == "emma.stone@mail.example"
    assert ticket.subject == "Tracking says delivered, but not received (order #TP10234)"
    tags = set(ticket.tags.values_list("name", flat=True))
    assert {"tracking-page", "reason-delivered_not_received", "delivered-not-received"} <= tags
    message = Message.objects.get(ticket=ticket, kind=Message.Kind.INBOUND)
    assert "Problem: Delivered but not received" in message.text
    assert "Order: #TP10234" in message.text
    assert "USPS" in message.text
    assert "Delivered" in message.text
    assert "<script>" not in message.html  # the customer's words are escaped
    attachment = Attachment.objects.get(message=message)
    assert (attachment.filename, attachment.size) == ("porch.png", len(PNG))
    # Triage reads the intent the customer chose, and scores the claim on a delivered parcel.
    analysis = MessageAnalysis.objects.get(message=message)
    assert analysis.primary_intent == "delivered_not_received"
    assert analysis.intents[0] == {
        "intent": "delivered_not_received",
        "confidence": 1.0,
        "declared": True,
    }
    reasons = {item["reason"] for item in TicketPriority.objects.get(ticket=ticket).reasons}
    assert "intent: delivered_not_received" in reasons
    assert "delivered per the carrier, the customer says not" in reasons
    # Back on the page, the customer sees the request number.
    page = html.unescape(client.get(response["Location"]).content.decode())
    assert ticket.token in page


def test_a_double_submit_opens_one_ticket(client):
    order = tracked_order(status=Shipment.Status.DELIVERED)
    url, key = open_page(client, order)

    first = report(client, url, key)
    second = report(client, url, key)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Ticket.objects.count() == 1


def test_not_received_is_offered_only_after_the_expected_date(client):
    on_time = tracked_order(days_ago=2, eta_days=5)
    url, key = open_page(client, on_time)

    refused = report(client, url, key, kind="not_received")

    assert refused.status_code == 400
    assert "isn't available for this order yet" in html.unescape(refused.content.decode())
    assert Ticket.objects.count() == 0

    late = tracked_order(
        days_ago=12, eta_days=4, number="#TP10500", number_key="TP10500", email="l@mail.example"
    )
    url, key = open_page(client, late)
    assert 'value="not_received"' in client.get(url).content.decode()
    assert report(client, url, key, kind="not_received").status_code == 302
    assert Ticket.objects.get().subject == "Order not received (order #TP10500)"


def test_a_damaged_item_needs_a_photo_and_refuses_an_oversized_one(client, settings):
    settings.DESK_MAX_ATTACHMENT_BYTES = 1024 * 1024
    order = tracked_order(status=Shipment.Status.DELIVERED)
    url, key = open_page(client, order)

    without = report(client, url, key, kind="damaged")
    too_big = report(
        client, url, key, kind="damaged", photos=[photo("huge.png", b"x" * (1024 * 1024 + 1))]
    )
    not_a_photo = report(
        client,
        url,
        key,
        kind="damaged",
        photos=[photo("invoice.exe", b"MZ", "application/octet-stream")],
    )

    assert without.status_code == too_big.status_code == not_a_photo.status_code == 400
    assert "Please add at least one photo" in html.unescape(without.content.decode())
    assert "huge.png is larger than 1 MB" in html.unescape(too_big.content.decode())
    assert "invoice.exe isn" in html.unescape(not_a_photo.content.decode())
    assert Ticket.objects.count() == 0


def test_a_size_exchange_names_the_item_and_the_size(client, django_capture_on_commit_callbacks):
    order = tracked_order(status=Shipment.Status.DELIVERED)
    item = order.line_items.get()
    url, key = open_page(client, order)

    with django_capture_on_commit_callbacks(execute=True):
        response = report(client, url, key, kind="size_exchange", line_item=item.pk, new_size="8")

    assert response.status_code == 302
    message = Message.objects.get(kind=Message.Kind.INBOUND)
    assert "Item: Moonstone Ring (Size 7)" in message.text
    assert "Size wanted instead: 8" in message.text
    assert MessageAnalysis.objects.get(message=message).primary_intent == "wrong_size"


def test_a_report_needs_the_verified_session(client):
    order = tracked_order(status=Shipment.Status.DELIVERED)
    url, key = open_page(client, order)
    stranger = client.__class__()

    response = report(stranger, url, key)

    assert response.status_code == 302
    assert response["Location"] == url
    assert Ticket.objects.count() == 0


def test_a_report_on_an_altered_link_is_not_found(client):
    order = tracked_order(status=Shipment.Status.DELIVERED)
    url, key = open_page(client, order)

    response = client.post(url[:-3] + "zz/report/", {"kind": "damaged", "form_key": key})

    assert response.status_code == 404
    assert Ticket.objects.count() == 0


def test_only_our_own_forms_can_declare_an_intent():
    ticket = do_open_ticket(channel=Channel.EMAIL, requester_email="emma@mail.example")
    message = do_receive_message(
        ticket,
        InboundMessage(
            channel=Channel.EMAIL,
            from_email="emma@mail.example",
            text="My parcel never arrived and tracking has not moved for two weeks.",
            headers={"declared_intent": "compliment"},
        ),
    )

    analysis = do_analyse_message(message)

    assert analysis.primary_intent != "compliment"
    assert all(not item.get("declared") for item in analysis.intents)
