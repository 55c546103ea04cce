"""What customers reach without an account, under /help/: the chat widget and the contact form.

Chat endpoints are called cross-site from the store's pages, so they never rely on cookies:
the widget sends no credentials, the visitor's chat token travels in the `X-Chat-Token`
header (a custom header, so browsers preflight it and only origins in DESK_WIDGET_ORIGINS get
through), and every write is rate limited. With no ambient credential there is nothing for a
cross-site request to forge, which is why these views are exempt from Django's cookie CSRF.

The contact form acts for nobody (no session, no account) and must also work inside the
store's iframe, where the CSRF cookie is not sent; a signed, time-limited form token stands in.
"""

from __future__ import annotations

import json
from functools import cache, wraps
from pathlib import Path

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.csp import CSP
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from storedesk.commerce.models import Store
from storedesk.desk import chat, throttle
from storedesk.desk.contact import ContactReason, ContactSubmission, do_submit_contact_form
from storedesk.desk.forms import MultipleFileField
from storedesk.desk.live import event_stream, sse_response, start_after
from storedesk.desk.models import Ticket
from storedesk.desk.services import AttachmentIn, validate_attachment

WIDGET_SCRIPT = Path(__file__).resolve().parents[2] / "static" / "js" / "chat-widget.js"
MAX_JSON_BYTES = 32 * 1024
MAX_FORM_ATTACHMENTS = 5
FORM_TOKEN_SALT = "storedesk.desk.contact-form"  # noqa: S105  a signing namespace, no secret
FORM_TOKEN_MAX_AGE = 24 * 3600
CONFIRMATION_SALT = "storedesk.desk.contact-confirmation"

CHAT_START = throttle.Limit("chat-start", 10, 3600)
CHAT_SEND_SESSION = throttle.Limit("chat-send", 30, 60)
CHAT_SEND_IP = throttle.Limit("chat-send-ip", 120, 60)
CHAT_READ = throttle.Limit("chat-read", 240, 60)
FORM_IP = throttle.Limit("form-ip", 20, 3600)
FORM_EMAIL = throttle.Limit("form-email", 10, 3600)


# --- cross-origin plumbing -------------------------------------------------------------------


def widget_origins() -> set[str]:
    return {origin.rstrip("/").lower() for origin in settings.DESK_WIDGET_ORIGINS}


def _own_origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}".lower()


def origin_allowed(request) -> bool:
    """No Origin header (a server, curl) is fine: there are no cookies to abuse. A browser's
    Origin must be ours or one of the store's."""
    origin = request.headers.get("Origin", "").rstrip("/").lower()
    return not origin or origin == _own_origin(request) or origin in widget_origins()


