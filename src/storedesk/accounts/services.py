"""The only writers of accounts data."""

import secrets
from datetime import datetime

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from storedesk.accounts.models import ApiToken, Team, User, hash_token
from storedesk.accounts.roles import ROLE_PERMISSIONS, Role
from storedesk.audit.services import record_audit

TOKEN_PREFIX = "sdk_"  # noqa: S105 - a public prefix that makes leaked tokens recognisable


def do_sync_roles() -> None:
    """Make each role's group hold exactly its permission set."""
    all_permissions = Permission.objects.select_related("content_type")
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in all_permissions}
    for role, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        if wanted == "__all__":
            group.permissions.set(by_name.values())
        else:
            group.permissions.set([by_name[name] for name in wanted if name in by_name])


@transaction.atomic
def do_create_user(
    *,
    username: str,
    email: str,
    password: str | None,
    roles: list[Role],
    first_name: str = "",
    last_name: str = "",
    language: str = "en",
    actor: User | None = None,
    password_hash: str | None = None,
) -> User:
    """Create a user with their roles. `password_hash` is a password hashed already (by
    `make_password`), for callers that create many users with one known password: hashing is
    meant to be slow (about 0.7 s each), so the demo hashes its shared password once."""
    user = User.objects.create_user(
        username=username,
        email=email,
        password=password if password_hash is None else None,
        first_name=first_name,
        last_name=last_name,
        language=language,
    )
    if password_hash is not None:
        user.password = password_hash
        user.save(update_fields=["password"])
    user.groups.set(Group.objects.filter(name__in=[role.value for role in roles]))
    record_audit(
        actor=actor,
        action="user.created",
        obj=user,
        changes={"username": username, "roles": [role.value for role in roles]},
    )
    return user


@transaction.atomic
def do_update_preferences(user: User, *, language: str, timezone_name: str) -> User:
    changes = {}
    if user.language != language:
        changes["language"] = [user.language, language]
    if user.timezone != timezone_name:
        changes["timezone"] = [user.timezone, timezone_name]
    user.language, user.timezone = language, timezone_name
    user.save(update_fields=["language", "timezone"])
    if changes:
        record_audit(actor=user, action="user.preferences_changed", obj=user, changes=changes)
    return user


@transaction.atomic
def do_create_team(*, name: str, slug: str, email: str = "", actor: User | None = None) -> Team:
    team = Team.objects.create(name=name, slug=slug, email=email)
    record_audit(actor=actor, action="team.created", obj=team, changes={"name": name})
    return team


@transaction.atomic
def do_create_api_token(
    user: User, *, name: str, expires_at: datetime | None = None, actor: User | None = None
) -> tuple[ApiToken, str]:
    """Return the token and its raw key; the key is shown once and never stored."""
    raw_key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw_key[:12],
        key_hash=hash_token(raw_key),
        expires_at=expires_at,
    )
    record_audit(
        actor=actor or user,
        action="api_token.created",
        obj=token,
        changes={"name": name, "user": user.username},
    )
    return token, raw_key


@transaction.atomic
def do_revoke_api_token(token: ApiToken, *, actor: User) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_audit(actor=actor, action="api_token.revoked", obj=token, changes={})


def authenticate_api_key(raw_key: str) -> User | None:
    """The active user behind a bearer key, or None."""
    if not raw_key.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw_key)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- Two-factor sign-in and sign-in lock-outs


@transaction.atomic
def do_start_authenticator_enrolment(user: User):
    """The user's unconfirmed authenticator (a new secret the first time), to show as a QR code
    until they confirm it with a code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


class WrongCode(ValueError):
    """The code does not match the authenticator (mistyped, expired, or used already)."""


@transaction.atomic
def do_confirm_authenticator(user: User, code: str):
    """Confirm the user's pending authenticator with one code from it; earlier confirmed ones
    are removed, so a lost phone is replaced by enrolling again."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("pk")
        .first()
    )
    if device is None or not device.verify_token(code.strip()):
        raise WrongCode
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record_audit(actor=user, action="user.two_factor_enrolled", obj=user, changes={})
    return device


def check_authenticator_code(user: User, code: str):
    """The confirmed authenticator that accepts this code, or WrongCode. django-otp throttles
    repeated wrong codes per device and refuses a code used once already."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_is_allowed()[0] and device.verify_token(code.strip()):
            return device
    raise WrongCode


def do_unlock_sign_in(*, actor: User, username: str = "", ip_address: str = "") -> int:
    """Lift a sign-in lock-out of an account and/or an address before its cool-off ends."""
    from axes.utils import reset

    username, ip_address = username.strip(), ip_address.strip()
    if not username and not ip_address:
        return 0
    removed = 0
    if username:
        removed += reset(username=username)
    if ip_address:
        removed += reset(ip=ip_address)
    with transaction.atomic():
        record_audit(
            actor=actor,
            action="user.sign_in_unlocked",
            obj=User.objects.filter(username=username).first() or actor,
            changes={"username": username, "ip_address": ip_address, "attempts": removed},
        )
    return removed
