"""Forms of the resolution pages: they check what a person typed against the order (its
currency's decimals, its line items, a positive amount); the services decide what is allowed."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from storedesk.core.money import currency_exponent, quantize
from storedesk.resolutions.models import Kind, Reason

IDEMPOTENCY_KEY = RegexValidator(r"^[A-Za-z0-9_-]{8,80}$", _("The form has expired; reload it."))
MAX_AMOUNT = Decimal("1000000")

# The kinds the panel offers, in the order an agent thinks of them.
KIND_HELP = {
    Kind.REFUND: _("Refund what remains refundable."),
    Kind.PARTIAL_REFUND: _("An amount, or chosen items and the shipping."),
    Kind.RESHIP: _("A replacement at no charge; the same or a corrected item."),
    Kind.COUPON: _("A single-use code for a next order."),
    Kind.STORE_CREDIT: _("Credit on the customer's account."),
    Kind.CANCEL: _("Cancel an unfulfilled order and refund it."),
    Kind.NO_COMPENSATION: _("Record that nothing is given, and why."),
}


def new_idempotency_key() -> str:
    """A key made when the form is shown: every submission of that form carries it, so a
    double click or a retried request does one thing."""
    return uuid.uuid4().hex


def money_field(label, *, required=False) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0.001"),
        max_value=MAX_AMOUNT,
        max_digits=15,
        decimal_places=6,  # the currency's own decimals are checked in clean()
        error_messages={
            "min_value": _("Enter an amount above zero."),
            "invalid": _("Enter an amount as a number, such as 12.50."),
        },
    )


class ResolutionForm(forms.Form):
    """One form for every kind; the fields a kind does not use are ignored."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, validators=[IDEMPOTENCY_KEY])
    ticket = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    kind = forms.ChoiceField(label=_("Action"), choices=Kind.choices)
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", _("Choose a reason")), *Reason.choices],
        error_messages={"required": _("Choose the reason for this resolution.")},
    )
    amount = money_field(_("Amount"))
    lines = forms.MultipleChoiceField(
        label=_("Items to refund"), required=False, widget=forms.CheckboxSelectMultiple
    )
    include_shipping = forms.BooleanField(label=_("Refund the shipping"), required=False)
    coupon_percent = forms.DecimalField(
        label=_("Percent off"),
        required=False,
        min_value=Decimal("1"),
        max_value=Decimal("100"),
        decimal_places=2,
    )
    coupon_expires_on = forms.DateField(
        label=_("Expires on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reship_variant = forms.CharField(
        label=_("Send instead (variant or size)"), required=False, max_length=120
    )
    reship_address = forms.CharField(
        label=_("Corrected address"),
        required=False,
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        label=_("Why"),
        help_text=_("On the ticket's timeline; over your limits, the approver reads it."),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.line_items = {str(item.pk): item for item in order.line_items.all()}
        self.fields["lines"].choices = [
            (pk, f"{item.quantity} × {item.title} {item.variant_title}".strip())
            for pk, item in self.line_items.items()
        ]
        self.fields["amount"].label = _("Amount (%(currency)s)") % {"currency": order.currency}

    def clean_amount(self) -> Decimal | None:
        amount = self.cleaned_data.get("amount")
        if amount is None:
            return None
        places = currency_exponent(self.order.currency)
        if amount != amount.quantize(Decimal(1).scaleb(-places)):
            raise ValidationError(
                _("%(currency)s amounts have at most %(places)s decimal places.")
                % {"currency": self.order.currency, "places": places}
            )
        return amount

    def clean_coupon_expires_on(self):
        expires = self.cleaned_data.get("coupon_expires_on")
        if expires and expires <= timezone.localdate():
            raise ValidationError(_("The coupon must expire after today."))
        return expires

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        amount = data.get("amount")
        if kind == Kind.PARTIAL_REFUND and not (
            amount or data.get("lines") or data.get("include_shipping")
        ):
            self.add_error("amount", _("Enter an amount, or choose items or the shipping."))
        if kind == Kind.STORE_CREDIT and not amount:
            self.add_error("amount", _("Enter the credit's amount."))
        if kind == Kind.COUPON and not (amount or data.get("coupon_percent")):
            self.add_error("amount", _("Enter the coupon's amount or its percent off."))
        if kind == Kind.COUPON and amount and data.get("coupon_percent"):
            self.add_error("coupon_percent", _("Give an amount or a percent, not both."))
        if kind == Kind.NO_COMPENSATION and not data.get("note", "").strip():
            self.add_error("note", _("Say why nothing is given."))
        return data

    def chosen_lines(self) -> list[dict]:
        """The chosen line items (item id and quantity) and the shipping, as the services take
        them. A reship with a corrected variant or size and no items chosen replaces them all."""
        data = self.cleaned_data
        kind = data.get("kind")
        variant = (data.get("reship_variant") or "").strip()
        chosen = list(data.get("lines") or ())
        if kind == Kind.RESHIP and variant and not chosen:
            chosen = list(self.line_items)
        lines = []
        for pk in chosen:
            line = {"line_item": int(pk), "quantity": self.line_items[pk].quantity}
            if variant and kind == Kind.RESHIP:
                line["variant"] = variant
            lines.append(line)
        if data.get("include_shipping") and kind == Kind.PARTIAL_REFUND:
            lines.append({"shipping": True})
        return lines

    def service_amount(self) -> Decimal | None:
        """The amount the service takes: a coupon given as a percent is worth that share of
        this order's subtotal (what the customer would save on an order like it)."""
        data = self.cleaned_data
        if data.get("kind") == Kind.COUPON and data.get("coupon_percent"):
            value = self.order.subtotal_price * data["coupon_percent"] / 100
            return quantize(value, self.order.currency)
        return data.get("amount")

    def service_note(self) -> str:
        """The note, with what the service has no field for yet (a coupon's percent and
        expiry, a reship's corrected address) written out so the person completing it and
        the timeline see it."""
        data = self.cleaned_data
        kind = data.get("kind")
        parts = [data.get("note", "").strip()]
        if kind == Kind.COUPON and data.get("coupon_percent"):
            parts.append(_("Coupon: %(percent)s%% off.") % {"percent": data["coupon_percent"]})
        if kind == Kind.COUPON and data.get("coupon_expires_on"):
            parts.append(
                _("Coupon expires on %(date)s.") % {"date": f"{data['coupon_expires_on']:%Y-%m-%d}"}
            )
        if kind == Kind.RESHIP and data.get("reship_address", "").strip():
            parts.append(_("Ship to: %(address)s") % {"address": data["reship_address"].strip()})
        return "\n".join(str(part) for part in parts if part)


class ApproveForm(forms.Form):
    """Approve as asked, or lower the amount first (never raise it)."""

    amount = money_field(_("Approve a lower amount"))


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it is declined"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the request is declined.")},
    )


