"""PayPal webhook signatures, checked as PayPal documents them.

PayPal signs `<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw body>` with
SHA256withRSA, using the private key of the certificate named in `PAYPAL-CERT-URL`. We fetch
that certificate only from PayPal's own hosts (`PAYPAL_CERT_URL_PREFIXES`), check its chain up
to a trusted root and that it was issued to `PAYPAL_CERT_SUBJECT`, cache it, and verify the
signature with its public key. The alternative, `PAYPAL_WEBHOOK_VERIFICATION=postback`, asks
PayPal's verify-webhook-signature endpoint instead (see `client.PayPalClient`).
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from django.conf import settings
from django.utils.dateparse import parse_datetime

logger = logging.getLogger(__name__)

HEADERS = (
    "PAYPAL-TRANSMISSION-ID",
    "PAYPAL-TRANSMISSION-TIME",
    "PAYPAL-TRANSMISSION-SIG",
    "PAYPAL-CERT-URL",
    "PAYPAL-AUTH-ALGO",
)
AUTH_ALGO = "SHA256withRSA"
MAX_CERT_BYTES = 64 * 1024
CERT_FETCH_TIMEOUT = 10


class SignatureRefused(Exception):
    """Why a delivery's signature does not hold (logged; the sender gets a plain 401)."""


@dataclass(frozen=True)
class Transmission:
    """The PAYPAL-* headers of one delivery."""

    transmission_id: str
    transmission_time: str
    signature: str
    cert_url: str
    auth_algo: str

    @classmethod
    def from_headers(cls, headers) -> Transmission:
        values = [headers.get(name, "").strip() for name in HEADERS]
        missing = [name for name, value in zip(HEADERS, values, strict=True) if not value]
        if missing:
            raise SignatureRefused(f"missing {', '.join(missing)}")
        return cls(*values)


def signed_message(transmission: Transmission, webhook_id: str, body: bytes) -> bytes:
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return (
        f"{transmission.transmission_id}|{transmission.transmission_time}|{webhook_id}|{crc}"
    ).encode()


def check_time(transmission: Transmission, now: datetime | None = None) -> None:
    """Refuse a transmission dated beyond the tolerance (PayPal retries for 3 days)."""
    sent = parse_datetime(transmission.transmission_time)
    if sent is None or sent.tzinfo is None:
        raise SignatureRefused(f"transmission time {transmission.transmission_time!r} unreadable")
    now = now or datetime.now(UTC)
    tolerance = timedelta(seconds=settings.PAYPAL_WEBHOOK_TOLERANCE_SECONDS)
    if sent < now - tolerance:
        raise SignatureRefused("transmission too old")
    if sent > now + timedelta(minutes=5):
        raise SignatureRefused("transmission dated in the future")


def verify_with_certificate(transmission: Transmission, webhook_id: str, body: bytes) -> None:
    """Raise SignatureRefused unless PayPal's certificate signed this body for `webhook_id`."""
    if transmission.auth_algo != AUTH_ALGO:
        raise SignatureRefused(f"unsupported PAYPAL-AUTH-ALGO {transmission.auth_algo!r}")
    try:
        signature = base64.b64decode(transmission.signature, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRefused("PAYPAL-TRANSMISSION-SIG is not base64") from None
    public_key = certificate_key(transmission.cert_url)
    try:
        public_key.verify(
            signature,
            signed_message(transmission, webhook_id, body),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise SignatureRefused("signature does not match") from None


# --- the signing certificate -------------------------------------------------------------------

_cache: dict[str, tuple[float, rsa.RSAPublicKey]] = {}
_cache_lock = threading.Lock()


def clear_certificate_cache() -> None:
    with _cache_lock:
        _cache.clear()


def is_paypal_url(url: str) -> bool:
    return any(url.startswith(prefix) for prefix in settings.PAYPAL_CERT_URL_PREFIXES)


def certificate_key(url: str) -> rsa.RSAPublicKey:
    """The public key of the verified certificate at `url`, cached (`PAYPAL_CERT_CACHE_SECONDS`)."""
    if not is_paypal_url(url):
        raise SignatureRefused(f"certificate URL not on a PayPal host: {url[:200]!r}")
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(url)
    if cached and cached[0] > now:
        return cached[1]
    key = _verified_key(_download(url))
    with _cache_lock:
        _cache[url] = (now + settings.PAYPAL_CERT_CACHE_SECONDS, key)
    return key


def _download(url: str) -> bytes:
    try:
        response = requests.get(url, timeout=CERT_FETCH_TIMEOUT, stream=True, allow_redirects=False)
        content = response.raw.read(MAX_CERT_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise SignatureRefused(f"certificate not fetched: {error}") from None
    if response.status_code != 200:  # noqa: PLR2004
        raise SignatureRefused(f"certificate URL answered {response.status_code}")
    if len(content) > MAX_CERT_BYTES:
        raise SignatureRefused("certificate too large")
    return content


def _trust_store() -> Store:
    path = settings.PAYPAL_CERT_TRUST_ROOTS
    if not path:
        import certifi

        path = certifi.where()
    with open(path, "rb") as roots:
        return Store(x509.load_pem_x509_certificates(roots.read()))


def _verified_key(pem: bytes) -> rsa.RSAPublicKey:
    """The leaf's key once its chain leads to a trusted root and it names PayPal's signer."""
    try:
        leaf, *intermediates = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise SignatureRefused("certificate URL did not return PEM certificates") from None
    verifier = (
        PolicyBuilder()
        .store(_trust_store())
        .time(datetime.now(UTC))
        .build_server_verifier(x509.DNSName(settings.PAYPAL_CERT_SUBJECT))
    )
    try:
        verifier.verify(leaf, intermediates)
    except VerificationError as error:
        raise SignatureRefused(f"certificate not trusted for PayPal's signer: {error}") from None
    key = leaf.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureRefused("certificate key is not RSA")
    return key
