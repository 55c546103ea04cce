"""The public contact form: a ticket and a confirmation in US English; the order is linked only
for its own email; spam bots meet a honeypot and a throttle that real customers can read."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from storedesk.desk.models import Message, Ticket
from storedesk.desk.views import public as public_views
from tests.factories import CustomerFactory, OrderFactory, StoreFactory

pytestmark = pytest.mark.django_db

STORE_SITE = "https://shop.tinypearl.example"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    settings.DESK_WIDGET_ORIGINS = [STORE_SITE]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def store():
    return StoreFactory(
        name="Tiny Pearl", slug="tiny-pearl", support_email="care@tinypearl.example"
    )


@pytest.fixture
def order(store):
    customer = CustomerFactory(store=store, email="emma@mail.example")
    return OrderFactory(
        store=store,
        customer=customer,
        email="emma@mail.example",
        number="#TP10234",
        number_key="TP10234",
    )


def form_token(client, path="/help/contact/") -> str:
    page = client.get(path).content.decode()
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def submit(client, path="/help/contact/", token=None, **fields):
    data = {
        "email": "emma@mail.example",
        "name": "Emma Stone",
        "order_number": "",
        "reason": "where_is_my_order",
        "message": "My ring has not arrived yet. Can you check?",
        "fax_number": "",
        "form_token": token if token is not None else form_token(client, path),
    } | fields
    return client.post(path, data)


def test_the_page_renders_every_field_with_a_hidden_honeypot(
    client, store, django_assert_num_queries
):
    with django_assert_num_queries(1):
        response = client.get("/help/contact/")
    page = response.content.decode()
    assert response.status_code == 200
    for name in ("email", "name", "order_number", "reason", "message", "attachments"):
        assert f'name="{name}"' in page
    assert 'class="field honeypot" aria-hidden="true"' in page
    assert 'tabindex="-1"' in page
    # Only our own script file (the help-center suggestions); nothing inline.
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert re.findall(r"<script[^>]*>", page) == [
        f'<script src="/static/js/help-suggest.js" nonce="{nonce}" defer>'
    ]
    assert "Where is my order?" in page
    assert response["X-Frame-Options"] == "DENY"


def test_a_valid_submission_opens_a_ticket_and_confirms_it(
    client, store, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client)

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    confirmation = client.get(response["Location"])
    assert ticket.token in confirmation.content.decode()
    assert (ticket.channel, ticket.requester_email, ticket.requester_name, ticket.store) == (
        "form",
        "emma@mail.example",
        "Emma Stone",
        store,
    )
    assert ticket.subject == "Where is my order?"
    # The reason the customer chose, the channel, and the intent triage read in the message.
    assert sorted(ticket.tags.values_list("name", flat=True)) == [
        "order-status",
        "reason-where_is_my_order",
        "web-form",
    ]
    inbound = ticket.messages.get(kind=Message.Kind.INBOUND)
    assert inbound.text == "My ring has not arrived yet. Can you check?"
    assert inbound.headers["form_reason"] == "where_is_my_order"
    acknowledgement = ticket.messages.get(kind=Message.Kind.OUTBOUND)
    assert acknowledgement.is_automatic
    assert acknowledgement.delivery == "sent"
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["emma@mail.example"]
    assert ticket.token in sent.subject
    assert sent.body.startswith("Hi Emma,")
    assert ticket.token in sent.body
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"


def test_the_order_is_linked_when_the_email_is_the_orders(client, order):
    submit(client, order_number="tp10234", email="Emma@Mail.example")
    ticket = Ticket.objects.get()
    assert list(ticket.orders.all()) == [order]
    assert ticket.subject == "Where is my order? (order tp10234)"


def test_a_strangers_order_number_is_never_linked(client, order):
    submit(client, order_number="#TP10234", email="mallory@mail.example")
    ticket = Ticket.objects.get()
    assert not ticket.orders.exists()
    assert ticket.messages.get(kind="inbound").headers["form_order_matched"] is False


def test_the_honeypot_stops_bots_with_a_visible_message(client, store):
    response = submit(client, fax_number="+1 555 0100")
    assert response.status_code == 400
    assert "Please leave this field empty." in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_post_without_the_form_token_keeps_what_was_typed(client, store):
    response = submit(client, token="", message="Please keep this text")
    page = response.content.decode()
    assert response.status_code == 400
    assert "This page was open for a long time. Please press Send again." in page
    assert "Please keep this text" in page
    new_token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    assert submit(client, token=new_token).status_code == 302


def test_the_throttle_explains_itself_and_keeps_the_message(client, store):
    for _ in range(public_views.FORM_EMAIL.count):
        assert submit(client).status_code == 302
    response = submit(client, message="One more thing about my ring")
    page = response.content.decode()
    assert response.status_code == 429
    assert "so we paused the form. Please try again in" in page
    assert "care@tinypearl.example" in page
    assert "One more thing about my ring" in page
    assert Ticket.objects.count() == public_views.FORM_EMAIL.count
    other = submit(client, email="liam@mail.example")
    assert other.status_code == 302  # another customer is not blocked by Emma's limit


def test_invalid_submissions_do_not_use_up_the_limit(client, store):
    for _ in range(public_views.FORM_EMAIL.count + 2):
        assert submit(client, message="   ").status_code == 400
    assert submit(client).status_code == 302


def test_an_oversized_attachment_is_a_clear_error(client, store, settings):
    settings.DESK_MAX_ATTACHMENT_BYTES = 1024 * 1024
    big = SimpleUploadedFile("video.mov", b"0" * (1024 * 1024 + 1), content_type="video/quicktime")
    response = submit(client, attachments=[big])
    assert response.status_code == 400
    assert (
        "video.mov is larger than 1 MB. Please attach a smaller file." in response.content.decode()
    )
    assert not Ticket.objects.exists()


def test_a_blocked_file_type_is_a_clear_error(client, store):
    response = submit(client, attachments=[SimpleUploadedFile("invoice.exe", b"MZ")])
    assert response.status_code == 400
    assert "invoice.exe: this file type is not accepted" in response.content.decode()


def test_attachments_are_stored_on_the_message(client, store):
    photos = [
        SimpleUploadedFile("ring.jpg", b"\xff\xd8 ring", content_type="image/jpeg"),
        SimpleUploadedFile("box.jpg", b"\xff\xd8 box", content_type="image/jpeg"),
    ]
    submit(client, attachments=photos)
    message = Message.objects.get(kind=Message.Kind.INBOUND)
    assert sorted(message.attachments.values_list("filename", "size")) == [
        ("box.jpg", 6),
        ("ring.jpg", 7),
    ]


def test_html_and_scripts_are_stored_as_text_and_never_rendered(client, store):
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)> Where is it?'
    submit(client, message=attack, name="<b>Eve</b>")
    message = Message.objects.get(kind=Message.Kind.INBOUND)
    assert message.text == attack
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html
    assert "<img" not in message.html


def test_the_embeddable_form_may_be_framed_by_the_store_only(client, store):
    response = client.get("/help/contact/embed/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert f"frame-ancestors 'self' {STORE_SITE}" in response["Content-Security-Policy"]
    assert 'class="help-header"' not in response.content.decode()
    done = submit(client, path="/help/contact/embed/")
    assert done["Location"].startswith("/help/contact/embed/sent/")
    assert client.get(done["Location"])["Content-Security-Policy"].count(STORE_SITE) == 1


def test_a_tampered_confirmation_link_is_not_found(client, store):
    location = submit(client)["Location"]
    assert client.get(location.replace("/sent/", "/sent/x")).status_code == 404


def test_an_unknown_reason_is_refused(client, store):
    response = submit(client, reason="free_money")
    assert response.status_code == 400
    assert not Ticket.objects.exists()
