from django.db import models

from storedesk.audit.models import AuditEntry


def history_of(obj: models.Model, limit: int = 100):
    return AuditEntry.objects.for_object(obj).select_related("actor")[:limit]