def _cors(request, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    if origin and origin.rstrip("/").lower() in widget_origins():
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, X-Chat-Token, Last-Event-ID"
        response["Access-Control-Max-Age"] = "600"
        response["Vary"] = "Origin"
    return response


def error(code: str, message: str, status: int, **extra) -> JsonResponse:
    response = JsonResponse({"code": code, "message": str(message), **extra}, status=status)
    if "retry_after" in extra:
        response["Retry-After"] = str(extra["retry_after"])
    return response


def _refused(refusal: throttle.Refusal) -> JsonResponse:
    return error(
        "rate_limited",
        _t("You're sending messages very quickly. Please wait a moment and try again."),
        429,
        retry_after=refusal.retry_after,
    )


def widget_endpoint(*, methods: tuple[str, ...], needs_session: bool):
    """CORS (with preflight), origin check, JSON errors; with `needs_session`, the visitor's
    chat session from the X-Chat-Token header is passed to the view."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "OPTIONS":
                return _cors(request, HttpResponse(status=204))
            if request.method not in methods:
                response = error("method_not_allowed", _t("Method not allowed."), 405)
            elif not origin_allowed(request):
                response = error(
                    "origin_not_allowed", _t("This site may not use the chat widget."), 403
                )
            elif needs_session:
                session = chat.session_for_token(request.headers.get("X-Chat-Token", ""))
                if session is None:
                    response = error(
                        "chat_not_found", _t("This chat has ended. Please start a new one."), 401
                    )
                else:
                    response = view(request, session, *args, **kwargs)
            else:
                response = view(request, *args, **kwargs)
            return _cors(request, response)

        return wrapper

    return decorator


def _json_body(request) -> dict:
    if len(request.body) > MAX_JSON_BYTES:
        raise ValidationError(_t("That message is too long."))
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as bad:
        raise ValidationError(_t("The request was not valid JSON.")) from bad
    if not isinstance(data, dict):
        raise ValidationError(_t("The request was not valid JSON."))
    return {key: value for key, value in data.items() if isinstance(value, str)}


def _invalid(exc: ValidationError) -> JsonResponse:
    return error("invalid", " ".join(str(m) for m in exc.messages), 400)


def _store(slug: str) -> Store | None:
    stores = Store.objects.order_by("pk")
    if slug:
        return stores.filter(slug=slug[:50]).first() or stores.first()
    return stores.first()


# --- the widget ------------------------------------------------------------------------------


@cache
def _widget_source() -> bytes:
    return WIDGET_SCRIPT.read_bytes()


@require_GET
def widget_js(request):
    """The one script a store adds to its pages; served by us, cached briefly."""
    response = HttpResponse(_widget_source(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@widget_endpoint(methods=("GET",), needs_session=False)
def chat_status(request):
    """What the widget shows before the first message: live chat, or 'leave your email'."""
    return JsonResponse(
        {
            "agents_online": chat.agents_online(),
            "stylesheet": request.build_absolute_uri(static("css/chat-widget.css")),
        }
    )


@widget_endpoint(methods=("POST",), needs_session=False)
def chat_start(request):
    ip = throttle.client_ip(request)
    refusal = throttle.check(CHAT_START, ip)
    if refusal:
        return _refused(refusal)
    try:
        data = _json_body(request)
        session = chat.do_start_chat(
            text=data.get("text", ""),
            name=data.get("name", ""),
            email=data.get("email", ""),
            page_url=data.get("page_url", ""),
            ip=ip or None,
            user_agent=request.headers.get("User-Agent", ""),
            store=_store(data.get("store", "")),
            help_session=data.get("help_session", ""),
        )
    except ValidationError as exc:
        return _invalid(exc)
    return JsonResponse(
        {
            "token": session.token,
            "ticket": session.ticket.token,
            "agents_online": chat.agents_online(),
            "messages": [line.as_json() for line in chat.public_messages(session)],
        },
        status=201,
    )


@widget_endpoint(methods=("POST",), needs_session=True)
def chat_send(request, session):
    for limit, subject in (
        (CHAT_SEND_SESSION, session.token),
        (CHAT_SEND_IP, throttle.client_ip(request)),
    ):
        refusal = throttle.check(limit, subject)
        if refusal:
            return _refused(refusal)
    try:
        message = chat.do_send_visitor_message(session, _json_body(request).get("text", ""))
    except ValidationError as exc:
        return _invalid(exc)
    return JsonResponse({"id": message.pk, "agents_online": chat.agents_online()}, status=201)


@widget_endpoint(methods=("POST",), needs_session=True)
def chat_email(request, session):
    refusal = throttle.check(CHAT_SEND_SESSION, session.token)
    if refusal:
        return _refused(refusal)
    try:
        data = _json_body(request)
        session = chat.do_leave_email(
            session, email=data.get("email", ""), name=data.get("name", "")
        )
    except ValidationError as exc:
        return _invalid(exc)
    return JsonResponse({"email": session.visitor_email})


@widget_endpoint(methods=("GET",), needs_session=True)
def chat_messages(request, session):
    """What is new after ?after= at once (the widget's fallback when it cannot stream)."""
    refusal = throttle.check(CHAT_READ, session.token)
    if refusal:
        return _refused(refusal)
    chat.touch_visitor(session)
    return JsonResponse(
        {
            "messages": [m.as_json() for m in chat.public_messages(session, start_after(request))],
            "agents_online": chat.agents_online(),
        }
    )


@widget_endpoint(methods=("GET",), needs_session=True)
def chat_events(request, session):
    """Server-sent events: each new public message as it is stored (≤ 0.4 s later)."""
    refusal = throttle.check(CHAT_READ, session.token)
    if refusal:
        return _refused(refusal)

    def read(after: int) -> list[dict]:
        return [line.as_json() for line in chat.public_messages(session, after)]

    return sse_response(
        event_stream(read, start_after(request), on_tick=lambda: chat.touch_visitor(session))
    )


# --- the contact form ------------------------------------------------------------------------


class ContactForm(forms.Form):
    email = forms.EmailField(label=_("Your email"), max_length=254)
    name = forms.CharField(label=_("Your name"), max_length=200, required=False)
    order_number = forms.CharField(
        label=_("Order number"),
        max_length=32,
        required=False,
        help_text=_("It's in your order confirmation email, like #TP10234."),
    )
    reason = forms.ChoiceField(label=_("What can we help with?"), choices=ContactReason.CHOICES)
    message = forms.CharField(label=_("Message"), widget=forms.Textarea, max_length=10_000)
    attachments = MultipleFileField(
        label=_("Photos or files"),
        required=False,
        help_text=_("Up to 5 files, 25 MB each."),
    )
    # The honeypot: hidden from people (CSS and aria-hidden), filled in by form-filling bots.
    fax_number = forms.CharField(label=_("Leave this field empty"), required=False)
    form_token = forms.CharField(widget=forms.HiddenInput, required=False)
    # Filled in by the page's script with the help center's token for this tab (suggestions).
    help_session = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def clean_message(self):
        text = self.cleaned_data["message"].replace("\x00", "").strip()
        if not text:
            raise ValidationError(_("Please tell us a little about what happened."))
        return text

    def clean_attachments(self):
        files = self.cleaned_data.get("attachments") or []
        if len(files) > MAX_FORM_ATTACHMENTS:
            raise ValidationError(
                _("Please attach at most %(count)d files.") % {"count": MAX_FORM_ATTACHMENTS}
            )
        attachments = []
        for upload in files:
            if upload.size > settings.DESK_MAX_ATTACHMENT_BYTES:
                limit_mb = settings.DESK_MAX_ATTACHMENT_BYTES // (1024 * 1024)
                raise ValidationError(
                    _("%(name)s is larger than %(limit)d MB. Please attach a smaller file.")
                    % {"name": upload.name, "limit": limit_mb}
                )
            attachment = AttachmentIn(
                filename=upload.name[:255],
                content_type=upload.content_type or "application/octet-stream",
                data=upload.read(),
            )
            validate_attachment(attachment)
            attachments.append(attachment)
        return attachments

    def clean_fax_number(self):
        if self.cleaned_data.get("fax_number"):
            raise ValidationError(_("Please leave this field empty."))
        return ""

    def clean_form_token(self):
        token = self.cleaned_data.get("form_token", "")
        try:
            signing.loads(token, salt=FORM_TOKEN_SALT, max_age=FORM_TOKEN_MAX_AGE)
        except signing.BadSignature as bad:
            self.data = self.data.copy()
            self.data["form_token"] = new_form_token()
            raise ValidationError(
                _("This page was open for a long time. Please press Send again.")
            ) from bad
        return token


def new_form_token() -> str:
    return signing.dumps({"v": 1}, salt=FORM_TOKEN_SALT)


def _throttle_message(refusal: throttle.Refusal, store: Store | None) -> str:
    address = store.support_email if store and store.support_email else ""
    message = _t(
        "You've sent us several messages in a short time, so we paused the form. "
        "Please try again in %(minutes)d minutes."
    ) % {"minutes": refusal.minutes}
    if address:
        message += " " + _t("Or email us at %(address)s.") % {"address": address}
    return message


def _framable(response: HttpResponse) -> HttpResponse:
    """The embeddable form may be framed by the store's own sites, and only by them."""
    config = dict(settings.SECURE_CSP)
    config["frame-ancestors"] = [CSP.SELF, *sorted(widget_origins())]
    response._csp_config = config
    response.xframe_options_exempt = True
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def contact(request, embed: bool = False):
    store = _store(request.GET.get("store", ""))
    status, throttled = 200, ""
    if request.method == "POST":
        form = ContactForm(request.POST, request.FILES)
        ip = throttle.client_ip(request)
        refusal = throttle.check(FORM_IP, ip, consume=False) or throttle.check(
            FORM_EMAIL, request.POST.get("email", "").strip().lower()[:254], consume=False
        )
        if refusal:
            throttled, status = _throttle_message(refusal, store), 429
        elif form.is_valid():
            throttle.check(FORM_IP, ip)
            throttle.check(FORM_EMAIL, form.cleaned_data["email"].lower())
            data = form.cleaned_data
            ticket = do_submit_contact_form(
                ContactSubmission(
                    email=data["email"],
                    name=data["name"],
                    order_number=data["order_number"],
                    reason=data["reason"],
                    message=data["message"],
                    attachments=data["attachments"],
                    ip=ip,
                    user_agent=request.headers.get("User-Agent", ""),
                    page=request.headers.get("Referer", ""),
                    help_session=data["help_session"],
                ),
                store=store,
            )
            done = signing.dumps(ticket.pk, salt=CONFIRMATION_SALT)
            name = "desk_public:contact_embed_sent" if embed else "desk_public:contact_sent"
            return redirect(reverse(name, args=[done]))
        else:
            status = 400
    else:
        form = ContactForm(
            initial={
                "order_number": request.GET.get("order", "")[:32],
                "form_token": new_form_token(),
            }
        )
    response = render(
        request,
        "desk/public/contact.html",
        {"form": form, "store": store, "throttled": throttled, "embed": embed},
        status=status,
    )
    return _framable(response) if embed else response


@require_GET
def contact_sent(request, done: str, embed: bool = False):
    """The confirmation: the request number, nothing else about the ticket (the link is
    signed, so it cannot be walked to read other people's tickets)."""
    try:
        pk = signing.loads(done, salt=CONFIRMATION_SALT, max_age=7 * 24 * 3600)
    except signing.BadSignature as bad:
        raise Http404 from bad
    ticket = Ticket.objects.select_related("store").filter(pk=pk).first()
    if ticket is None:
        raise Http404
    response = render(
        request,
        "desk/public/contact_sent.html",
        {"ticket": ticket, "store": ticket.store, "embed": embed},
    )
    return _framable(response) if embed else response