class MonthField(forms.Field):
    """A month as YYYY-MM, cleaned to its first day."""

    def to_python(self, value):
        text = str(value or "").strip()
        if not text:
            return None
        try:
            year, month = (int(part) for part in text.split("-"))
            if not 2000 <= year <= 2100:
                raise ValueError(year)
            return date(year, month, 1)
        except ValueError as bad:
            raise ValidationError(_("Give the month as YYYY-MM, such as 2026-03.")) from bad


class BudgetMonthForm(forms.Form):
    month = MonthField(required=False)


class BudgetPlanForm(forms.Form):
    """The month's plan per category, in the store's currency; zero means no plan."""

    month = MonthField()
    refunds = forms.DecimalField(label=_("Refunds"), min_value=0, max_digits=12, decimal_places=2)
    reships = forms.DecimalField(
        label=_("Reships at cost"), min_value=0, max_digits=12, decimal_places=2
    )
    coupons = forms.DecimalField(label=_("Coupons"), min_value=0, max_digits=12, decimal_places=2)
    gifts = forms.DecimalField(
        label=_("Store credit and gifts"), min_value=0, max_digits=12, decimal_places=2
    )


LIMIT_FIELD_LABELS = {
    "max_amount": _("Most per action"),
    "max_share": _("Most share of the order (%)"),
    "per_order": _("Most per order"),
    "per_customer_90d": _("Most per customer in 90 days"),
    "reships_per_order": _("Reships per order"),
}


