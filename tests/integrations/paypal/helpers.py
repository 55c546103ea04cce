"""A PayPal-like signer for tests: our own root CA, intermediate and a leaf issued to
messageverificationcerts.paypal.com, served by a local HTTP server, signing deliveries the way
PayPal does (transmission id | time | webhook id | CRC32 of the body, SHA256withRSA)."""

import base64
import json
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from storedesk.integrations.connections.services import do_connect

URL = "/webhooks/paypal/"
WEBHOOK_ID = "1JE4291016473214C"  # the spec's example webhook id
CERT_PATH = "/v1/notifications/certs/CERT-360caa42-fca2a594-test"
SIGNER_NAME = "messageverificationcerts.paypal.com"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, subject_key, issuer, issuer_key, *, ca: bool, dns: str = ""):
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = (
            builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )
    return builder.sign(issuer_key, hashes.SHA256())


def pem(*certificates) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


@dataclass
class Signer:
    """A CA hierarchy and the key that signs deliveries."""

    root: x509.Certificate
    chain_pem: bytes  # what the certificate URL serves: the leaf, then the intermediate
    key: rsa.RSAPrivateKey

    @classmethod
    def create(cls, *, signer_name: str = SIGNER_NAME) -> "Signer":
        root_key, intermediate_key, leaf_key = _key(), _key(), _key()
        root = _certificate(
            _name("Test Root CA"), root_key, _name("Test Root CA"), root_key, ca=True
        )
        intermediate = _certificate(
            _name("Test High Assurance CA"), intermediate_key, root.subject, root_key, ca=True
        )
        leaf = _certificate(
            _name(signer_name),
            leaf_key,
            intermediate.subject,
            intermediate_key,
            ca=False,
            dns=signer_name,
        )
        return cls(root, pem(leaf, intermediate), leaf_key)

    def headers(
        self, body: bytes, cert_url: str, *, webhook_id: str = WEBHOOK_ID, sent_at=None
    ) -> dict:
        transmission_id = str(uuid.uuid4())
        when = (sent_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        message = f"{transmission_id}|{when}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}"
        signature = self.key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": when,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }


def connect(store, **config):
    return do_connect(
        store,
        "paypal",
        config={
            "client_id": "AYSq3RDGsmBLJE-otTkBtM-jBRd1TCQwFf9RGfwddNXWz0uFU9ztymylOhRS",
            "webhook_id": WEBHOOK_ID,
            **config,
        },
        secrets={"client_secret": "EGnHDxD_qRPdaLdZz8iCr8N7_MzF-YHPTkjs6NKYQvQSBngp4PTTVWkPZRbL"},
    )


def event(event_type: str, resource: dict, *, event_id: str | None = None) -> dict:
    """A webhook event as notifications_webhooks_v1 shapes it."""
    return {
        "id": event_id or f"WH-{uuid.uuid4().hex[:17].upper()}",
        "event_version": "1.0",
        "create_time": "2026-03-05T10:00:00.000Z",
        "resource_type": "dispute" if "DISPUTE" in event_type else "capture",
        "event_type": event_type,
        "summary": event_type,
        "resource": resource,
        "links": [],
    }


def dispute(capture_id: str, **overrides) -> dict:
    """A customer_disputes_v1 `dispute` with the fields the desk reads."""
    body = {
        "dispute_id": "PP-D-27803",
        "create_time": "2026-03-04T18:13:42.000Z",
        "update_time": "2026-03-04T18:13:42.000Z",
        "disputed_transactions": [
            {
                "seller_transaction_id": capture_id,
                "buyer_transaction_id": "4FX97935YH8484125",
                "create_time": "2026-03-01T10:00:00.000Z",
                "transaction_status": "COMPLETED",
                "gross_amount": {"currency_code": "USD", "value": "89.00"},
            }
        ],
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "status": "WAITING_FOR_SELLER_RESPONSE",
        "dispute_amount": {"currency_code": "USD", "value": "89.00"},
        "dispute_life_cycle_stage": "CHARGEBACK",
        "dispute_channel": "INTERNAL",
        "seller_response_due_date": "2026-03-14T18:13:42.000Z",
        "links": [],
    }
    body.update(overrides)
    return body


def capture(capture_id: str, invoice_id: str, status="COMPLETED", value="89.00") -> dict:
    """A payments_v2 `capture`."""
    return {
        "id": capture_id,
        "status": status,
        "amount": {"currency_code": "USD", "value": value},
        "final_capture": True,
        "seller_protection": {"status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED"]},
        "invoice_id": invoice_id,
        "supplementary_data": {"related_ids": {"order_id": "5O190127TN364715T"}},
        "create_time": "2026-03-01T10:00:00Z",
        "update_time": "2026-03-01T10:00:00Z",
        "links": [],
    }


def refund(refund_id: str, capture_id: str, value="20.00") -> dict:
    """A payments_v2 `refund`: its capture is the `up` link."""
    return {
        "id": refund_id,
        "status": "COMPLETED",
        "amount": {"currency_code": "USD", "value": value},
        "create_time": "2026-03-06T10:00:00Z",
        "links": [
            {
                "href": f"https://api-m.paypal.com/v2/payments/refunds/{refund_id}",
                "rel": "self",
                "method": "GET",
            },
            {
                "href": f"https://api-m.paypal.com/v2/payments/captures/{capture_id}",
                "rel": "up",
                "method": "GET",
            },
        ],
    }


def body_of(payload: dict) -> bytes:
    return json.dumps(payload).encode()
