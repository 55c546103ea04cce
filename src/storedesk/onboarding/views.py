"""The first-run page: sets up an empty desk from the browser, as `storedesk setup` does.

It answers only while the database has no store. On a fresh install with no user at all it is
open (someone has to create the first admin); once any user exists, only a signed-in admin may
use it, so a desk whose store was deleted cannot be taken over by whoever finds the page.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from storedesk.accounts.models import User
from storedesk.onboarding.services import FirstRunSetup, do_first_run_setup, needs_setup

WEEKDAYS = [
    (0, gettext_lazy("Monday")),
    (1, gettext_lazy("Tuesday")),
    (2, gettext_lazy("Wednesday")),
    (3, gettext_lazy("Thursday")),
    (4, gettext_lazy("Friday")),
    (5, gettext_lazy("Saturday")),
    (6, gettext_lazy("Sunday")),
]


class FirstRunForm(forms.Form):
    store_name = forms.CharField(label=gettext_lazy("Store name"), max_length=120)
    store_slug = forms.SlugField(label=gettext_lazy("Store slug"), max_length=49)
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, initial="USD")
    store_timezone = forms.CharField(
        label=gettext_lazy("Customers' time zone"), initial="America/New_York"
    )
    team_timezone = forms.CharField(
        label=gettext_lazy("Team's time zone"), initial="Asia/Ho_Chi_Minh"
    )
    working_days = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Team's working days"),
        choices=WEEKDAYS,
        coerce=int,
        initial=[0, 1, 2, 3, 4, 5],
        widget=forms.CheckboxSelectMultiple,
    )
    hours = forms.RegexField(
        label=gettext_lazy("Team's shifts"),
        regex=r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}(\s*,\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2})*\s*$",
        initial="08:30-12:00, 13:30-17:30",
        help_text=gettext_lazy("e.g. 08:30-12:00, 13:30-17:30"),
    )
    holiday_country = forms.CharField(
        label=gettext_lazy("Public holidays of (country code)"), max_length=8, initial="VN"
    )
    admin_username = forms.CharField(label=gettext_lazy("First admin's user name"))
    admin_email = forms.EmailField(label=gettext_lazy("First admin's email"))
    admin_password = forms.CharField(
        label=gettext_lazy("First admin's password"), widget=forms.PasswordInput
    )
    support_email = forms.EmailField(
        label=gettext_lazy("Support mailbox"),
        required=False,
        help_text=gettext_lazy("The address customers write to; connect it over IMAP later."),
    )

    def setup(self) -> FirstRunSetup:
        data = self.cleaned_data
        return FirstRunSetup(
            store_name=data["store_name"],
            store_slug=data["store_slug"],
            currency=data["currency"],
            store_timezone=data["store_timezone"].strip(),
            team_timezone=data["team_timezone"].strip(),
            working_days=data["working_days"],
            hours=[
                [part.strip() for part in shift.split("-", 1)] for shift in data["hours"].split(",")
            ],
            holiday_country=data["holiday_country"].strip().upper(),
            admin_username=data["admin_username"],
            admin_email=data["admin_email"],
            admin_password=data["admin_password"],
            support_email=data["support_email"],
        )


def first_run(request):
    if User.objects.exists():
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.has_perm("commerce.add_store"):
            raise PermissionDenied
    if not needs_setup():
        raise Http404(_("This desk is set up already."))
    status = 200
    if request.method == "POST":
        form = FirstRunForm(request.POST)
        if form.is_valid():
            try:
                result = do_first_run_setup(form.setup())
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                messages.success(
                    request,
                    _("%(store)s is set up. Sign in as %(user)s.")
                    % {"store": result.store.name, "user": result.admin.username},
                )
                return redirect("accounts:login")
        status = 400
    else:
        form = FirstRunForm()
    return render(request, "onboarding/first_run.html", {"form": form}, status=status)
