"""Writing the audit trail. Every service that changes state or moves money calls this."""

from collections.abc import Iterable
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import models

from storedesk.audit.models import AuditEntry
from storedesk.core.context import get_correlation_id

SYSTEM_ACTOR = "system"


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def record_audit(
    *,
    actor,
    action: str,
    obj: models.Model,
    changes: dict | None = None,
    actor_label: str | None = None,
) -> AuditEntry:
    """Append one audit entry; call it inside the service's transaction."""
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label or (str(actor) if getattr(actor, "pk", None) else SYSTEM_ACTOR),
        action=action,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=_jsonable(changes or {}),
        correlation_id=get_correlation_id(),
    )


def record_audit_bulk(
    *,
    actor_label: str,
    action: str,
    objects: Iterable[models.Model],
    changes_for=lambda obj: {},
    batch_size: int = 2000,
) -> int:
    """Append one entry per object in set-based inserts (imports, backfills)."""
    correlation_id = get_correlation_id()
    entries, content_types = [], {}
    for obj in objects:
        model = type(obj)
        if model not in content_types:
            content_types[model] = ContentType.objects.get_for_model(model)
        entries.append(
            AuditEntry(
                actor_label=actor_label,
                action=action,
                content_type=content_types[model],
                object_id=str(obj.pk),
                object_repr=str(obj)[:200],
                changes=_jsonable(changes_for(obj)),
                correlation_id=correlation_id,
            )
        )
    AuditEntry.objects.bulk_create(entries, batch_size=batch_size)
    return len(entries)
