"""Inbound mail from email providers (anymail): signed posts become messages, forged ones are
refused with 4xx and store nothing, retries are stored once."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from storedesk.desk.models import Attachment, Mailbox, Message
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
