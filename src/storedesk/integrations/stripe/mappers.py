"""Stripe objects (as the API and webhooks deliver them) -> our ingest dataclasses.

Shapes follow the Stripe API reference for `charge`, `dispute` and `radar.early_fraud_warning`;
fields Stripe leaves null
become '' (or None for numbers) so a missing check never reads as a failed one.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from storedesk.commerce.ingest import DisputeIn, PaymentIn
from storedesk.commerce.models import Payment
from storedesk.core.money import from_minor_units
from storedesk.disputes.models import Dispute
from storedesk.disputes.services import EarlyFraudWarningIn
from storedesk.gateways.models import AccountHealthCase
from storedesk.gateways.services import CaseIn

GATEWAY = Payment.Gateway.STRIPE


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _time(unix: int | None) -> datetime | None:
    return None if unix is None else datetime.fromtimestamp(int(unix), tz=UTC)


def _id_of(value: Any) -> str:
    """An expandable field: either the id string or the expanded object."""
    if isinstance(value, Mapping):
        return _text(value.get("id"))
    return _text(value)


def charge_to_payment(charge: Mapping[str, Any]) -> PaymentIn:
    """A Stripe `charge` -> PaymentIn with card, checks, 3-D Secure and Radar outcome."""
    currency = _text(charge["currency"]).upper()
    details = charge.get("payment_method_details") or {}
    card = details.get("card") or {}
    checks = card.get("checks") or {}
    three_d_secure = card.get("three_d_secure") or {}
    wallet = card.get("wallet") or {}
    outcome = charge.get("outcome") or {}
    risk_score = outcome.get("risk_score")
    return PaymentIn(
        gateway=GATEWAY,
        provider_id=_text(charge["id"]),
        provider_intent_id=_id_of(charge.get("payment_intent")),
        amount=from_minor_units(charge["amount"], currency),
        currency=currency,
        status=_text(charge.get("status")),
        captured=bool(charge.get("captured")),
        created_at=_time(charge["created"]),
        method=Payment.Method.CARD if card or details.get("type") == "card" else "",
        failure_code=_text(charge.get("failure_code")),
        failure_message=_text(charge.get("failure_message")),
        card_brand=_text(card.get("brand")),
        card_last4=_text(card.get("last4")),
        card_country=_text(card.get("country")),
        card_fingerprint=_text(card.get("fingerprint")),
        card_funding=_text(card.get("funding")),
        card_wallet=_text(wallet.get("type")),
        avs_line1_check=_text(checks.get("address_line1_check")),
        avs_postal_check=_text(checks.get("address_postal_code_check")),
        cvc_check=_text(checks.get("cvc_check")),
        three_d_secure_result=_text(three_d_secure.get("result")),
        three_d_secure_version=_text(three_d_secure.get("version")),
        network_status=_text(outcome.get("network_status")),
        outcome_type=_text(outcome.get("type")),
        outcome_reason=_text(outcome.get("reason")),
        risk_level=_text(outcome.get("risk_level")),
        risk_score=None if risk_score is None else int(risk_score),
        raw=dict(charge),
    )


def dispute_kind(dispute: Mapping[str, Any]) -> str:
    """Inquiries (retrievals) carry `warning_*` statuses or case_type 'inquiry'."""
    card = (dispute.get("payment_method_details") or {}).get("card") or {}
    if card.get("case_type") == "inquiry" or _text(dispute.get("status")).startswith("warning_"):
        return Dispute.Kind.INQUIRY
    return Dispute.Kind.CHARGEBACK


def dispute_to_dispute(dispute: Mapping[str, Any]) -> DisputeIn:
    """A Stripe `dispute` -> DisputeIn with the card network's reason code and due date."""
    currency = _text(dispute["currency"]).upper()
    card = (dispute.get("payment_method_details") or {}).get("card") or {}
    evidence_details = dispute.get("evidence_details") or {}
    return DisputeIn(
        gateway=GATEWAY,
        provider_id=_text(dispute["id"]),
        payment_provider_id=_id_of(dispute.get("charge")),
        reason=_text(dispute.get("reason")),
        status=_text(dispute.get("status")),
        amount=from_minor_units(dispute["amount"], currency),
        currency=currency,
        opened_at=_time(dispute["created"]),
        kind=dispute_kind(dispute),
        network_reason_code=_text(card.get("network_reason_code")),
        evidence_due_by=_time(evidence_details.get("due_by")),
        raw=dict(dispute),
    )


def early_fraud_warning_to_input(warning: Mapping[str, Any]) -> EarlyFraudWarningIn:
    """A Stripe `radar.early_fraud_warning` (issfr_…) -> EarlyFraudWarningIn; `charge` and
    `payment_intent` may be ids or expanded objects."""
    return EarlyFraudWarningIn(
        gateway=GATEWAY,
        provider_id=_text(warning.get("id")),
        charge_provider_id=_id_of(warning.get("charge")),
        payment_intent_provider_id=_id_of(warning.get("payment_intent")),
        fraud_type=_text(warning.get("fraud_type")),
        actionable=bool(warning.get("actionable")),
        warned_at=_time(warning.get("created")),
        raw=dict(warning),
    )


# --- Account health (gateways) ---------------------------------------------------------------


def _at(timestamp) -> datetime:
    return datetime.fromtimestamp(int(timestamp), tz=UTC)


def payout_to_case(payout: Mapping[str, Any], *, happened_at: datetime) -> CaseIn:
    """A failed `payout`: the money did not reach the bank account."""
    currency = str(payout["currency"]).upper()
    reason = payout.get("failure_message") or payout.get("failure_code") or "no reason given"
    return CaseIn(
        gateway="stripe",
        kind=AccountHealthCase.Kind.FAILED_PAYOUT,
        provider_ref=str(payout["id"]),
        title=f"Payout {payout['id']} failed: {reason}",
        happened_at=happened_at,
        amount=from_minor_units(int(payout["amount"]), currency),
        currency=currency,
        required_documents=["bank account details"] if payout.get("failure_code") else [],
        data={"failure_code": payout.get("failure_code") or "", "status": payout.get("status")},
    )


def account_to_cases(account: Mapping[str, Any], *, happened_at: datetime) -> list[CaseIn]:
    """What an `account` says needs the store: payouts paused (a payout hold), or
    requirements currently or past due / a disabled reason (an account review). Empty when
    the account is in good standing."""
    requirements = account.get("requirements") or {}
    due = [*(requirements.get("past_due") or []), *(requirements.get("currently_due") or [])]
    disabled = requirements.get("disabled_reason") or ""
    deadline = requirements.get("current_deadline")
    deadline_at = _at(deadline) if deadline else None
    account_id = str(account["id"])
    data = {"disabled_reason": disabled, "past_due": requirements.get("past_due") or []}
    cases = []
    if account.get("payouts_enabled") is False:
        cases.append(
            CaseIn(
                gateway="stripe",
                kind=AccountHealthCase.Kind.PAYOUT_HOLD,
                provider_ref=account_id,
                title=f"Stripe paused payouts{': ' + disabled if disabled else ''}",
                happened_at=happened_at,
                deadline=deadline_at,
                required_documents=due,
                data=data,
            )
        )
    if due or disabled:
        cases.append(
            CaseIn(
                gateway="stripe",
                kind=AccountHealthCase.Kind.ACCOUNT_REVIEW,
                provider_ref=account_id,
                title=f"Stripe needs information{' (' + disabled + ')' if disabled else ''}",
                happened_at=happened_at,
                deadline=deadline_at,
                required_documents=due,
                data=data,
            )
        )
    return cases
