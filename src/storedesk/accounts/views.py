"""Sign-in, sign-out, password reset and personal preferences.

Django's own auth views do the work; we give them our templates and namespaced URLs. Every
change to a user goes through `accounts.services`.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language
from django_otp import login as otp_login
from django_otp import user_has_device

from storedesk.accounts import two_factor
from storedesk.accounts.forms import LanguageForm, PreferencesForm, UnlockForm
from storedesk.accounts.services import (
    WrongCode,
    check_authenticator_code,
    do_confirm_authenticator,
    do_start_authenticator_enrolment,
    do_unlock_sign_in,
    do_update_preferences,
)
from storedesk.core.permissions import permission_required

UNLOCK_PERMISSION = "accounts.change_user"  # admins


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): a link or an image cannot sign anybody out."""


class PasswordResetView(auth_views.PasswordResetView):
    """Emails a reset link; the email is US English whatever the page language."""

    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


@login_required
def preferences(request):
    """Language and time zone of the signed-in user."""
    user = request.user
    form = PreferencesForm(
        request.POST or None, initial={"language": user.language, "timezone": user.timezone}
    )
    if request.method == "POST" and form.is_valid():
        do_update_preferences(
            user,
            language=form.cleaned_data["language"],
            timezone_name=form.cleaned_data["timezone"],
        )
        with translation.override(user.language):  # confirm in the newly chosen language
            messages.success(request, _("Your preferences are saved."))
        return redirect("accounts:preferences")
    return render(
        request,
        "accounts/preferences.html",
        {"form": form, "has_authenticator": user_has_device(user, confirmed=True)},
    )


@require_POST
def set_language(request):
    """The language switch: Django's set_language (cookie), and for a signed-in user their
    saved preference too, since the preference is what every later page follows."""
    form = LanguageForm(request.POST)
    if form.is_valid() and request.user.is_authenticated:
        do_update_preferences(
            request.user,
            language=form.cleaned_data["language"],
            timezone_name=request.user.timezone,
        )
    return django_set_language(request)


@login_required
def two_factor_verify(request):
    """The code from the authenticator app, asked once per sign-in."""
    if request.session.get(two_factor.SESSION_KEY) == two_factor.ENROL:
        return redirect("accounts:two_factor_enrol")
    error = ""
    if request.method == "POST":
        try:
            device = check_authenticator_code(request.user, request.POST.get("code", ""))
        except WrongCode:
            error = _("That code is not right. Enter the current code from your app.")
        else:
            otp_login(request, device)
            two_factor.mark_verified(request)
            return redirect(two_factor.safe_next(request, reverse("commerce:home")))
    return render(
        request,
        "accounts/two_factor.html",
        {"error": error, "next": two_factor.safe_next(request, "")},
        status=400 if error else 200,
    )


@login_required
def two_factor_enrol(request):
    """Set up an authenticator app: scan the QR code (or type the key), confirm with a code."""
    if request.session.get(two_factor.SESSION_KEY) == two_factor.VERIFY:
        return redirect("accounts:two_factor")
    device = do_start_authenticator_enrolment(request.user)
    error = ""
    if request.method == "POST":
        try:
            device = do_confirm_authenticator(request.user, request.POST.get("code", ""))
        except WrongCode:
            error = _("That code is not right. Enter the current code from your app.")
        else:
            otp_login(request, device)
            two_factor.mark_verified(request)
            messages.success(request, _("Two-factor sign-in is on for your account."))
            return redirect(two_factor.safe_next(request, reverse("accounts:preferences")))
    return render(
        request,
        "accounts/two_factor_enrol.html",
        {
            "qr_svg": two_factor.qr_code_svg(device.config_url),
            "manual_key": two_factor.manual_key(device),
            "error": error,
            "next": two_factor.safe_next(request, ""),
            "required": two_factor.requires_two_factor(request.user),
        },
        status=400 if error else 200,
    )


@permission_required(UNLOCK_PERMISSION)
def sign_in_lockouts(request):
    """Accounts and addresses with failed sign-ins, and a button to lift a lock-out."""
    from axes.models import AccessAttempt

    form = UnlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        do_unlock_sign_in(
            actor=request.user,
            username=form.cleaned_data["username"],
            ip_address=form.cleaned_data["ip_address"] or "",
        )
        messages.success(request, _("The sign-in lock-out is lifted."))
        return redirect("accounts:lockouts")
    attempts = AccessAttempt.objects.order_by("-attempt_time")[:200]
    return render(
        request,
        "accounts/lockouts.html",
        {"attempts": attempts, "limit": settings.AXES_FAILURE_LIMIT},
    )
