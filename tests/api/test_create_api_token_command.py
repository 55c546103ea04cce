"""`storedesk create_api_token USERNAME [--name NAME]` prints a working key, once."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from storedesk.accounts.models import ApiToken, hash_token
from storedesk.accounts.roles import Role


def _run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_prints_a_key_that_works_and_stores_only_its_hash(make_user):
    make_user(Role.AGENT, username="zapier-bot")

    raw_key, advice = _run("zapier-bot", "--name", "Zapier")

    token = ApiToken.objects.get()
    assert raw_key.startswith("sdk_")
    assert token.name == "Zapier"
    assert token.key_hash == hash_token(raw_key)
    assert raw_key not in (token.prefix, token.key_hash)
    assert "cannot be shown again" in advice
    response = Client(headers={"Authorization": f"Bearer {raw_key}"}).get("/api/v1/orders")
    assert response.status_code == 200


def test_expiry_in_days(make_user):
    make_user(Role.AGENT, username="temp")

    _run("temp", "--expires-in-days", "30")

    assert ApiToken.objects.get().expires_at is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody"], "No user is called 'nobody'."),
        (["gone"], "'gone' is deactivated"),
        (["temp", "--expires-in-days", "0"], "at least 1"),
    ],
)
def test_refuses_what_would_not_work(make_user, args, message):
    make_user(Role.AGENT, username="gone", is_active=False)
    make_user(Role.AGENT, username="temp")

    with pytest.raises(CommandError, match=message):
        _run(*args)

    assert not ApiToken.objects.exists()
