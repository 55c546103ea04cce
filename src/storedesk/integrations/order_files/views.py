"""The order import page: upload a file, see each refused row with its line, and the history."""

from django.core.paginator import Paginator
from django.shortcuts import render

from storedesk.core.permissions import permission_required
from storedesk.integrations.order_files.forms import OrderImportForm
from storedesk.integrations.order_files.models import OrderImport
from storedesk.integrations.order_files.reader import OrderFileError
from storedesk.integrations.order_files.services import do_import_orders

HISTORY_PAGE_SIZE = 20
PROBLEMS_SHOWN = 200


@permission_required("order_files.add_orderimport")
def import_orders(request):
    report, error, status = None, "", 200
    if request.method == "POST":
        form = OrderImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = do_import_orders(
                    form.cleaned_data["store"],
                    upload.file,
                    upload.name,
                    dry_run=form.cleaned_data["dry_run"],
                    actor=request.user,
                )
            except OrderFileError as problem:
                error, status = str(problem), 400
        else:
            status = 400
    else:
        form = OrderImportForm()
    history = Paginator(
        OrderImport.objects.select_related("store", "created_by").order_by("-created_at", "-pk"),
        HISTORY_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "order_files/import.html",
        {
            "form": form,
            "report": report,
            "problems": report.problems[:PROBLEMS_SHOWN] if report else [],
            "error": error,
            "page": history,
        },
        status=status,
    )
