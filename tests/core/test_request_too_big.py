"""A body over DATA_UPLOAD_MAX_MEMORY_SIZE is the caller's mistake: 413, never a 500 (the API
in its JSON error shape, pages with the error page, webhooks before any of their code runs)."""

import base64
import json

import pytest
from django.test import Client

from storedesk.desk.models import QuarantinedMail
from tests.desk.builders import make_ticket

pytestmark = pytest.mark.django_db

LIMIT = 2_000
OVER = "x" * (LIMIT * 2)


@pytest.fixture(autouse=True)
def small_upload_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT


def test_a_signed_in_form_post_over_the_limit_is_a_413_page(agent_client):
    ticket = make_ticket()

    response = agent_client.post(f"/desk/tickets/{ticket.number}/reply/", {"text": OVER})

    assert response.status_code == 413
    assert "too large" in response.content.decode()


@pytest.mark.parametrize("path", ["/accounts/login/", "/help/contact/"])
def test_a_form_post_over_the_limit_is_a_413_even_where_csrf_reads_the_form(path):
    """CsrfViewMiddleware reads request.POST before any view runs; that path answers 413 too."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "k" * 32  # so the middleware goes on to read the form

    response = client.post(path, {"username": OVER, "password": "x"})

    assert response.status_code == 413


def test_a_customer_chat_message_over_the_limit_is_a_413(client):
    response = client.post(
        "/help/chat/start", json.dumps({"text": OVER}), content_type="application/json"
    )

    assert response.status_code == 413


@pytest.mark.parametrize(
    ("path", "content_type", "data"),
    [
        ("/mail/postmark/inbound/", "application/json", json.dumps({"TextBody": OVER})),
        ("/mail/sendgrid/inbound/", "application/x-www-form-urlencoded", f"email={OVER}"),
        ("/mail/mailgun/inbound_mime/", "application/x-www-form-urlencoded", f"body-mime={OVER}"),
    ],
)
def test_an_inbound_mail_webhook_over_the_limit_is_a_413(
    client, settings, path, content_type, data
):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "u:p", "MAILGUN_WEBHOOK_SIGNING_KEY": "k"}
    auth = "Basic " + base64.b64encode(b"u:p").decode()

    response = client.post(path, data, content_type=content_type, HTTP_AUTHORIZATION=auth)

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not QuarantinedMail.objects.exists()
