"""The only writers of gateway account-health cases.

Stripe events (`payout.failed`, `account.updated`, through integrations/stripe), PayPal notices
and recognised gateway e-mails (see `recognise_gateway_email`) all open or update a case with
`do_open_case`: one open case per thing the gateway reported, so a repeated event or a second
e-mail about the same hold adds to the timeline instead of opening a duplicate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from storedesk.audit.services import record_audit
from storedesk.commerce.models import Store
from storedesk.core.errors import ServiceError
from storedesk.core.events import record_event
from storedesk.gateways.models import AccountHealthCase, AccountHealthEvent

Kind = AccountHealthCase.Kind
Status = AccountHealthCase.Status


class CaseRefused(ServiceError):
    """A change a case cannot take, with the reason."""

    code = "case_refused"


@dataclass(frozen=True)
class CaseIn:
    gateway: str
    kind: str
    provider_ref: str
    title: str
    happened_at: datetime
    deadline: datetime | None = None
    required_documents: list[str] = field(default_factory=list)
    amount: Decimal | None = None
    currency: str = ""
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CaseResult:
    case: AccountHealthCase
    created: bool
    changed: list[str]


def _log(case: AccountHealthCase, text: str, at: datetime, data: dict | None = None) -> None:
    AccountHealthEvent.objects.create(case=case, at=at, text=text[:500], data=data or {})


def _open_case(store: Store, case_in: CaseIn) -> AccountHealthCase | None:
    return (
        AccountHealthCase.objects.select_for_update()
        .filter(
            gateway=case_in.gateway,
            kind=case_in.kind,
            provider_ref=case_in.provider_ref,
            status=Status.OPEN,
        )
        .first()
    )


def do_open_case(store: Store, case_in: CaseIn, *, actor=None) -> CaseResult:
    """Open a case, or bring the open one about the same thing up to date (deadline,
    documents); either way the report joins its timeline. Harmless to repeat."""
    if case_in.kind not in Kind.values:
        raise CaseRefused(f"unknown kind of case {case_in.kind!r}")
    if not case_in.provider_ref:
        raise CaseRefused("a case needs the gateway's reference for what it reports")
    try:
        with transaction.atomic():
            return _open_or_update(store, case_in, actor)
    except IntegrityError:  # a concurrent report opened it first: update that one
        with transaction.atomic():
            return _open_or_update(store, case_in, actor)


def _open_or_update(store: Store, case_in: CaseIn, actor) -> CaseResult:
    case = _open_case(store, case_in)
    documents = list(dict.fromkeys(case_in.required_documents))
    if case is None:
        case = AccountHealthCase.objects.create(
            store=store,
            gateway=case_in.gateway,
            kind=case_in.kind,
            provider_ref=case_in.provider_ref[:100],
            title=case_in.title[:200],
            deadline=case_in.deadline,
            required_documents=documents,
            amount=case_in.amount,
            currency=case_in.currency,
            opened_at=case_in.happened_at,
        )
        _log(case, f"Opened: {case_in.title}", case_in.happened_at, case_in.data)
        record_audit(actor=actor, action="account_case.opened", obj=case)
        record_event("account_case_opened", case_id=case.pk, kind=case.kind)
        return CaseResult(case, True, [])
    changed = {}
    if case_in.deadline and case_in.deadline != case.deadline:
        changed["deadline"] = [_iso(case.deadline), _iso(case_in.deadline)]
        case.deadline = case_in.deadline
    if documents and documents != case.required_documents:
        changed["required_documents"] = [case.required_documents, documents]
        case.required_documents = documents
    if changed:
        case.save(update_fields=list(changed))
        _log(case, f"Updated: {case_in.title}", case_in.happened_at, case_in.data)
        record_audit(actor=actor, action="account_case.updated", obj=case, changes=changed)
    return CaseResult(case, False, list(changed))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _locked(case_id: int) -> AccountHealthCase:
    case = AccountHealthCase.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise CaseRefused(f"no account-health case {case_id}")
    return case


@transaction.atomic
def do_assign_case(case_id: int, owner, *, actor) -> AccountHealthCase:
    """Give the case an owner (None: nobody); assigning the same owner again changes nothing."""
    case = _locked(case_id)
    if case.owner_id == (owner.pk if owner else None):
        return case
    old = case.owner_id
    case.owner = owner
    case.save(update_fields=["owner"])
    who = owner.get_username() if owner else "nobody"
    _log(case, f"Owner: {who}", timezone.now())
    record_audit(
        actor=actor,
        action="account_case.assigned",
        obj=case,
        changes={"owner": [old, case.owner_id]},
    )
    return case


@transaction.atomic
def do_resolve_case(case_id: int, *, actor, note: str = "", at: datetime | None = None):
    """Close the case; resolving a resolved case changes nothing."""
    case = _locked(case_id)
    if case.status == Status.RESOLVED:
        return case
    at = at or timezone.now()
    case.status, case.resolved_at = Status.RESOLVED, at
    case.save(update_fields=["status", "resolved_at"])
    _log(case, f"Resolved{': ' + note if note else ''}", at)
    record_audit(actor=actor, action="account_case.resolved", obj=case)
    return case


def do_resolve_reported(
    gateway: str, kinds: list[str], provider_ref: str, *, actor, note: str, at: datetime
) -> int:
    """Resolve the open cases the gateway now reports as cleared (e.g. an account whose
    requirements were met); returns how many."""
    open_ids = AccountHealthCase.objects.filter(
        gateway=gateway, kind__in=kinds, provider_ref=provider_ref, status=Status.OPEN
    ).values_list("pk", flat=True)
    resolved = 0
    for case_id in list(open_ids):
        do_resolve_case(case_id, actor=actor, note=note, at=at)
        resolved += 1
    return resolved


# --- Gateway e-mails -----------------------------------------------------------------------

GATEWAY_SENDERS = {
    "paypal.com": "paypal",
    "stripe.com": "stripe",
    "shopify.com": "shopify_payments",
}
# (pattern in the subject, kind), first match wins: the gateways' usual notice subjects.
SUBJECT_KINDS = [
    (re.compile(r"\blimit(ed|ation)\b", re.I), Kind.LIMITATION),
    (re.compile(r"\breserve\b", re.I), Kind.RESERVE),
    (
        re.compile(r"\b(payouts?|transfers?|funds?)\b.*\b(paused|on hold|held|hold)\b", re.I),
        Kind.PAYOUT_HOLD,
    ),
    (re.compile(r"\b(hold|held|paused)\b.*\b(payouts?|funds?)\b", re.I), Kind.PAYOUT_HOLD),
    (
        re.compile(r"\b(payout|transfer)\b.*\bfailed\b|\bfailed\b.*\bpayout\b", re.I),
        Kind.FAILED_PAYOUT,
    ),
    (
        re.compile(r"\b(review|verify|verification|information (is )?(needed|required))\b", re.I),
        Kind.ACCOUNT_REVIEW,
    ),
]


def recognise_gateway_email(from_email: str, subject: str) -> tuple[str, str] | None:
    """(gateway, kind) when the e-mail is a gateway's notice about the account, else None.
    Only the gateways' own domains count, so a customer's mail that mentions PayPal does not."""
    domain = from_email.rpartition("@")[2].lower().strip()
    gateway = next(
        (
            name
            for known, name in GATEWAY_SENDERS.items()
            if domain == known or domain.endswith("." + known)
        ),
        None,
    )
    if gateway is None:
        return None
    for pattern, kind in SUBJECT_KINDS:
        if pattern.search(subject or ""):
            return gateway, kind
    return None
