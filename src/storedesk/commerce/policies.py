"""Which version of each store policy was in force at a moment (what the buyer was shown).

Evidence packs and refund decisions need the policy as shown at purchase, not today's text.
"""

from datetime import datetime

from django.db.models import OuterRef, Subquery

from storedesk.commerce.models import Policy, Store


def policies_in_force(store: Store, at: datetime) -> dict[str, Policy]:
    """Each kind's newest version whose effective date is at or before `at`, in one query.

    A later version with the same effective date wins (a same-day correction).
    """
    newest = (
        Policy.objects.filter(
            store=OuterRef("store"), kind=OuterRef("kind"), effective_from__lte=at
        )
        .order_by("-effective_from", "-version")
        .values("pk")[:1]
    )
    in_force = Policy.objects.filter(
        store=store, effective_from__lte=at, pk=Subquery(newest)
    ).order_by("kind")
    return {policy.kind: policy for policy in in_force}


def policy_in_force(store: Store, kind: str, at: datetime) -> Policy | None:
    """The one version of `kind` in force at `at`, or None before the first was published."""
    return (
        Policy.objects.filter(store=store, kind=kind, effective_from__lte=at)
        .order_by("-effective_from", "-version")
        .first()
    )
