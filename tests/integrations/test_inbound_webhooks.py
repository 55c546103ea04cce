"""Inbound mail from email providers (anymail): signed posts become messages, forged ones are
refused with 4xx and store nothing, retries are stored once."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from storedesk.desk.models import Attachment, Mailbox, Message, QuarantinedMail
from tests.desk.mail_helpers import build_mail, media  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

SECRET = "webhook-user:webhook-pass"
MAILGUN_KEY = "mailgun-signing-key"


@pytest.fixture(autouse=True)
def anymail_secrets(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


def basic_auth(credentials: str = SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def postmark_payload() -> dict:
    """The shape of Postmark's inbound webhook JSON (without RawEmail)."""
    return {
        "FromName": "Emma Stone",
        "MessageStream": "inbound",
        "From": "emma@mail.example",
        "FromFull": {"Email": "emma@mail.example", "Name": "Emma Stone", "MailboxHash": ""},
        "To": "care@shop.example",
        "ToFull": [{"Email": "care@shop.example", "Name": "", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "OriginalRecipient": "care@shop.example",
        "Subject": "Ring arrived scratched",
        "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": "Fri, 1 Aug 2025 16:45:32 -04:00",
        "TextBody": "Hi, the ring arrived with a scratch. Photo attached.\n\nEmma",
        "HtmlBody": "<p>Hi, the ring arrived with a scratch. Photo attached.</p><p>Emma</p>",
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": [
            {"Name": "Return-Path", "Value": "<emma@mail.example>"},
            {"Name": "Message-ID", "Value": "<pm-1@mail.example>"},
        ],
        "Attachments": [
            {
                "Name": "scratch.jpg",
                "Content": base64.b64encode(b"\xff\xd8\xff jpeg bytes").decode(),
                "ContentType": "image/jpeg",
                "ContentLength": 14,
            }
        ],
    }


def post_postmark(client, payload, **extra):
    return client.post(
        "/mail/postmark/inbound/", json.dumps(payload), content_type="application/json", **extra
    )


def test_a_postmark_post_with_the_secret_becomes_a_message(client):
    mailbox = Mailbox.objects.create(name="Care", address="care@shop.example")
    response = post_postmark(client, postmark_payload(), **basic_auth())
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.message_id == "<pm-1@mail.example>"
    assert message.from_email == "emma@mail.example"
    assert message.ticket.mailbox == mailbox
    assert message.new_text.startswith("Hi, the ring arrived with a scratch.")
    assert Attachment.objects.get().filename == "scratch.jpg"


def test_a_retried_post_is_stored_once(client):
    for _ in range(2):
        assert post_postmark(client, postmark_payload(), **basic_auth()).status_code == 200
    assert Message.objects.count() == 1


@pytest.mark.parametrize("auth", [{}, basic_auth("webhook-user:guessed"), basic_auth("x:y")])
def test_a_forged_postmark_post_is_refused(client, auth):
    response = post_postmark(client, postmark_payload(), **auth)
    assert response.status_code == 400
    assert not Message.objects.exists()


def mailgun_form(raw: bytes, *, key: str = MAILGUN_KEY) -> dict:
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "body-mime": raw.decode(),
        "recipient": "care@shop.example",
        "sender": "emma@mail.example",
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
    }


def test_a_signed_mailgun_mime_post_becomes_a_message(client):
    raw = build_mail(message_id="<mg-1@mail.example>")
    response = client.post("/mail/mailgun/inbound_mime/", mailgun_form(raw), **basic_auth())
    assert response.status_code == 200
    assert Message.objects.get().message_id == "<mg-1@mail.example>"


def test_a_mailgun_post_with_a_forged_signature_is_refused(client):
    raw = build_mail(message_id="<mg-2@mail.example>")
    form = mailgun_form(raw, key="not-the-key")
    response = client.post("/mail/mailgun/inbound_mime/", form, **basic_auth())
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_providers_are_closed_until_their_secrets_are_set(client, settings):
    settings.ANYMAIL = {}
    response = post_postmark(client, postmark_payload(), **basic_auth())
    assert response.status_code == 404
    assert response.json()["code"] == "not_configured"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}  # Mailgun also needs its signing key
    raw = build_mail(message_id="<mg-3@mail.example>")
    response = client.post("/mail/mailgun/inbound_mime/", mailgun_form(raw), **basic_auth())
    assert response.status_code == 404
    assert not Message.objects.exists()


