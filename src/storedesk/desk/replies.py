"""Reply templates (C6): variables filled from the ticket, rendered safely; edits go through
proposals that a lead approves, each approval a new version.

A template is plain text with `{{ variables }}` (and `{% if variable %}…{% endif %}` for optional
lines). It is rendered by Django's template engine against a restricted context: only the
strings in `VARIABLES`, never a model, so a template cannot reach into the database or
settings. A variable the ticket has no value for is never blank: it renders as `[[name]]` and
is listed in `missing`, so the preview shows the agent what to fill in before sending. The HTML
part is the rendered text escaped whole (the template's own words and every value) with links
made clickable, so neither a customer's name nor a template edit can inject markup.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Lexer, TokenType
from django.utils import timezone
from django.utils.html import linebreaks, urlize
from django.utils.translation import gettext_lazy as _

from storedesk.audit.services import record_audit
from storedesk.commerce.models import Order, Shipment
from storedesk.commerce.queries import order_tracking_url
from storedesk.core.money import quantize
from storedesk.core.safe_urls import safe_http_url
from storedesk.desk.models import ReplyTemplate, ReplyTemplateVersion, Ticket

DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent / "default_templates"
MAX_BODY_LENGTH = 10_000
MAX_SUBJECT_LENGTH = 200
MAX_EXTRA_LENGTH = 500

# Every variable a template may use, with what it means (shown in the library and the API).
VARIABLES: dict[str, str] = {
    "first_name": _("The customer's first name"),
    "order_number": _("The order the ticket is about, e.g. #TP10234"),
    "order_date": _("When that order was placed"),
    "items": _("The order's items, e.g. 'Moonstone Ring (Size 7)'"),
    "carrier": _("The carrier of the latest shipment"),
    "tracking_number": _("Its tracking number"),
    "tracking_link": _("Its tracking page"),
    "tracking_last_event": _("The latest carrier scan, with place and date"),
    "carrier_eta": _("The carrier's estimated delivery date"),
    "delivered_on": _("When the carrier marked it delivered"),
    "tracking_page": _("The order's own tracking page on our site (a signed link)"),
    "refund_amount": _("The refund, e.g. $42.00 (the latest one, or typed by the agent)"),
    "coupon_code": _("A coupon code (typed by the agent)"),
    "agent_name": _("The replying agent's first name"),
    "store_name": _("The store's name"),
    "support_email": _("The store's support address"),
}
# What the agent types in (never derived from the ticket).
AGENT_VARIABLES = ("coupon_code", "refund_amount")
# Facts of the ticket's order a template may depend on: a template that needs one the ticket
# lacks is not offered (no "on its way with [[carrier]]" for an order that has not shipped).
ORDER_FACTS = ("order_number", "order_date", "items")
SHIPMENT_FACTS = (
    "carrier",
    "tracking_number",
    "tracking_link",
    "tracking_last_event",
    "carrier_eta",
    "delivered_on",
)
# `[[name]]`, the marker of a variable with no value (spaces tolerated: an agent's edit).
_PLACEHOLDER = re.compile(r"\[\[\s*([a-z_]+)\s*\]\]")
ALLOWED_TAGS = frozenset({"if", "elif", "else", "endif"})

# A template engine with no loaders, no libraries and no debug: `{% include %}`, `{% load %}`,
# `{% debug %}` have nothing to reach, and they are refused by `check_template_source` anyway.
_ENGINE = Engine(loaders=[], libraries={}, debug=False, autoescape=False)


@dataclass
class RenderedReply:
    subject: str
    text: str
    html: str
    missing: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


# --- checking and rendering ------------------------------------------------------------------


def used_variables(source: str) -> list[str]:
    """The variables a template text uses, in order of first use."""
    names: list[str] = []
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.VAR:
            name = token.contents.split("|")[0].strip()
        elif token.token_type == TokenType.BLOCK and token.contents.split()[0] in ("if", "elif"):
            name = token.contents.split()[1] if len(token.contents.split()) > 1 else ""
        else:
            continue
        if name and name not in names:
            names.append(name)
    return names


def check_template_source(source: str) -> None:
    """Refuse a template that uses anything but known variables and if/else, with a message
    naming the problem (an agent's typo must not reach a customer as a blank)."""
    try:
        tokens = Lexer(source).tokenize()
        for token in tokens:
            if token.token_type == TokenType.BLOCK:
                tag = token.contents.split()[0] if token.contents.split() else ""
                if tag not in ALLOWED_TAGS:
                    raise ValidationError(
                        _("Only {%% if %%} … {%% endif %%} blocks are allowed, not “%(tag)s”.")
                        % {"tag": tag}
                    )
                if tag in ("if", "elif") and len(token.contents.split()) != 2:
                    raise ValidationError(_("Write {% if variable %} with one variable."))
            if token.token_type == TokenType.VAR and "|" in token.contents:
                raise ValidationError(_("Filters are not allowed in templates."))
        unknown = [name for name in used_variables(source) if name not in VARIABLES]
        if unknown:
            raise ValidationError(
                _("Unknown variable: %(names)s. Known: %(known)s.")
                % {"names": ", ".join(unknown), "known": ", ".join(VARIABLES)}
            )
        _ENGINE.from_string(source)
    except TemplateSyntaxError as error:
        raise ValidationError(
            _("The template is not valid: %(error)s") % {"error": error}
        ) from None


def _money(amount: Decimal, currency: str) -> str:
    value = quantize(Decimal(amount), currency)
    return f"${value:,}" if currency == "USD" else f"{value:,} {currency}"


def _date(moment, zone: str) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(zoneinfo.ZoneInfo(zone or "America/New_York"))
    return f"{local:%B} {local.day}, {local.year}"


def _first_name(ticket: Ticket) -> str:
    if ticket.customer_id and ticket.customer.first_name:
        return ticket.customer.first_name.strip()
    return (ticket.requester_name or "").strip().split(" ")[0]


def ticket_order(ticket: Ticket) -> Order | None:
    """The order a ticket is about: its most recently placed linked order."""
    # Not `ticket.orders`: a page may have prefetched them with only a few fields.
    return (
        Order.objects.filter(tickets=ticket.pk)
        .select_related("store")
        .prefetch_related("line_items")
        .order_by("-created_at", "-id")
        .first()
    )


def ticket_values(ticket: Ticket, agent=None) -> dict[str, str]:
    """Every variable's value for this ticket ('' where the ticket has none); ~5 queries."""
    store = ticket.store
    zone = getattr(ticket.customer, "timezone", "") or (store.timezone if store else "")
    values = dict.fromkeys(VARIABLES, "")
    values["first_name"] = _first_name(ticket)
    values["agent_name"] = (
        (getattr(agent, "first_name", "") or getattr(agent, "display_name", "")).strip()
        if agent is not None
        else ""
    )
    if store is not None:
        values["store_name"] = store.name
        values["support_email"] = store.support_email
    order = ticket_order(ticket)
    if order is not None:
        _fill_order_values(values, order, zone)
    return values


def _fill_order_values(
    values: dict[str, str], order: Order, zone: str, *, with_refund: bool = True
) -> None:
    """The order's, its latest refund's and its latest shipment's variables (3–4 queries)."""
    values["order_number"] = order.number
    values["tracking_page"] = order_tracking_url(order)
    values["order_date"] = _date(order.created_at, zone)
    values["items"] = ", ".join(
        (f"{item.quantity} × " if item.quantity > 1 else "")
        + item.title
        + (f" ({item.variant_title})" if item.variant_title else "")
        for item in order.line_items.all()
    )
    refund = (
        order.refunds.exclude(status="failed").order_by("-created_at", "-id").first()
        if with_refund
        else None
    )
    if refund is not None:
        values["refund_amount"] = _money(refund.amount, refund.currency)
    shipment = (
        Shipment.objects.filter(order=order)
        .order_by("-shipped_at", "-id")
        .prefetch_related("events")
        .first()
    )
    if shipment is not None:
        values["carrier"] = shipment.carrier
        values["tracking_number"] = shipment.tracking_number
        # What customers receive must never carry a javascript: or data: link.
        values["tracking_link"] = safe_http_url(shipment.tracking_url)
        values["carrier_eta"] = _date(shipment.estimated_delivery_at, zone)
        values["delivered_on"] = _date(shipment.delivered_at, zone)
        events = sorted(shipment.events.all(), key=lambda event: (event.happened_at, event.pk))
        if events:
            last = events[-1]
            place = ", ".join(part for part in (last.city, last.province) if part)
            values["tracking_last_event"] = (
                (last.message or last.get_status_display())
                + (f" ({place})" if place else "")
                + f" on {_date(last.happened_at, zone)}"
            )


# --- what may be sent, and what is offered ----------------------------------------------------


def unfilled_placeholders(text: str) -> list[str]:
    """The variables still shown as `[[name]]` in a text about to be sent, in order."""
    found = [match.group(1) for match in _PLACEHOLDER.finditer(text or "")]
    return list(dict.fromkeys(name for name in found if name in VARIABLES))


def refuse_unfilled(*texts: str) -> None:
    """Refuse a text that still holds a `[[name]]` marker: a customer must never read
    "on its way with [[carrier]]". Every sending service calls this, so every way in (the
    composer, the API, automations, the demo) is covered."""
    names = list(dict.fromkeys(n for text in texts for n in unfilled_placeholders(text)))
    if names:
        raise ValidationError(
            _("Fill in before sending: %(names)s.")
            % {"names": ", ".join(f"[[{name}]]" for name in names)},
            code="unfilled_placeholder",
            params={"names": names},
        )


def required_facts(template: ReplyTemplate) -> frozenset[str]:
    """The order and shipment facts a template cannot do without (not those used only on an
    optional `{% if fact %}` line); remembered per template version."""
    key = (template.pk, template.version, template.subject, template.body)
    cached = _REQUIRED_FACTS.get(key)
    if cached is None:
        facts = set(ORDER_FACTS + SHIPMENT_FACTS)
        needed = _optional_lines_missing(template.subject, sorted(facts))
        needed += _optional_lines_missing(template.body, sorted(facts))
        cached = _REQUIRED_FACTS[key] = frozenset(needed)
    return cached


_REQUIRED_FACTS: dict[tuple, frozenset[str]] = {}


def facts_present(ticket: Ticket) -> frozenset[str]:
    """The order and shipment facts this ticket has values for (no query without an order)."""
    order = ticket_order(ticket)
    if order is None:
        return frozenset()
    values: dict[str, str] = {}
    _fill_order_values(values, order, "", with_refund=False)  # presence only: no zone needed
    return frozenset(name for name, value in values.items() if value)


def is_offered(template: ReplyTemplate, present: frozenset[str]) -> bool:
    """A template is offered only when the ticket has every fact it needs."""
    return required_facts(template) <= present


def clean_extra(extra: Mapping[str, object] | None) -> dict[str, str]:
    """What the agent typed for variables: known names only, short plain strings."""
    cleaned = {}
    for name, value in (extra or {}).items():
        if name not in VARIABLES:
            raise ValidationError(_("Unknown variable: %(name)s.") % {"name": name})
        text = " ".join(str(value if value is not None else "").split())
        if len(text) > MAX_EXTRA_LENGTH:
            raise ValidationError(_("The value of %(name)s is too long.") % {"name": name})
        if text:
            cleaned[name] = text
    return cleaned


def render_source(source: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """Render one template text; a used variable with no value renders as `[[name]]`."""
    missing = [name for name in used_variables(source) if not values.get(name)]
    context = {name: values.get(name) or f"[[{name}]]" for name in VARIABLES}
    # `{% if name %}` tests the real value: an optional line with no value is left out.
    for name in VARIABLES:
        context[f"present_{name}"] = bool(values.get(name))
    template = _ENGINE.from_string(_conditions_on_real_values(source))
    return template.render(Context(context, autoescape=False)), missing


def _conditions_on_real_values(source: str) -> str:
    """Rewrite `{% if name %}` to test whether the value exists, not the `[[name]]` marker."""
    out = []
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            parts = token.contents.split()
            if parts[0] in ("if", "elif") and len(parts) == 2:
                out.append(f"{{% {parts[0]} present_{parts[1]} %}}")
                continue
            out.append(f"{{% {token.contents} %}}")
        elif token.token_type == TokenType.VAR:
            out.append(f"{{{{ {token.contents} }}}}")
        elif token.token_type == TokenType.COMMENT:
            continue
        else:
            out.append(token.contents)
    return "".join(out)


def _optional_lines_missing(source: str, missing: list[str]) -> list[str]:
    """Variables used only inside `{% if that_variable %}` are optional, not missing."""
    required = []
    depth_names: list[str] = []
    for token in Lexer(source).tokenize():
        parts = token.contents.split() if token.token_type == TokenType.BLOCK else []
        if parts and parts[0] == "if":
            depth_names.append(parts[1])
        elif parts and parts[0] == "elif":
            depth_names[-1:] = [parts[1]]
        elif parts and parts[0] == "else":
            depth_names[-1:] = [""]
        elif parts and parts[0] == "endif":
            depth_names.pop()
        elif token.token_type == TokenType.VAR:
            name = token.contents.strip()
            if name in missing and name not in depth_names and name not in required:
                required.append(name)
    return required


def text_to_reply_html(text: str) -> str:
    """The HTML part: the text escaped whole, links clickable, paragraphs kept."""
    return linebreaks(urlize(text, nofollow=True, autoescape=True))


def render_reply(
    template: ReplyTemplate,
    ticket: Ticket,
    agent=None,
    extra: Mapping[str, object] | None = None,
    *,
    subject: str | None = None,
    body: str | None = None,
) -> RenderedReply:
    """Fill a template for a ticket: subject, text and HTML, and the variables still missing.

    `extra` holds what the agent typed (coupon code, refund amount …) and wins over the
    ticket's values. `subject`/`body` render a proposed text instead of the template's own.
    """
    values = ticket_values(ticket, agent) | clean_extra(extra)
    subject_source = template.subject if subject is None else subject
    body_source = template.body if body is None else body
    rendered_subject, subject_missing = render_source(subject_source, values)
    text, body_missing = render_source(body_source, values)
    missing = list(
        dict.fromkeys(
            _optional_lines_missing(subject_source, subject_missing)
            + _optional_lines_missing(body_source, body_missing)
        )
    )
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    while "\n\n\n" in text:  # an omitted optional line leaves no gap behind
        text = text.replace("\n\n\n", "\n\n")
    return RenderedReply(
        subject=" ".join(rendered_subject.split()),
        text=text,
        html=text_to_reply_html(text),
        missing=missing,
        values={name: value for name, value in values.items() if value},
    )


# --- versions: propose, approve, reject ------------------------------------------------------


def _check(subject: str, body: str) -> tuple[str, str]:
    subject = " ".join((subject or "").split())
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError(_("A template needs a body."))
    if len(body) > MAX_BODY_LENGTH:
        raise ValidationError(
            _("The body is longer than %(n)s characters.") % {"n": MAX_BODY_LENGTH}
        )
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise ValidationError(
            _("The subject is longer than %(n)s characters.") % {"n": MAX_SUBJECT_LENGTH}
        )
    check_template_source(subject)
    check_template_source(body)
    return subject, body


@transaction.atomic
def do_create_template(
    *, name: str, category: str, subject: str, body: str, actor=None
) -> ReplyTemplate:
    """A new template at version 1 (leads; also the default set's installer)."""
    name = " ".join((name or "").split())[:120]
    if not name:
        raise ValidationError(_("A template needs a name."))
    if category not in ReplyTemplate.Category.values:
        raise ValidationError(_("Unknown category: %(category)s.") % {"category": category})
    if ReplyTemplate.objects.filter(name=name).exists():
        raise ValidationError(_("A template named “%(name)s” exists already.") % {"name": name})
    subject, body = _check(subject, body)
    now = timezone.now()
    template = ReplyTemplate.objects.create(
        name=name,
        category=category,
        subject=subject,
        body=body,
        version=1,
        updated_by=actor if getattr(actor, "pk", None) else None,
        updated_at=now,
    )
    ReplyTemplateVersion.objects.create(
        template=template,
        version=1,
        subject=subject,
        body=body,
        status=ReplyTemplateVersion.Status.APPROVED,
        proposed_by=template.updated_by,
        decided_by=template.updated_by,
        created_at=now,
        decided_at=now,
    )
    record_audit(actor=actor, action="desk.template_created", obj=template, changes={"name": name})
    return template


@transaction.atomic
def do_propose_template_edit(
    template: ReplyTemplate, *, author, subject: str, body: str, note: str = ""
) -> ReplyTemplateVersion:
    """An agent's edit, waiting for a lead; the template itself does not change yet."""
    subject, body = _check(subject, body)
    if subject == template.subject and body == template.body:
        raise ValidationError(_("The proposal is the same as the current version."))
    proposal = ReplyTemplateVersion.objects.create(
        template=template,
        subject=subject,
        body=body,
        status=ReplyTemplateVersion.Status.PROPOSED,
        proposed_by=author,
        note=" ".join((note or "").split())[:200],
        created_at=timezone.now(),
    )
    record_audit(
        actor=author,
        action="desk.template_edit_proposed",
        obj=template,
        changes={"proposal": proposal.pk, "based_on": template.version},
    )
    return proposal


def _lock_pending(proposal: ReplyTemplateVersion) -> tuple[ReplyTemplate, ReplyTemplateVersion]:
    """Lock the template, then the proposal (always in this order), and check it is pending."""
    template = ReplyTemplate.objects.select_for_update().get(pk=proposal.template_id)
    proposal = ReplyTemplateVersion.objects.select_for_update().get(pk=proposal.pk)
    if proposal.status != ReplyTemplateVersion.Status.PROPOSED:
        raise ValidationError(
            _("This proposal was %(status)s already.") % {"status": proposal.get_status_display()}
        )
    return template, proposal


@transaction.atomic
def do_approve_template_version(
    proposal: ReplyTemplateVersion, *, actor, note: str = ""
) -> ReplyTemplate:
    """A lead approves: the proposal becomes the template's next version."""
    template, proposal = _lock_pending(proposal)
    now = timezone.now()
    old_version = template.version
    template.version = old_version + 1
    template.subject, template.body = proposal.subject, proposal.body
    template.updated_by, template.updated_at = actor, now
    template.save(update_fields=["version", "subject", "body", "updated_by", "updated_at"])
    proposal.status = ReplyTemplateVersion.Status.APPROVED
    proposal.version = template.version
    proposal.decided_by, proposal.decided_at = actor, now
    if note:
        proposal.note = " ".join(note.split())[:200]
    proposal.save(update_fields=["status", "version", "decided_by", "decided_at", "note"])
    record_audit(
        actor=actor,
        action="desk.template_version_approved",
        obj=template,
        changes={"proposal": proposal.pk, "old": old_version, "new": template.version},
    )
    return template


@transaction.atomic
def do_reject_template_version(
    proposal: ReplyTemplateVersion, *, actor, note: str = ""
) -> ReplyTemplateVersion:
    """A lead rejects, saying why in the note; the template stays as it is."""
    template, proposal = _lock_pending(proposal)
    proposal.status = ReplyTemplateVersion.Status.REJECTED
    proposal.decided_by, proposal.decided_at = actor, timezone.now()
    proposal.note = " ".join((note or "").split())[:200]
    proposal.save(update_fields=["status", "decided_by", "decided_at", "note"])
    record_audit(
        actor=actor,
        action="desk.template_version_rejected",
        obj=template,
        changes={"proposal": proposal.pk, "note": proposal.note},
    )
    return proposal


# --- the default set -------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultTemplate:
    name: str
    category: str
    subject: str
    body: str
    path: Path


def parse_template_file(path: Path) -> DefaultTemplate:
    """A Markdown file with a front matter of `key: value` lines between `---` fences."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError(f"{path.name}: no front matter")
    head, _, body = text[4:].partition("\n---\n")
    meta = {}
    for line in head.splitlines():
        key, _, value = line.partition(":")
        if key.strip():
            meta[key.strip()] = value.strip()
    missing = {"name", "category"} - meta.keys()
    if missing:
        raise ValueError(f"{path.name}: front matter lacks {', '.join(sorted(missing))}")
    return DefaultTemplate(
        name=meta["name"],
        category=meta["category"],
        subject=meta.get("subject", ""),
        body=body.strip() + "\n",
        path=path,
    )


def default_templates(directory: Path = DEFAULT_TEMPLATES_DIR) -> list[DefaultTemplate]:
    return [parse_template_file(path) for path in sorted(directory.glob("*.md"))]


@transaction.atomic
def do_install_default_templates(directory: Path = DEFAULT_TEMPLATES_DIR) -> list[ReplyTemplate]:
    """Create the shipped templates that do not exist yet (by name); returns those created.

    Idempotent: a template the team edited, or one with the same name, is left alone.
    """
    existing = set(ReplyTemplate.objects.values_list("name", flat=True))
    created = []
    for default in default_templates(directory):
        if default.name in existing:
            continue
        created.append(
            do_create_template(
                name=default.name,
                category=default.category,
                subject=default.subject,
                body=default.body,
            )
        )
    return created


def install_defaults_on_fresh_install(using: str = "default", **kwargs) -> None:
    """post_migrate of the desk app: a desk with no template at all (a fresh install) gets the
    default set; afterwards this is one cheap query per migrate."""
    connection = connections[using]
    if ReplyTemplate._meta.db_table not in connection.introspection.table_names():
        return  # migrated backwards, or only part of the way
    if not ReplyTemplate.objects.using(using).exists():
        do_install_default_templates()
