"""Sign-in, sign-out, password reset and personal preferences.

Django's own auth views do the work; we give them our templates and namespaced URLs. Every
change to a user goes through `accounts.services`.
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from storedesk.accounts.forms import LanguageForm, PreferencesForm
from storedesk.accounts.services import do_update_preferences


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
        translation.activate(user.language)
        messages.success(request, _("Your preferences are saved."))
        return redirect("accounts:preferences")
    return render(request, "accounts/preferences.html", {"form": form})


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