# --- Postmark bodies that are not what Postmark sends: 400, kept in quarantine, never a 500.

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
POSTMARK_FIELDS = sorted(postmark_payload())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"From": "emma@mail.example",', "not valid JSON"),
        (b"[]", "a JSON list"),
        (b'"just a string"', "a JSON str"),
        ('{"Subject": "caf\u00e9"}'.encode("latin-1"), "not UTF-8"),
        (json.dumps(postmark_payload() | {"Subject": 42}).encode(), "Subject is not text"),
        (json.dumps(postmark_payload() | {"ToFull": "care@shop.example"}).encode(), "ToFull"),
        (json.dumps(postmark_payload() | {"Headers": {"a": "b"}}).encode(), "Headers"),
        (json.dumps(postmark_payload() | {"Attachments": "x"}).encode(), "Attachments"),
        (b'{"Subject": "\\ud800"}', "Subject is not text"),
    ],
    ids=[
        "truncated",
        "array",
        "string",
        "latin-1",
        "int-subject",
        "to-full-string",
        "headers-object",
        "attachments-string",
        "lone-surrogate",
    ],
)
def test_a_malformed_postmark_body_is_quarantined_with_its_reason_and_refused(client, body, reason):
    response = client.post(
        "/mail/postmark/inbound/", body, content_type="application/json", **basic_auth()
    )

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_payload"
    assert response.json()["details"]["kept"] == "quarantine"
    quarantined = QuarantinedMail.objects.get()
    assert reason in quarantined.reason
    assert quarantined.raw.read() == body
    assert not Message.objects.exists()


def test_a_retried_malformed_body_is_quarantined_once(client):
    for _ in range(3):
        response = client.post(
            "/mail/postmark/inbound/", b"[1, 2]", content_type="application/json", **basic_auth()
        )
        assert response.status_code == 400
    assert QuarantinedMail.objects.count() == 1


@pytest.mark.parametrize(
    "bad_attachment",
    [
        {"Name": "broken.jpg", "Content": "not base64 at all!", "ContentType": "image/jpeg"},
        {"Name": "broken.jpg", "Content": "QUJ", "ContentType": "image/jpeg"},
        {"Name": "broken.jpg", "Content": 12345, "ContentType": "image/jpeg"},
        {"Name": "broken.jpg", "Content": "QUJD", "ContentType": None},
        "broken.jpg",
    ],
    ids=["not-base64", "bad-padding", "number", "no-type", "not-an-object"],
)
def test_a_bad_attachment_is_left_out_and_the_message_is_kept(client, bad_attachment):
    Mailbox.objects.create(name="Care", address="care@shop.example")
    payload = postmark_payload()
    payload["Attachments"].append(bad_attachment)

    response = post_postmark(client, payload, **basic_auth())

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "malformed_attachment"
    assert body["details"]["kept"] == "message"
    message = Message.objects.get(kind=Message.Kind.INBOUND)
    assert message.message_id == "<pm-1@mail.example>"
    assert [a.filename for a in Attachment.objects.all()] == ["scratch.jpg"]
    note = Message.objects.get(ticket=message.ticket, kind=Message.Kind.NOTE)
    assert "Attachments not stored" in note.text
    quarantined = QuarantinedMail.objects.get()
    assert "bad attachments" in quarantined.reason
    assert json.loads(quarantined.raw.read()) == payload

    again = post_postmark(client, payload, **basic_auth())  # Postmark retries a 400

    assert again.status_code == 400
    assert Message.objects.filter(kind=Message.Kind.INBOUND).count() == 1
    assert Message.objects.filter(kind=Message.Kind.NOTE).count() == 1
    assert QuarantinedMail.objects.count() == 1


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_no_arbitrary_body_makes_the_postmark_webhook_fail(client, body):
    response = client.post(
        "/mail/postmark/inbound/", body, content_type="application/json", **basic_auth()
    )

    assert response.status_code in (200, 400)


@hypothesis_settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    changes=st.dictionaries(st.sampled_from(POSTMARK_FIELDS), json_values, min_size=1, max_size=3),
    attachment=st.dictionaries(
        st.sampled_from(["Name", "Content", "ContentType", "ContentID", "Data"]),
        json_values | st.text(alphabet="QUJDRA=+/!", max_size=12),
        max_size=5,
    ),
)
def test_no_wrongly_typed_postmark_field_makes_the_webhook_fail(client, changes, attachment):
    payload = postmark_payload() | changes
    if isinstance(payload.get("Attachments"), list):
        payload["Attachments"] = [*payload["Attachments"], attachment]

    response = post_postmark(client, payload, **basic_auth())

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert response.json()["details"]["kept"] in ("message", "quarantine")
