"""Local stand-ins for Stripe's and PayPal's refund APIs (pytest-httpserver), answering with
the documented shapes: Stripe's refund object (fixtures3.json) and error envelope, PayPal's
refund and its 422 issues (payments_payment_v2.openapi.json). Like the real APIs they honour
idempotency keys: the same key returns the refund made the first time, whatever happens after.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from urllib.parse import parse_qs

from werkzeug import Response

from tests.shared_data import shared_json

STRIPE_ERRORS = {
    # code: (HTTP status, type, message) as Stripe answers them
    "charge_already_refunded": (
        400,
        "invalid_request_error",
        "Charge {charge} has already been refunded.",
    ),
    "amount_too_large": (
        400,
        "invalid_request_error",
        "Refund amount ($%(amount)s) is greater than unrefunded amount on charge.",
    ),
    "charge_disputed": (
        400,
        "invalid_request_error",
        "Charge {charge} has been charged back; cannot issue a refund.",
    ),
    "balance_insufficient": (
        400,
        "invalid_request_error",
        "You have insufficient funds in your Stripe account for this refund.",
    ),
    "insufficient_funds": (
        402,
        "card_error",
        "Your account has insufficient funds to cover this refund.",
    ),
    "rate_limit": (429, "invalid_request_error", "Too many requests hit the API too quickly."),
    "api_error": (500, "api_error", "Something went wrong on Stripe's end."),
}


class FakeStripe:
    """POST /v1/refunds. `fail_with` makes the next calls fail with a documented error (for
    `times` calls, then succeed); `delay` sleeps before answering (a slow gateway)."""

    def __init__(self, httpserver, delay: float = 0.0) -> None:
        self.server = httpserver
        self.delay = delay
        self.lock = threading.Lock()
        self.by_key: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.refunds_made = 0
        self.fail_with: str | None = None
        self.fail_times = 0
        self.template = shared_json("fixtures/stripe/fixtures3.json")["resources"]["refund"]
        httpserver.expect_request("/v1/refunds", method="POST").respond_with_handler(self.handle)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def fail(self, code: str, times: int = 1_000_000) -> None:
        self.fail_with, self.fail_times = code, times

    def handle(self, request) -> Response:
        if self.delay:
            time.sleep(self.delay)
        form = {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}
        key = request.headers.get("Idempotency-Key", "")
        with self.lock:
            self.requests.append(
                {"key": key, "form": form, "auth": request.headers.get("Authorization")}
            )
            if key and key in self.by_key:
                return self._json(200, self.by_key[key], replayed=True)
            if self.fail_with and self.fail_times > 0:
                self.fail_times -= 1
                return self._error(self.fail_with, form)
            self.refunds_made += 1
            refund = copy.deepcopy(self.template)
            refund |= {
                "id": f"re_test{self.refunds_made:06d}",
                "amount": int(form["amount"]),
                "charge": form.get("charge"),
                "payment_intent": form.get("payment_intent"),
                "currency": "usd",
                "created": int(time.time()),
                "metadata": {
                    name[len("metadata[") : -1]: value
                    for name, value in form.items()
                    if name.startswith("metadata[")
                },
            }
            if key:
                self.by_key[key] = refund
            return self._json(200, refund)

    def _error(self, code: str, form: dict) -> Response:
        status, kind, message = STRIPE_ERRORS[code]
        body = {
            "error": {
                "code": code if code not in ("api_error",) else None,
                "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
                "message": message.format(charge=form.get("charge")),
                "param": "amount" if code == "amount_too_large" else None,
                "request_log_url": "https://dashboard.stripe.com/test/logs/req_test",
                "type": kind,
            }
        }
        return self._json(status, body)

    @staticmethod
    def _json(status: int, body: dict, replayed: bool = False) -> Response:
        headers = {"Request-Id": "req_test", "Stripe-Version": "2026-08-27"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(
            json.dumps(body), status=status, headers=headers, content_type="application/json"
        )


PAYPAL_ISSUES = {
    "CAPTURE_FULLY_REFUNDED": "The capture has already been fully refunded",
    "REFUND_AMOUNT_EXCEEDED": (
        "The refund amount must be less than or equal to the capture amount that has not yet "
        "been refunded."
    ),
    "REFUND_FAILED_INSUFFICIENT_FUNDS": (
        "Capture could not be refunded due to insufficient funds. Please check to see if you "
        "have sufficient funds in your PayPal account or if the bank account linked to your "
        "PayPal account is verified and has sufficient funds."
    ),
    "REFUND_NOT_ALLOWED": "Capture cannot be refunded.",
    "REFUND_TIME_LIMIT_EXCEEDED": "You are over the time limit to perform a refund on this capture",
}


class FakePayPal:
    """POST /v1/oauth2/token and POST /v2/payments/captures/{id}/refund (PayPal-Request-Id)."""

    def __init__(self, httpserver) -> None:
        self.server = httpserver
        self.lock = threading.Lock()
        self.by_key: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.tokens_issued = 0
        self.refunds_made = 0
        self.fail_with: str | None = None
        self.fail_times = 0
        httpserver.expect_request("/v1/oauth2/token", method="POST").respond_with_handler(
            self.token
        )
        httpserver.expect_request(
            re.compile(r"^/v2/payments/captures/[^/]+/refund$"), method="POST"
        ).respond_with_handler(self.refund)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def fail(self, code: str, times: int = 1_000_000) -> None:
        self.fail_with, self.fail_times = code, times

    def token(self, request) -> Response:
        assert request.headers.get("Authorization", "").startswith("Basic ")
        self.tokens_issued += 1
        body = {
            "scope": "https://uri.paypal.com/services/payments/refund",
            "access_token": f"A21AA-test-{self.tokens_issued}",
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": 32400,
            "nonce": "2026-12-06T00:00:00Z-test",
        }
        return Response(json.dumps(body), status=200, content_type="application/json")

    def refund(self, request) -> Response:
        capture_id = request.path.split("/")[-2]
        key = request.headers.get("PayPal-Request-Id", "")
        body = json.loads(request.get_data(as_text=True) or "{}")
        with self.lock:
            self.requests.append(
                {"key": key, "body": body, "auth": request.headers.get("Authorization")}
            )
            if key and key in self.by_key:
                return Response(
                    json.dumps(self.by_key[key]), status=200, content_type="application/json"
                )
            if self.fail_with and self.fail_times > 0:
                self.fail_times -= 1
                return self._error(self.fail_with)
            self.refunds_made += 1
            refund = {
                "id": f"1JU08902781691411{self.refunds_made:03d}",
                "amount": body["amount"],
                "status": "COMPLETED",
                "custom_id": body.get("custom_id"),
                "seller_payable_breakdown": {
                    "gross_amount": body["amount"],
                    "paypal_fee": {
                        "currency_code": body["amount"]["currency_code"],
                        "value": "0.00",
                    },
                    "net_amount": body["amount"],
                },
                "create_time": "2026-12-06T10:00:00Z",
                "update_time": "2026-12-06T10:00:00Z",
                "links": [
                    {
                        "href": f"https://api.paypal.com/v2/payments/refunds/{capture_id}",
                        "rel": "self",
                        "method": "GET",
                    }
                ],
            }
            if key:
                self.by_key[key] = refund
            return Response(json.dumps(refund), status=201, content_type="application/json")

    @staticmethod
    def _error(issue: str) -> Response:
        if issue == "RATE_LIMIT_REACHED":
            body = {
                "name": "RATE_LIMIT_REACHED",
                "message": "Too many requests. Blocked due to rate limiting.",
                "debug_id": "90957fca61718",
            }
            return Response(json.dumps(body), status=429, content_type="application/json")
        if issue == "INTERNAL_SERVER_ERROR":
            body = {
                "name": "INTERNAL_SERVER_ERROR",
                "message": "An internal server error occurred.",
                "debug_id": "90957fca61718",
            }
            return Response(json.dumps(body), status=500, content_type="application/json")
        body = {
            "name": "UNPROCESSABLE_ENTITY",
            "message": (
                "The requested action could not be performed, semantically incorrect, or "
                "failed business validation."
            ),
            "debug_id": "90957fca61718",
            "details": [{"issue": issue, "description": PAYPAL_ISSUES[issue]}],
            "links": [
                {
                    "href": f"https://developer.paypal.com/docs/api/payments/v2/#error-{issue}",
                    "rel": "information_link",
                    "method": "GET",
                }
            ],
        }
        return Response(json.dumps(body), status=422, content_type="application/json")
