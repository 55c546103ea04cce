"""The audit trail of one object, for people allowed to read it."""

from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from storedesk.audit.models import AuditEntry
from storedesk.core.permissions import permission_required

PAGE_SIZE = 50


@permission_required("audit.view_auditentry")
def history(request, app_label: str, model: str, object_id: str):
    """Every recorded change of one object, newest first, along the audit_object index."""
    try:
        content_type = ContentType.objects.get_by_natural_key(app_label, model)
    except ContentType.DoesNotExist as missing:
        raise Http404 from missing
    entries = AuditEntry.objects.filter(
        content_type=content_type, object_id=object_id
    ).select_related("actor")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
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
