"""Signed Shopify deliveries for tests: bodies from Shopify's own fixtures, signed as Shopify
signs them, posted through the real endpoint."""

import base64
import copy
import hashlib
import hmac
import itertools
import json

from storedesk.integrations.connections.services import do_connect
from tests.shared_data import shared_json

URL = "/webhooks/shopify/"
DOMAIN = "tiny-pearl.myshopify.com"
SECRET = "shpss_test_0f4e2d9c8b7a"
TOKEN = "shpat_test_1a2b3c4d"
_ids = itertools.count(1)


def connect(store, **config):
    return do_connect(
        store,
        "shopify",
        config={"shop_domain": DOMAIN, **config},
        secrets={"access_token": TOKEN, "webhook_secret": SECRET},
    )


def fixture(name: str) -> dict:
    """A Shopify REST object from the fixtures, without its outer key (a webhook body)."""
    document = shared_json(f"fixtures/shopify/{name}.json")
    return copy.deepcopy(next(iter(document.values())))


def hmac_header(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(client, topic: str, payload, *, webhook_id=None, secret=SECRET, domain=DOMAIN, **headers):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-Webhook-Id": webhook_id or f"wh-{next(_ids)}",
        "X-Shopify-Hmac-Sha256": hmac_header(body, secret),
        "X-Shopify-Triggered-At": "2026-01-05T10:00:00Z",
        "X-Shopify-API-Version": "2025-01",
    }
    sent.update(headers)
    return client.post(URL, data=body, content_type="application/json", headers=sent)
