"""Connection secrets, encrypted at rest with Fernet keys from settings.

`STOREDESK_SECRET_KEYS` holds comma-separated Fernet keys: the first encrypts, every one
decrypts, so a key is rotated by putting a new one first, running `storedesk rotate-secrets`
(re-encrypts every connection with it) and then dropping the old one. Without the setting a key
is derived from SECRET_KEY, which is fine for a desk on one machine; a secret encrypted under it
is re-encrypted by the same command once real keys are set.

Decrypted values live only in memory, in a `SecretValues` that never prints what it holds.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DERIVATION_LABEL = b"storedesk connection secrets v1:"


class SecretsUnreadable(Exception):
    """No configured key decrypts a stored secret (a key was dropped before rotating)."""


class SecretValues(Mapping):
    """A read-only mapping of secret values whose repr and str name the keys only, so a
    secret that reaches a log line, a traceback or a template shows as '***'."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str]):
        self._values = dict(values)

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return "SecretValues(" + ", ".join(f"{key}=***" for key in self._values) + ")"

    __str__ = __repr__


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from Django's SECRET_KEY (the default when no keys are set)."""
    digest = hashlib.sha256(DERIVATION_LABEL + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def configured_keys() -> tuple[bytes, ...]:
    keys = tuple(
        key.strip().encode() for key in getattr(settings, "STOREDESK_SECRET_KEYS", []) if key
    )
    return keys or (derived_key(settings.SECRET_KEY),)


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "STOREDESK_SECRET_KEYS must be Fernet keys (32 url-safe base64-encoded bytes)"
        ) from error


def fernet() -> MultiFernet:
    return _multi_fernet(configured_keys())


def encrypt_secrets(values: Mapping[str, str]) -> str:
    """The token stored for a connection's secrets (JSON of the values, encrypted)."""
    plain = json.dumps(dict(values), sort_keys=True, separators=(",", ":")).encode()
    return fernet().encrypt(plain).decode()


def decrypt_secrets(token: str) -> SecretValues:
    if not token:
        return SecretValues({})
    try:
        return SecretValues(json.loads(fernet().decrypt(token.encode())))
    except InvalidToken as error:
        raise SecretsUnreadable("no configured key decrypts this secret") from error


def rotate_token(token: str) -> str:
    """The same secrets encrypted under the first key (MultiFernet.rotate)."""
    if not token:
        return token
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as error:
        raise SecretsUnreadable("no configured key decrypts this secret") from error
