from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from storedesk.accounts.models import ApiToken
from storedesk.accounts.roles import ROLE_PERMISSIONS, Role
from storedesk.accounts.services import (
    authenticate_api_key,
    do_create_api_token,
    do_create_user,
    do_revoke_api_token,
    do_update_preferences,
)
from storedesk.audit.models import AuditEntry


@pytest.mark.parametrize(
    ("role", "perm", "allowed"),
    [
        (Role.AGENT, "commerce.view_order", True),
        (Role.AGENT, "commerce.view_payment_details", False),
        (Role.AGENT, "accounts.view_team", False),
        (Role.LEAD, "accounts.view_team", True),
        (Role.LEAD, "commerce.view_payment_details", False),
        (Role.PAYMENTS, "commerce.view_payment_details", True),
        (Role.PAYMENTS, "disputes.view_dispute", True),
        (Role.ADMIN, "commerce.view_payment_details", True),
        (Role.ADMIN, "audit.view_auditentry", True),
    ],
)
def test_roles_are_permission_sets(make_user, role, perm, allowed):
    assert make_user(role).has_perm(perm) is allowed


def test_every_named_permission_exists(db):
    from django.contrib.auth.models import Permission

    existing = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    }
    for names in ROLE_PERMISSIONS.values():
        if names != "__all__":
            assert set(names) <= existing


def test_create_user_assigns_role_and_is_audited(db):
    user = do_create_user(
        username="linh",
        email="linh@desk.example",
        password="x-y-z-123456",
        roles=[Role.PAYMENTS],
        language="vi",
    )
    assert user.role_names == ["payments_specialist"]
    assert user.language == "vi"
    entry = AuditEntry.objects.for_object(user).get()
    assert entry.action == "user.created"
    assert entry.changes == {"username": "linh", "roles": ["payments_specialist"]}


def test_create_user_with_a_password_hashed_already(db):
    password_hash = make_password("shared-demo-password")
    first, second = (
        do_create_user(
            username=name,
            email=f"{name}@desk.example",
            password=None,
            password_hash=password_hash,
            roles=[Role.AGENT],
        )
        for name in ("an", "binh")
    )
    for user in (first, second):
        user.refresh_from_db()
        assert user.password == password_hash
        assert user.check_password("shared-demo-password")


def test_preferences_change_is_audited_with_before_and_after(agent):
    do_update_preferences(agent, language="vi", timezone_name="America/Chicago")
    agent.refresh_from_db()
    assert (agent.language, agent.timezone) == ("vi", "America/Chicago")
    entry = AuditEntry.objects.for_object(agent).get(action="user.preferences_changed")
    assert entry.changes == {
        "language": ["en", "vi"],
        "timezone": ["Asia/Ho_Chi_Minh", "America/Chicago"],
    }


def test_api_token_is_stored_hashed_and_can_be_revoked(agent):
    token, raw_key = do_create_api_token(agent, name="Zapier")
    assert raw_key.startswith("sdk_")
    assert raw_key not in token.key_hash
    assert authenticate_api_key(raw_key) == agent
    assert authenticate_api_key(raw_key + "x") is None
    assert authenticate_api_key("not-a-key") is None

    do_revoke_api_token(token, actor=agent)
    assert authenticate_api_key(raw_key) is None


def test_expired_token_and_inactive_user_are_refused(agent):
    token, raw_key = do_create_api_token(
        agent, name="old", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert authenticate_api_key(raw_key) is None
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None)
    agent.is_active = False
    agent.save()
    assert authenticate_api_key(raw_key) is None
