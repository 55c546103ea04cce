"""Business calendars: the team's zone, working days, shifts and holidays that SLA clocks
count in."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from storedesk.core.permissions import permission_required
from storedesk.triage import queries
from storedesk.triage.calendar import holiday_names
from storedesk.triage.forms import CalendarForm
from storedesk.triage.models import BusinessCalendar
from storedesk.triage.services import do_save_calendar

WEEKDAY_NAMES = [
    gettext_lazy("Monday"),
    gettext_lazy("Tuesday"),
    gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"),
    gettext_lazy("Friday"),
    gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
]


@permission_required("triage.view_businesscalendar")
def calendar_list(request):
    """Every calendar, so a lead can see which hours each SLA policy counts."""
    return render(request, "triage/calendar_list.html", {"calendars": queries.business_calendars()})


@permission_required("triage.view_businesscalendar")
def calendar_edit(request, pk: int | None = None):
    """Set a calendar's zone, days, shifts and holiday country, with the coming holidays shown
    so a lead sees what the clocks will skip."""
    calendar = get_object_or_404(BusinessCalendar, pk=pk) if pk else None
    data = {
        "name": calendar.name if calendar else "",
        "timezone": calendar.timezone if calendar else "Asia/Ho_Chi_Minh",
        "working_days": calendar.working_days if calendar else [0, 1, 2, 3, 4, 5],
        "hours": ", ".join(f"{a}-{b}" for a, b in (calendar.hours if calendar else [])),
        "holiday_country": calendar.holiday_country if calendar else "VN",
        "closed_days": "\n".join(calendar.closed_days) if calendar else "",
    }
    error, status = "", 200
    if request.method == "POST":
        if not request.user.has_perm("triage.change_businesscalendar"):
            return render(request, "error.html", status=403)
        form = CalendarForm(request.POST)
        valid = form.is_valid()
        data = form.shown()
        try:
            if not valid:
                raise ValidationError(form.first_error())
            saved = do_save_calendar(calendar, actor=request.user, **form.calendar_fields())
            messages.success(request, _("Calendar “%(name)s” saved.") % {"name": saved.name})
            return redirect("triage:calendar", saved.pk)
        except ValidationError as problem:
            error, status = problem.messages[0], 400
    year = timezone.now().year
    holidays = (
        holiday_names(data["holiday_country"], year)
        + holiday_names(data["holiday_country"], year + 1)
        if data["holiday_country"] and not error
        else []
    )
    return render(
        request,
        "triage/calendar_form.html",
        {
            "calendar": calendar,
            "data": data,
            "error": error,
            "weekdays": list(enumerate(WEEKDAY_NAMES)),
            "holidays": holidays,
            "can_change": request.user.has_perm("triage.change_businesscalendar"),
        },
        status=status,
    )
