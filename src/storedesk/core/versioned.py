"""Saving a `VersionedSettings` set: one writer at a time, a new version only when it changed."""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from storedesk.core.models import NamedSequence, VersionedSettings


@transaction.atomic
def save_version[V: VersionedSettings](
    model: type[V],
    field: str,
    checked: dict,
    *,
    values_of: Callable[[V | None], dict],
    actor,
    note: str = "",
) -> tuple[V, dict, bool]:
    """Store the validated set `checked` in `field` as the next version of `model`, unless it
    equals the newest one's (then nothing is written). Returns the version in force, the set
    before, and whether a version was written. Concurrent saves queue behind one lock row,
    there even before the first version (locking the newest version let two first saves both
    write version 1)."""
    NamedSequence.objects.select_for_update().get_or_create(name=f"{model._meta.label}-save")
    current = model.objects.order_by("-version").first()
    before = values_of(current)
    if current is not None and checked == before:
        return current, before, False
    saved = model.objects.create(
        version=(current.version if current else 0) + 1,
        note=(note or "").strip()[:200],
        changed_by=actor if getattr(actor, "pk", None) else None,
        changed_at=timezone.now(),
        **{field: checked},
    )
    return saved, before, True
