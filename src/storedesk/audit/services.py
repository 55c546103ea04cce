"""Writing the audit trail. Every service that changes state or moves money calls this."""

from collections.abc import Iterable
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from storedesk.audit.models import AuditEntry
from storedesk.core.bulk import bulk_insert
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


def _actor_label(actor) -> str:
    if getattr(actor, "pk", None):
        return str(actor)
    if isinstance(actor, str) and actor.strip():
        return actor.strip()[:100]
    return SYSTEM_ACTOR


def record_audit(
    *,
    actor,
    action: str,
    obj: models.Model,
    changes: dict | None = None,
    actor_label: str | None = None,
) -> AuditEntry:
    """Append one audit entry; call it inside the service's transaction. `actor` is a user,
    or the name of the system part acting ("stripe-webhook", "demo"), or None (system)."""
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label or _actor_label(actor),
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
) -> int:
    """Append one entry per object through the bulk insert path (imports, backfills)."""
    correlation_id = get_correlation_id()
    now = timezone.now()
    rows, content_types = [], {}
    for obj in objects:
        model = type(obj)
        if model not in content_types:
            content_types[model] = ContentType.objects.get_for_model(model).pk
        rows.append(
            {
                "actor_id": None,
                "actor_label": actor_label,
                "action": action,
                "content_type_id": content_types[model],
                "object_id": str(obj.pk),
                "object_repr": str(obj)[:200],
                "changes": _jsonable(changes_for(obj)),
                "correlation_id": correlation_id,
                "created_at": now,
            }
        )
    return bulk_insert(AuditEntry, rows)