def limit_field_name(role: str, action: str, key: str) -> str:
    return f"{role}.{action}.{key}"


class LimitsForm(forms.Form):
    """Every role's limits per action in one form (a grid on the page); an empty box means
    no limit. The whole set becomes one new version; `limits.validate_limits` has the last
    word on what is valid."""

    note = forms.CharField(label=_("Why (kept with the version)"), required=False, max_length=200)

    def __init__(self, *args, roles, actions, limits, **kwargs):
        super().__init__(*args, **kwargs)
        self.roles, self.actions = roles, actions
        for role in roles:
            self.fields[f"{role}.flagged_orders"] = forms.BooleanField(
                required=False,
                label=_("Refunds disputed or risk-flagged orders alone"),
                initial=limits[role]["flagged_orders"],
            )
            for action in actions:
                rule = limits[role][action]
                self.fields[limit_field_name(role, action, "allowed")] = forms.BooleanField(
                    required=False, label=_("Allowed"), initial=rule["allowed"]
                )
                for key in self.keys_of(action):
                    self.fields[limit_field_name(role, action, key)] = self._limit_field(
                        key, rule.get(key)
                    )

    @staticmethod
    def keys_of(action: str) -> tuple[str, ...]:
        if action == "no_compensation":
            return ()
        keys = ("max_amount", "max_share", "per_order", "per_customer_90d")
        return (*keys, "reships_per_order") if action == "reship" else keys

    @staticmethod
    def _limit_field(key: str, value) -> forms.Field:
        label = LIMIT_FIELD_LABELS[key]
        if key == "reships_per_order":
            return forms.IntegerField(
                required=False, min_value=0, max_value=100, label=label, initial=value
            )
        if key == "max_share":
            initial = None if value is None else (Decimal(value) * 100).normalize()
            return forms.DecimalField(
                required=False,
                min_value=0,
                max_value=100,
                decimal_places=2,
                label=label,
                initial=initial,
            )
        return forms.DecimalField(
            required=False,
            min_value=0,
            max_value=MAX_AMOUNT,
            decimal_places=2,
            label=label,
            initial=None if value is None else Decimal(value),
        )

    def grid(self):
        """(role, flagged field, [(action, allowed field, [bound fields by key])]) rows."""
        for role in self.roles:
            yield (
                role,
                self[f"{role}.flagged_orders"],
                [
                    (
                        action,
                        self[limit_field_name(role, action, "allowed")],
                        [self[limit_field_name(role, action, key)] for key in self.keys_of(action)],
                    )
                    for action in self.actions
                ],
            )

    def limits(self) -> dict:
        """The cleaned grid as the limits data the service validates and saves."""
        data = self.cleaned_data
        result: dict[str, dict] = {}
        for role in self.roles:
            row: dict = {"flagged_orders": data[f"{role}.flagged_orders"]}
            for action in self.actions:
                rule = {"allowed": data[limit_field_name(role, action, "allowed")]}
                for key in ("max_amount", "max_share", "per_order", "per_customer_90d"):
                    rule[key] = None
                rule["reships_per_order"] = None
                for key in self.keys_of(action):
                    value = data[limit_field_name(role, action, key)]
                    if value is not None and key == "max_share":
                        value = value / 100
                    rule[key] = None if value is None else str(value)
                row[action] = rule
            result[role] = row
        return result
