"""Refunds at the gateways use the store's own connection when it has one (one PayPal base-URL
setting, its old name still read), else the desk-wide settings."""

import os
import subprocess
import sys

import pytest

from storedesk.integrations.connections.services import do_connect, do_disconnect
from storedesk.resolutions.gateways import gateway_credentials
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_stripe_refunds_use_the_store_s_connection_else_the_settings(settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE = "sk_desk", "https://api.stripe.com"
    store = StoreFactory()
    assert gateway_credentials(store, "stripe")["secret_key"] == "sk_desk"
    connection = do_connect(
        store,
        "stripe",
        config={"account_id": "acct_1Store", "api_base_url": "http://127.0.0.1:9"},
        secrets={"api_key": "rk_store"},
    )
    assert gateway_credentials(store, "stripe") == {
        "secret_key": "rk_store",
        "api_base": "http://127.0.0.1:9",
    }
    do_disconnect(connection)
    assert gateway_credentials(store, "stripe")["secret_key"] == "sk_desk"


def test_paypal_refunds_use_the_store_s_connection(settings):
    settings.PAYPAL_CLIENT_ID, settings.PAYPAL_API_BASE_URL = "desk-id", ""
    store = StoreFactory()
    assert gateway_credentials(store, "paypal")["client_id"] == "desk-id"
    do_connect(
        store,
        "paypal",
        config={"client_id": "store-id", "webhook_id": "WH-1", "environment": "sandbox"},
        secrets={"client_secret": "store-secret"},
    )
    assert gateway_credentials(store, "paypal") == {
        "client_id": "store-id",
        "client_secret": "store-secret",
        "environment": "sandbox",
        "api_base": "",
    }


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PAYPAL_API_BASE_URL": "http://new.example"}, "http://new.example"),
        ({"PAYPAL_API_BASE": "http://old.example"}, "http://old.example"),
        (
            {"PAYPAL_API_BASE_URL": "http://new.example", "PAYPAL_API_BASE": "http://old.example"},
            "http://new.example",
        ),
        ({}, ""),
    ],
)
def test_one_paypal_base_url_setting_reads_its_old_name_too(env, expected):
    environ = {
        k: v for k, v in os.environ.items() if k not in ("PAYPAL_API_BASE", "PAYPAL_API_BASE_URL")
    }
    code = "from storedesk.settings import base; print(repr(base.PAYPAL_API_BASE_URL))"
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        env=environ | env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == repr(expected)
