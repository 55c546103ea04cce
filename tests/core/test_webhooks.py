"""Signed outbound webhooks against a real HTTP server on loopback: signature verifies,
one delivery per event and endpoint, retries with backoff on errors, gives up after N."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from storedesk.core import events, webhooks
from storedesk.core.models import DomainEvent, WebhookDelivery, WebhookEndpoint
from storedesk.desk.services import do_change_status, do_open_ticket


class Receiver:
    """A loopback HTTP server that records requests and answers with scripted statuses."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/storedesk"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def endpoint(db, receiver):
    return webhooks.do_add_endpoint(receiver.url, ["ticket_created", "ticket_status_changed"])


def open_ticket():
    return do_open_ticket(channel="email", requester_email="emma@mail.example", subject="Ring")


@pytest.mark.django_db(transaction=True)
def test_a_ticket_event_is_posted_signed_and_verifies(endpoint, receiver):
    ticket = open_ticket()
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    header = request["headers"]["Storedesk-Signature"]
    assert header.startswith("t=")
    assert webhooks.verify_signature(endpoint.secret, header, request["body"])
    assert not webhooks.verify_signature("whsec_other", header, request["body"])
    assert not webhooks.verify_signature(endpoint.secret, header, request["body"] + b" ")
    assert not webhooks.verify_signature(
        endpoint.secret, header, request["body"], now=int(header[2:12]) + 301
    )
    body = json.loads(request["body"])
    assert body["type"] == "ticket_created"
    assert body["data"]["ticket"]["number"] == ticket.number
    assert body["data"]["ticket"]["status"] == "new"
    assert request["headers"]["Storedesk-Event"] == "ticket_created"
    delivery = WebhookDelivery.objects.get()
    assert request["headers"]["Storedesk-Delivery"] == str(delivery.pk)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 1, 200)


@pytest.mark.django_db(transaction=True)
def test_only_subscribed_events_are_sent(endpoint, receiver):
    ticket = open_ticket()
    do_change_status(ticket, "open", actor=None)
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == [
        "ticket_created",
        "ticket_status_changed",
    ]
    assert DomainEvent.objects.filter(name="message_sent").count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_redispatched_event_is_delivered_once(endpoint, receiver):
    open_ticket()
    event = DomainEvent.objects.get(name="ticket_created")
    event.handled_at = None
    event.save(update_fields=["handled_at"])
    assert events.dispatch_event.call(event.pk) == "handled"
    webhooks.queue_deliveries(event)
    assert WebhookDelivery.objects.count() == 1
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_a_500_is_retried_with_backoff_then_delivered(endpoint, receiver):
    receiver.statuses = [500, 503]
    open_ticket()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert delivery.last_error.startswith("HTTP 500")
    wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=25) < wait <= timedelta(seconds=30)
    assert webhooks.enqueue_due_deliveries() == 0  # not due yet
    assert webhooks.deliver_webhook.call(delivery.pk) == "skipped"  # nor by a stray task
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhooks.enqueue_due_deliveries() == 1  # the periodic job's work
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 2)
    assert delivery.next_attempt_at - timezone.now() > timedelta(seconds=55)  # doubled
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    webhooks.enqueue_due_deliveries()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 3, 200)
    assert len(receiver.requests) == 3
    signatures = {r["headers"]["Storedesk-Delivery"] for r in receiver.requests}
    assert signatures == {str(delivery.pk)}


@pytest.mark.django_db(transaction=True)
@override_settings(WEBHOOK_MAX_ATTEMPTS=3)
def test_it_gives_up_after_the_last_attempt(endpoint, receiver):
    receiver.statuses = [500] * 10
    open_ticket()
    delivery = WebhookDelivery.objects.get()
    for _ in range(5):
        WebhookDelivery.objects.filter(pk=delivery.pk, status="pending").update(
            next_attempt_at=timezone.now()
        )
        webhooks.enqueue_due_deliveries()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert len(receiver.requests) == 3


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_endpoint_is_an_error_not_a_crash():
    endpoint = webhooks.do_add_endpoint("http://127.0.0.1:9/nowhere", ["*"])
    open_ticket()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending"
    assert delivery.response_status is None
    assert "Error" in delivery.last_error


def test_backoff_doubles_and_is_capped():
    policy = webhooks.retry_policy()
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert policy.delay(30) == timedelta(hours=6)


@pytest.mark.django_db
def test_add_webhook_command_prints_the_secret(capsys):
    call_command("add-webhook", "https://hooks.example/desk", "--events", "ticket_created")
    endpoint = WebhookEndpoint.objects.get()
    out = capsys.readouterr().out
    assert f"Secret: {endpoint.secret}" in out
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.events == ["ticket_created"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://hooks.example/x"], "valid URL"),
        (["https://hooks.example/x", "--events", "order_paid"], "unknown event: order_paid"),
    ],
)
def test_add_webhook_command_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("add-webhook", *args)
    assert not WebhookEndpoint.objects.exists()
