"""`storedesk setup` and the first-run page: an empty desk becomes a real store's desk."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from storedesk.accounts.models import User
from storedesk.accounts.roles import Role
from storedesk.commerce.models import Store
from storedesk.desk.models import Mailbox
from storedesk.triage.models import BusinessCalendar
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

FLAGS = [
    "--no-input",
    "--store-name", "Tiny Pearl Jewelry",
    "--store-slug", "tiny-pearl",
    "--currency", "usd",
    "--store-timezone", "America/Los_Angeles",
    "--team-timezone", "Asia/Ho_Chi_Minh",
    "--working-days", "0,1,2,3,4",
    "--hours", "08:00-12:00,13:00-17:00",
    "--holiday-country", "VN",
    "--admin-username", "owner",
    "--admin-email", "owner@tinypearl.example",
    "--support-email", "Help@TinyPearl.example",
    "--admin-password-env", "SETUP_TEST_PASSWORD",
]  # fmt: skip


def test_setup_without_questions_creates_store_calendar_admin_and_mailbox(monkeypatch):
    monkeypatch.setenv("SETUP_TEST_PASSWORD", "a long pearl password 42")
    out = io.StringIO()

    call_command("setup", *FLAGS, stdout=out)

    store = Store.objects.get()
    assert (store.name, store.slug, store.currency, store.timezone) == (
        "Tiny Pearl Jewelry",
        "tiny-pearl",
        "USD",
        "America/Los_Angeles",
    )
    assert store.support_email == "Help@TinyPearl.example"
    calendar = BusinessCalendar.objects.get(is_default=True)
    assert (calendar.timezone, calendar.working_days, calendar.hours) == (
        "Asia/Ho_Chi_Minh",
        [0, 1, 2, 3, 4],
        [["08:00", "12:00"], ["13:00", "17:00"]],
    )
    admin = User.objects.get(username="owner")
    assert admin.check_password("a long pearl password 42")
    assert admin.groups.filter(name=Role.ADMIN.value).exists()
    assert admin.timezone == "Asia/Ho_Chi_Minh"
    assert Mailbox.objects.filter(address="help@tinypearl.example").exists()
    assert "Store Tiny Pearl Jewelry (tiny-pearl) set up" in out.getvalue()


def test_setup_refuses_bad_values_and_writes_nothing(monkeypatch):
    monkeypatch.setenv("SETUP_TEST_PASSWORD", "short")
    flags = [*FLAGS]
    flags[flags.index("--currency") + 1] = "USS"
    flags[flags.index("--store-timezone") + 1] = "Mars/Olympus"

    with pytest.raises(CommandError) as refused:
        call_command("setup", *flags)

    message = str(refused.value)
    assert "USS is not an ISO 4217 currency." in message
    assert "Unknown time zone: Mars/Olympus." in message
    assert "This password is too short" in message
    assert not Store.objects.exists()
    assert not User.objects.filter(username="owner").exists()


def test_setup_is_refused_once_a_store_exists(monkeypatch):
    StoreFactory()
    monkeypatch.setenv("SETUP_TEST_PASSWORD", "a long pearl password 42")
    with pytest.raises(CommandError, match="set up already"):
        call_command("setup", *FLAGS)


def test_setup_asks_for_what_flags_leave_out(monkeypatch):
    answers = iter(
        ["Pearl Shop", "pearl-shop", "", "", "", "", "", "", "boss", "boss@x.example", ""]
    )
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt: "a long pearl password 42")

    call_command("setup", stdout=io.StringIO())

    store = Store.objects.get()
    assert (store.slug, store.currency, store.timezone) == ("pearl-shop", "USD", "America/New_York")
    assert User.objects.get(username="boss").email == "boss@x.example"


FORM = {
    "store_name": "Tiny Pearl Jewelry",
    "store_slug": "tiny-pearl",
    "currency": "USD",
    "store_timezone": "America/New_York",
    "team_timezone": "Asia/Ho_Chi_Minh",
    "working_days": ["0", "1", "2", "3", "4", "5"],
    "hours": "08:30-12:00, 13:30-17:30",
    "holiday_country": "vn",
    "admin_username": "owner",
    "admin_email": "owner@tinypearl.example",
    "admin_password": "a long pearl password 42",
    "support_email": "",
}


def test_first_run_page_on_a_fresh_install_sets_up_the_desk(client):
    assert client.get(reverse("onboarding:first_run")).status_code == 200

    response = client.post(reverse("onboarding:first_run"), FORM)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert Store.objects.get().slug == "tiny-pearl"
    assert User.objects.get(username="owner").groups.filter(name="admin").exists()
    # Set up: the page is gone for everyone.
    client.force_login(User.objects.get(username="owner"))
    assert client.get(reverse("onboarding:first_run")).status_code == 404


def test_first_run_page_shows_mistakes_without_writing(client):
    response = client.post(
        reverse("onboarding:first_run"), {**FORM, "team_timezone": "Nowhere/City"}
    )

    assert response.status_code == 400
    assert "Unknown time zone: Nowhere/City." in response.content.decode()
    assert not Store.objects.exists()


def test_first_run_page_needs_an_admin_once_users_exist(client, make_user):
    make_user(Role.AGENT, username="someone")
    anonymous = client.get(reverse("onboarding:first_run"))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/?next=")
    client.force_login(User.objects.get(username="someone"))
    assert client.get(reverse("onboarding:first_run")).status_code == 403
