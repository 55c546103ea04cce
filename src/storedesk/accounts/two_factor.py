"""Two-factor sign-in with an authenticator app (TOTP, django-otp).

After the password, a user whose role moves money or sees card data (admin, payments) and
who has no confirmed authenticator is sent to enrol; anyone with a confirmed one enters a code
before any page. What a session still owes is decided once, at sign-in, and kept in the
session, so pages pay no query for it. API bearer tokens never go through here.
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import user_has_device

from storedesk.accounts.roles import Role

SESSION_KEY = "storedesk_two_factor"
ENROL, VERIFY, DONE = "enrol", "verify", "done"
# The roles that can move money or read card data.
TWO_FACTOR_ROLES = (Role.ADMIN, Role.PAYMENTS)
# Paths an unverified session may still open: its way through, out, and the static files.
OPEN_PATHS = ("/accounts/two-factor/", "/accounts/logout/", "/static/", "/i18n/")


def requires_two_factor(user) -> bool:
    """Whether the user's role must sign in with a second factor (when the setting is on)."""
    if not settings.STOREDESK_REQUIRE_2FA:
        return False
    roles = {role.value for role in TWO_FACTOR_ROLES}
    return user.is_superuser or user.groups.filter(name__in=roles).exists()


def owed_step(user) -> str:
    """What this user still owes after their password: enrol, a code, or nothing."""
    if user_has_device(user, confirmed=True):
        return VERIFY
    return ENROL if requires_two_factor(user) else DONE


@receiver(user_logged_in, dispatch_uid="storedesk.two_factor")
def _remember_owed_step(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = owed_step(user)


def mark_verified(request) -> None:
    request.session[SESSION_KEY] = DONE


def safe_next(request, fallback: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(wanted, {request.get_host()}, request.is_secure()):
        return wanted
    return fallback


class TwoFactorMiddleware:
    """Holds a signed-in session at the enrolment or code page until its second factor is
    done. Sessions from before this existed are judged on their next request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        step = self._owed(request)
        if step != DONE and not request.path.startswith(OPEN_PATHS):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "two_factor_required",
                        "message": _("Finish two-factor sign-in in the desk first."),
                    },
                    status=401,
                )
            target = "accounts:two_factor_enrol" if step == ENROL else "accounts:two_factor"
            return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)

    @staticmethod
    def _owed(request) -> str:
        session = getattr(request, "session", None)
        if session is None or SESSION_KEY not in session and not session.get("_auth_user_id"):
            return DONE
        user = request.user
        if not user.is_authenticated:
            return DONE
        step = session.get(SESSION_KEY)
        if step is None:
            step = session[SESSION_KEY] = owed_step(user)
        if step != DONE and user.is_verified():
            step = session[SESSION_KEY] = DONE
        return step


def qr_code_svg(config_url: str) -> str:
    """The enrolment QR code as inline SVG markup (no image library, no outside request)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    image = qrcode.make(config_url, image_factory=SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


def manual_key(device) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    from base64 import b32encode

    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))
