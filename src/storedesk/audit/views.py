"""The audit trail of one object, for people allowed to read the object itself."""

from django.contrib.contenttypes.models import ContentType
from django.http import Http404
from django.shortcuts import render

from storedesk.audit.access import AUDIT_PERMISSION, AuditNotReadable, readers_of
from storedesk.audit.models import AuditEntry
from storedesk.core.pagination import paginate
from storedesk.core.permissions import check_permissions, permission_required

PAGE_SIZE = 50


@permission_required(AUDIT_PERMISSION)
def history(request, app_label: str, model: str, object_id: str):
    """Every recorded change of one object, newest first, along the audit_object index. The
    entries repeat what the object's own page shows, so its permissions apply here too."""
    try:
        content_type = ContentType.objects.get_by_natural_key(app_label, model)
        needed = readers_of(content_type)
    except (ContentType.DoesNotExist, AuditNotReadable) as missing:
        raise Http404 from missing
    check_permissions(request.user, needed)
    entries = AuditEntry.objects.filter(
        content_type=content_type, object_id=object_id
    ).select_related("actor")
    page = paginate(request, entries, PAGE_SIZE)
    latest = page.object_list[0] if page.object_list else None
    return render(
        request,
        "audit/history.html",
        {
            "content_type": content_type,
            "object_id": object_id,
            "page": page,
            "object_repr": latest.object_repr if latest else f"{model} {object_id}",
        },
    )
