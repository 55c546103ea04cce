"""Connections: secrets encrypted at rest and rotatable, validated per system, one lookup."""

import logging

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from storedesk.audit.models import AuditEntry
from storedesk.core.models import DomainEvent
from storedesk.integrations.connections.credentials import (
    NotConnected,
    connection_by_lookup,
    credentials_for,
)
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.secrets import SecretsUnreadable
from storedesk.integrations.connections.services import (
    do_connect,
    do_disconnect,
    do_mark_broken,
    do_rotate_secrets,
)
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

TOKEN = "shpat_0123456789abcdef"
HOOK = "hush-webhook-secret"


def connect_shopify(store, domain="tiny-pearl.myshopify.com"):
    return do_connect(
        store,
        "shopify",
        config={"shop_domain": domain},
        secrets={"access_token": TOKEN, "webhook_secret": HOOK},
    )


def test_secrets_are_stored_encrypted_and_read_back_for_adapters():
    store = StoreFactory()
    connection = connect_shopify(store)
    stored = Connection.objects.get(pk=connection.pk)
    assert TOKEN not in stored.secrets_token
    assert HOOK not in stored.secrets_token
    assert stored.secret_names == ["access_token", "webhook_secret"]
    credentials = credentials_for(store, "shopify")
    assert credentials.secrets["access_token"] == TOKEN
    assert credentials.config == {"shop_domain": "tiny-pearl.myshopify.com"}
    assert TOKEN not in repr(credentials)
    assert TOKEN not in str(credentials.secrets)


def test_no_secret_reaches_the_audit_trail_or_the_log(caplog):
    caplog.set_level(logging.DEBUG)
    store = StoreFactory()
    connect_shopify(store)
    do_mark_broken(Connection.objects.get(), "token revoked")
    trail = " ".join(str(entry.changes) for entry in AuditEntry.objects.all())
    assert "connection.connected" in set(AuditEntry.objects.values_list("action", flat=True))
    assert TOKEN not in trail
    assert HOOK not in trail
    assert TOKEN not in caplog.text
    assert HOOK not in caplog.text


def test_each_system_says_what_it_needs():
    store = StoreFactory()
    with pytest.raises(ValidationError) as refused:
        do_connect(store, "shopify", config={"shop_domain": "evil.example"}, secrets={})
    assert set(refused.value.message_dict) == {"shop_domain", "access_token", "webhook_secret"}
    with pytest.raises(ValidationError):
        do_connect(store, "myspace", config={}, secrets={})
    assert not Connection.objects.exists()


def test_one_shop_belongs_to_one_store_and_is_found_by_its_domain():
    first, second = StoreFactory(slug="first"), StoreFactory(slug="second")
    connection = connect_shopify(first, "Tiny-Pearl.myshopify.com")
    assert connection_by_lookup("shopify", "tiny-pearl.MYSHOPIFY.com") == connection
    assert connection_by_lookup("shopify", "other.myshopify.com") is None
    with pytest.raises(ValidationError):
        connect_shopify(second, "tiny-pearl.myshopify.com")


def test_reconnecting_replaces_the_secrets_and_heals_a_broken_connection():
    store = StoreFactory()
    connection = connect_shopify(store)
    do_mark_broken(connection, "token revoked")
    with pytest.raises(NotConnected, match="token revoked"):
        credentials_for(store, "shopify")
    do_connect(
        store,
        "shopify",
        config={"shop_domain": "tiny-pearl.myshopify.com"},
        secrets={"access_token": "shpat_new", "webhook_secret": HOOK},
    )
    assert Connection.objects.count() == 1
    assert credentials_for(store, "shopify").secrets["access_token"] == "shpat_new"


def test_marking_broken_tells_the_team_once():
    store = StoreFactory()
    connection = connect_shopify(store)
    do_mark_broken(connection, "app uninstalled")
    do_mark_broken(connection, "app uninstalled")
    assert DomainEvent.objects.filter(name="connection_broken").count() == 1
    assert Connection.objects.get().status == Connection.Status.BROKEN


def test_disconnecting_forgets_the_secrets():
    store = StoreFactory()
    connection = do_disconnect(connect_shopify(store))
    assert connection.secrets_token == ""
    with pytest.raises(NotConnected):
        credentials_for(store, "shopify")


def test_rotation_re_encrypts_under_the_new_key_and_the_old_key_can_then_go(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.STOREDESK_SECRET_KEYS = [old]
    store = StoreFactory()
    connect_shopify(store)
    settings.STOREDESK_SECRET_KEYS = [new, old]
    assert credentials_for(store, "shopify").secrets["access_token"] == TOKEN
    assert do_rotate_secrets() == 1
    settings.STOREDESK_SECRET_KEYS = [new]
    assert credentials_for(store, "shopify").secrets["access_token"] == TOKEN


def test_a_dropped_key_is_reported_not_silently_ignored(settings):
    settings.STOREDESK_SECRET_KEYS = [Fernet.generate_key().decode()]
    store = StoreFactory()
    connect_shopify(store)
    settings.STOREDESK_SECRET_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretsUnreadable):
        credentials_for(store, "shopify")
    with pytest.raises(CommandError, match="keep the old key"):
        call_command("rotate-secrets")


def test_connect_command(capsys):
    store = StoreFactory(slug="tiny-pearl")
    call_command(
        "connect",
        "shopify",
        "--store",
        "tiny-pearl",
        "--domain",
        "tiny-pearl.myshopify.com",
        "--token",
        TOKEN,
        "--webhook-secret",
        HOOK,
    )
    out = capsys.readouterr().out
    assert "Connected tiny-pearl to Shopify" in out
    assert TOKEN not in out
    assert credentials_for(store, "shopify").secrets["webhook_secret"] == HOOK
    with pytest.raises(CommandError, match="--domain"):
        call_command(
            "connect",
            "shopify",
            "--store",
            "tiny-pearl",
            "--domain",
            "shop.example.com",
            "--token",
            "t",
            "--webhook-secret",
            "s",
        )
