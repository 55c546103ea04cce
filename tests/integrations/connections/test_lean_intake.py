"""The lean webhook entry of `storedesk.wsgi`: a signed Shopify or WooCommerce delivery is
answered without the desk's request cycle (no middleware, no request signals) — signature,
one insert, 200 — and `storedesk web --processes N` serves it from several processes."""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.signals import request_started
from django.db import connection

from storedesk.integrations.connections.intake import sources
from storedesk.integrations.connections.models import InboundDelivery
from storedesk.integrations.woocommerce.webhooks import signature as wc_signature
from storedesk.wsgi import application
from tests.factories import StoreFactory
from tests.integrations.shopify.helpers import DOMAIN, SECRET, connect, fixture, hmac_header

pytestmark = pytest.mark.django_db


def call(path: str, body: bytes = b"", *, method: str = "POST", **headers) -> tuple:
    """(status line, headers, JSON) of the WSGI application for one request."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(response_headers)

    chunks = application(environ, start_response)
    content = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return answer["status"], answer["headers"], content


def shopify(body: bytes, webhook_id: str, *, secret: str = SECRET, topic="orders/create"):
    return call(
        "/webhooks/shopify/",
        body,
        **{
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": DOMAIN,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Hmac-Sha256": hmac_header(body, secret),
            "X-Request-ID": "lean-request-0001",
        },
    )


@pytest.fixture
def started():
    """The request_started signals sent while the test runs (the desk's request cycle)."""
    seen = []

    def receiver(**kwargs):
        seen.append(kwargs)

    request_started.connect(receiver)
    yield seen
    request_started.disconnect(receiver)


def test_shopify_and_woocommerce_are_served_by_the_lean_entry():
    assert set(sources()) >= {"/webhooks/shopify/", "/webhooks/woocommerce/"}


def test_a_signed_delivery_is_stored_without_the_desk_s_request_cycle(started):
    connect(StoreFactory())
    body = json.dumps(fixture("order")).encode()
    status, headers, content = shopify(body, "lean-1")
    assert status == "200 OK"
    assert json.loads(content) == {"received": True, "duplicate": False, "status": "received"}
    # no middleware ran (every desk response carries these), no request signal was sent
    assert "X-Frame-Options" not in headers
    assert "Vary" not in headers
    assert started == []
    assert headers["X-Request-ID"] == "lean-request-0001"
    delivery = InboundDelivery.objects.get()
    assert (delivery.delivery_id, delivery.topic, delivery.body) == (
        "lean-1",
        "orders/create",
        body.decode(),
    )
    assert delivery.correlation_id == "lean-request-0001"
    again = shopify(body, "lean-1")
    assert json.loads(again[2])["duplicate"] is True
    assert InboundDelivery.objects.count() == 1


def test_one_lookup_and_one_insert_per_delivery(django_assert_max_num_queries):
    connect(StoreFactory())
    body = json.dumps(fixture("order")).encode()
    shopify(body, "warm-up")  # the drain's first enqueue
    with django_assert_max_num_queries(3):  # lookup, insert, at most the coalesced drain
        assert shopify(body, "counted")[0] == "200 OK"


def test_refusals_store_nothing():
    connect(StoreFactory())
    body = json.dumps(fixture("order")).encode()
    status, _headers, content = shopify(body, "forged", secret="not-the-secret")
    assert (status, json.loads(content)["code"]) == ("401 Unauthorized", "bad_signature")
    status, _headers, content = shopify(b"{not json", "broken")
    assert (status, json.loads(content)["code"]) == ("400 Bad Request", "malformed_json")
    status, _headers, content = call(
        "/webhooks/shopify/",
        body,
        **{"X-Shopify-Shop-Domain": "elsewhere.myshopify.com", "X-Shopify-Webhook-Id": "x"},
    )
    assert (status, json.loads(content)["code"]) == ("401 Unauthorized", "unknown_shop")
    status, headers, _content = call("/webhooks/shopify/", method="GET")
    assert (status, headers["Allow"]) == ("405 Method Not Allowed", "POST")
    huge = b"{" + b" " * (1024 * 1024) + b"}"
    assert shopify(huge, "huge")[0] == "413 Content Too Large"
    assert not InboundDelivery.objects.exists()


def test_a_woocommerce_delivery_and_its_ping_through_the_lean_entry():
    from storedesk.integrations.connections.services import do_connect

    do_connect(
        StoreFactory(),
        "woocommerce",
        config={"site_url": "https://shop.tinypearl.example"},
        secrets={
            "consumer_key": "ck_1",
            "consumer_secret": "cs_1",
            "webhook_secret": "wc-secret",
        },
    )
    common = {"X-WC-Webhook-Source": "https://shop.tinypearl.example/", "X-WC-Webhook-ID": "7"}
    ping = b"webhook_id=7"
    status, _h, content = call(
        "/webhooks/woocommerce/",
        ping,
        **common,
        **{"X-WC-Webhook-Signature": wc_signature("wc-secret", ping)},
    )
    assert json.loads(content) == {"received": True, "ping": True}
    body = json.dumps({"id": 727, "status": "processing"}).encode()
    status, _h, content = call(
        "/webhooks/woocommerce/",
        body,
        **common,
        **{
            "X-WC-Webhook-Signature": wc_signature("wc-secret", body),
            "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Delivery-ID": "99",
        },
    )
    assert status == "200 OK"
    delivery = InboundDelivery.objects.get()
    assert delivery.delivery_id == "shop.tinypearl.example:7:99"
    assert delivery.object_key == "order:727"


def test_other_paths_go_to_the_desk():
    status, headers, _content = call("/accounts/login/", method="GET")
    assert status.startswith("200")
    assert "X-Frame-Options" in headers  # the desk's middleware ran


def test_the_database_connection_is_kept_between_deliveries():
    connect(StoreFactory())
    body = json.dumps(fixture("order")).encode()
    shopify(body, "keep-1")
    first = connection.connection
    shopify(body, "keep-2")
    assert connection.connection is first


# --- storedesk web --processes -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _two_children(pid: int, without: int | None = None) -> set[int] | None:
    found = _children(pid)
    return found if len(found) == 2 and without not in found else None


def _wait(predicate, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _get(port: int):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/webhooks/shopify/", timeout=2)  # noqa: S310
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers.get("Allow")
    except OSError:
        return None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_web_serves_from_several_processes_and_replaces_one_that_dies(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "STOREDESK_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "storedesk.settings.prod",
    }
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "storedesk", "web", f"--port={port}", "--processes=2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait(lambda: _get(port)) == (405, "POST")  # the lean entry answers
        children = _wait(lambda: _two_children(server.pid))
        victim = sorted(children)[0]
        os.kill(victim, signal.SIGKILL)
        replaced = _wait(lambda: _two_children(server.pid, without=victim))
        assert _wait(lambda: _get(port)) == (405, "POST")
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert all(not Path(f"/proc/{pid}").exists() for pid in replaced)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_web_children_stop_when_their_parent_is_killed(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "STOREDESK_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "storedesk.settings.prod",
    }
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "storedesk", "web", f"--port={port}", "--processes=2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children = _wait(lambda: _two_children(server.pid))
    server.kill()  # no chance to stop its children itself
    server.wait()
    try:
        _wait(lambda: all(not _alive(pid) for pid in children) or None, seconds=20)
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
