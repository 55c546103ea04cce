"""Password guessing is throttled (django-axes) and the money roles sign in with a second
factor (TOTP, django-otp)."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry

PASSWORD = "Right-Pass-2026!"
LOGIN = reverse("accounts:login")


def _sign_in(client, username, password=PASSWORD, ip="198.51.100.7"):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, follow=False
    )


@pytest.fixture
def linh(make_user):
    user = make_user(Role.AGENT, username="linh")
    user.set_password(PASSWORD)
    user.save()
    return user


def _code(device, drift: int = 0) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{code:06d}"


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, linh):
    answers = [_sign_in(client, "linh", "guess").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]  # the fifth failure locks
    locked = _sign_in(client, "linh")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert "_auth_user_id" not in client.session


def test_the_lock_holds_from_another_address_too(client, linh):
    for n in range(5):
        _sign_in(client, "linh", "guess", ip=f"203.0.113.{n}")
    assert _sign_in(client, "linh", ip="192.0.2.50").status_code == 429


def test_an_address_that_guessed_many_accounts_is_locked(client, linh, make_user):
    for n in range(5):
        _sign_in(client, f"nobody{n}", "guess", ip="203.0.113.99")
    assert _sign_in(client, "linh", ip="203.0.113.99").status_code == 429
    assert _sign_in(client, "linh", ip="192.0.2.1").status_code == 302


def test_fewer_failures_still_let_the_right_password_in(client, linh):
    for _ in range(4):
        _sign_in(client, "linh", "guess")
    assert _sign_in(client, "linh").status_code == 302


def test_signing_in_with_another_account_does_not_clear_the_count(client, linh, make_user):
    mine = make_user(Role.AGENT, username="mallory")
    mine.set_password(PASSWORD)
    mine.save()
    for _ in range(4):
        _sign_in(client, "linh", "guess")
    assert _sign_in(client.__class__(), "mallory").status_code == 302
    assert _sign_in(client, "linh", "guess").status_code == 429
    assert _sign_in(client, "linh").status_code == 429


def test_an_admin_unlocks_an_account(client, linh, make_user):
    for _ in range(5):
        _sign_in(client, "linh", "guess")
    admin = make_user(Role.ADMIN, username="boss")
    admin_client = client.__class__()
    admin_client.force_login(admin)
    page = admin_client.get(reverse("accounts:lockouts"))
    assert page.status_code == 200
    assert "linh" in page.text
    response = admin_client.post(
        reverse("accounts:lockouts"), {"username": "linh", "ip_address": "198.51.100.7"}
    )
    assert response.status_code == 302
    assert _sign_in(client, "linh").status_code == 302
    assert AuditEntry.objects.filter(action="user.sign_in_unlocked", actor=admin).count() == 1


@pytest.mark.parametrize("role", [Role.AGENT, Role.LEAD, Role.PAYMENTS])
def test_only_admins_open_the_lockouts_page(client, make_user, role):
    client.force_login(make_user(role, username=f"u-{role}"))
    assert client.get(reverse("accounts:lockouts")).status_code == 403


def test_the_reset_command_unlocks_too(client, linh):
    from django.core.management import call_command

    for _ in range(5):
        _sign_in(client, "linh", "guess")
    call_command("axes_reset_username", "linh")
    assert _sign_in(client, "linh").status_code == 302


# --- two-factor sign-in


@pytest.fixture
def require_2fa(settings):
    settings.STOREDESK_REQUIRE_2FA = True


def _user(make_user, role):
    user = make_user(role, username=f"u-{role}")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.mark.parametrize(
    ("role", "enrols"),
    [(Role.ADMIN, True), (Role.PAYMENTS, True), (Role.LEAD, False), (Role.AGENT, False)],
)
def test_money_roles_are_sent_to_enrol_after_the_password(
    client, make_user, require_2fa, role, enrols
):
    _user(make_user, role)
    assert _sign_in(client, f"u-{role}").status_code == 302
    page = client.get("/orders/")
    if enrols:
        assert page.status_code == 302
        assert page.url.startswith(reverse("accounts:two_factor_enrol"))
        enrol = client.get(page.url)
        assert enrol.status_code == 200
        assert "<svg" in enrol.text
        assert enrol.context["manual_key"]
    else:
        assert page.status_code == 200


def test_the_requirement_can_be_turned_off(client, make_user, settings):
    settings.STOREDESK_REQUIRE_2FA = False
    _user(make_user, Role.ADMIN)
    _sign_in(client, f"u-{Role.ADMIN}")
    assert client.get("/orders/").status_code == 200


def test_enrolment_confirms_with_a_code_from_the_app(client, make_user, require_2fa):
    user = _user(make_user, Role.PAYMENTS)
    _sign_in(client, user.username)
    client.get(reverse("accounts:two_factor_enrol"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)

    wrong = client.post(reverse("accounts:two_factor_enrol"), {"code": "000000"})
    assert wrong.status_code == 400
    assert client.get("/orders/").status_code == 302

    right = client.post(reverse("accounts:two_factor_enrol"), {"code": _code(device)})
    assert right.status_code == 302
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/orders/").status_code == 200


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AGENT])
def test_a_confirmed_authenticator_asks_for_a_code_before_any_page(
    client, make_user, require_2fa, role, settings
):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the right code may follow the wrong one at once
    user = _user(make_user, role)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    _sign_in(client, user.username)

    page = client.get("/orders/")
    assert page.status_code == 302
    assert page.url.startswith(reverse("accounts:two_factor"))
    api = client.get("/api/v1/orders")
    assert api.status_code == 401
    assert api.json()["code"] == "two_factor_required"

    wrong = client.post(reverse("accounts:two_factor"), {"code": "123456", "next": "/orders/"})
    assert wrong.status_code == 400
    assert client.get("/orders/").status_code == 302

    right = client.post(reverse("accounts:two_factor"), {"code": _code(device), "next": "/orders/"})
    assert right.status_code == 302
    assert right.url == "/orders/"
    assert client.get("/orders/").status_code == 200


def test_an_agent_who_opted_in_is_asked_even_when_the_requirement_is_off(
    client, make_user, settings
):
    settings.STOREDESK_REQUIRE_2FA = False
    user = _user(make_user, Role.AGENT)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    _sign_in(client, user.username)
    assert client.get("/orders/").status_code == 302


def test_an_agent_opts_in_from_preferences(client, make_user):
    user = _user(make_user, Role.AGENT)
    client.force_login(user)
    prefs = client.get(reverse("accounts:preferences"))
    assert 'data-testid="two-factor-enrol"' in prefs.text
    client.get(reverse("accounts:two_factor_enrol"))
    device = TOTPDevice.objects.get(user=user)
    client.post(reverse("accounts:two_factor_enrol"), {"code": _code(device)})
    assert 'data-testid="two-factor-on"' in client.get(reverse("accounts:preferences")).text


def test_api_bearer_tokens_are_not_asked_for_a_code(client, make_user, require_2fa):
    from storedesk.accounts.services import do_create_api_token

    user = _user(make_user, Role.ADMIN)
    raw = do_create_api_token(user, name="shop sync")[1]
    response = client.get("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


def test_wrong_codes_slow_down_the_next_try(client, make_user, require_2fa):
    user = _user(make_user, Role.ADMIN)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    _sign_in(client, user.username)
    client.post(reverse("accounts:two_factor"), {"code": "123456"})
    throttled = client.post(reverse("accounts:two_factor"), {"code": _code(device)})
    assert throttled.status_code == 400
    assert client.get("/orders/").status_code == 302


@pytest.mark.parametrize("required", [True, False])
def test_the_demo_says_how_admin_and_payments_sign_in(settings, db, required):
    from io import StringIO

    from django.core.management import call_command

    from tests.factories import StoreFactory

    settings.STOREDESK_REQUIRE_2FA = required
    StoreFactory()
    out = StringIO()
    call_command("demo", "--if-empty", stdout=out)
    assert ("authenticator app" in out.getvalue()) is required
