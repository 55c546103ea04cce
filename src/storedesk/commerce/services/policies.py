"""Store policies, versioned so evidence packs can show the one in force at the time."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from storedesk.audit.services import record_audit
from storedesk.commerce.models import Policy, Store
from storedesk.commerce.services.common import PolicyError
from storedesk.core.events import record_event


@transaction.atomic
def do_publish_policy(
    store: Store, kind: str, body: str, effective_at: datetime, actor=None, *, title: str = ""
) -> Policy:
    """Publish a new version of a store policy; earlier versions stay for evidence packs.

    Versions are numbered under a lock on the store row, so two editors never get the same one.
    """
    if kind not in Policy.Kind.values:
        raise PolicyError(f"unknown policy kind {kind!r}")
    if not body.strip():
        raise PolicyError("a policy needs a text")
    if timezone.is_naive(effective_at):
        raise PolicyError("effective_at must be an aware datetime")
    Store.objects.select_for_update(of=("self",)).filter(pk=store.pk).first()
    latest = (
        (Policy.objects.filter(store=store, kind=kind).aggregate(latest=Max("version"))["latest"])
        or 0
    )
    policy = Policy.objects.create(
        store=store,
        kind=kind,
        version=latest + 1,
        title=title or str(Policy.Kind(kind).label),
        body=body,
        effective_from=effective_at,
    )
    record_audit(
        actor=actor,
        action="policy.published",
        obj=policy,
        changes={"kind": kind, "version": policy.version, "effective_from": effective_at},
    )
    record_event(
        "policy_published",
        policy_id=policy.pk,
        store_id=store.pk,
        kind=kind,
        version=policy.version,
    )
    return policy
