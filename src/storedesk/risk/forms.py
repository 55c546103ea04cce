"""Forms of the risk pages (the review queue and an order's review, the rule editor, the lists):
they check input, the services write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from storedesk.risk import review
from storedesk.risk.backtest import BACKTEST_DAYS
from storedesk.risk.language import Action, RuleError
from storedesk.risk.models import OrderRisk, RiskDecision
from storedesk.risk.services import clean_list_values, validate_rule

DEFAULT_BACKTEST_DAYS = 90
RULE_MAX_LENGTH = 2000
MAX_LINES = 5000  # entries added to a list at once
_DAY_LABELS = {
    30: _("last 30 days"),
    90: _("last 90 days"),
    180: _("last 180 days"),
    365: _("last 365 days"),
}
DAY_CHOICES = [(days, _DAY_LABELS[days]) for days in BACKTEST_DAYS]


class BacktestDaysField(forms.TypedChoiceField):
    """A period that is not offered falls back to the default one (the page says which)."""

    def clean(self, value):
        try:
            return super().clean(value)
        except forms.ValidationError:
            return DEFAULT_BACKTEST_DAYS


class BacktestForm(forms.Form):
    """What the live check reads while a rule is typed."""

    source = forms.CharField(
        label=_("Rule"),
        max_length=RULE_MAX_LENGTH,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off", "class": "mono"}
        ),
        help_text=_("For example: review if :amount_usd: > 700 and :is_first_order:"),
    )
    days = BacktestDaysField(
        label=_("Backtest over"),
        choices=DAY_CHOICES,
        coerce=int,
        initial=DEFAULT_BACKTEST_DAYS,
        required=False,
        empty_value=DEFAULT_BACKTEST_DAYS,
    )

    def clean_source(self) -> str:
        source = self.cleaned_data["source"]
        if not source.strip():
            raise forms.ValidationError(_("Write a rule, such as: review if :amount_usd: > 500"))
        return source


class RuleForm(BacktestForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        required=False,
        help_text=_("Shown to reviewers when the rule decides an order."),
    )
    priority = forms.IntegerField(
        label=_("Priority"),
        min_value=0,
        max_value=1_000_000,
        help_text=_("Lower runs first; the first rule that matches decides."),
    )
    is_enabled = forms.BooleanField(label=_("Enabled"), required=False)
    note = forms.CharField(
        label=_("Note for the history"),
        max_length=200,
        required=False,
        help_text=_("What changed and why, for whoever reads the history later."),
    )
    confirm_broad = forms.BooleanField(
        label=_("I have checked the backtest: save this rule although it matches many orders."),
        required=False,
    )

    field_order = ["name", "source", "priority", "is_enabled", "note", "days", "confirm_broad"]

    def clean_source(self) -> str:
        source = super().clean_source()
        try:
            validate_rule(source)
        except RuleError as error:
            self.rule_error = error
            raise forms.ValidationError(str(error)) from None
        return source


class ListAddForm(forms.Form):
    values = forms.CharField(
        label=_("Add entries, one per line"),
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
    )
    note = forms.CharField(
        label=_("Why"),
        max_length=200,
        required=False,
        help_text=_("For example: chargeback on order #TP10234"),
    )

    def __init__(self, *args, risk_list, **kwargs):
        super().__init__(*args, **kwargs)
        self.risk_list = risk_list

    def clean_values(self) -> str:
        text = self.cleaned_data["values"]
        lines = text.splitlines()
        if len(lines) > MAX_LINES:
            raise forms.ValidationError(
                _("Add at most %(max)s entries at a time.") % {"max": MAX_LINES}
            )
        self.cleaned_values, self.line_errors = clean_list_values(self.risk_list, lines)
        if self.line_errors:
            raise forms.ValidationError(
                _("Nothing was added: correct the lines below and send them again.")
            )
        if not self.cleaned_values:
            raise forms.ValidationError(_("Write at least one entry."))
        return text


# --- The review pages ---------------------------------------------------------------------

Kind = RiskDecision.Kind


class QueueFilters(forms.Form):
    stage = forms.ChoiceField(
        label=_("Stage"), required=False, choices=[("", _("Any stage")), *OrderRisk.Stage.choices]
    )
    action = forms.ChoiceField(
        label=_("Rule action"),
        required=False,
        choices=[("", _("Any action"))] + [(a.value, a.value) for a in Action],
    )
    min_score = forms.IntegerField(
        label=_("Score at least"), required=False, min_value=0, max_value=100
    )


class DecisionForm(forms.Form):
    """One form for every action on the review page; the services say what each one needs."""

    kind = forms.ChoiceField(choices=Kind.choices)
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=review.REASON_MAX_LENGTH, strip=True
    )
    stage = forms.ChoiceField(label=_("Stage"), required=False, choices=OrderRisk.Stage.choices)
    template = forms.ChoiceField(
        label=_("Template"),
        required=False,
        choices=[(t.key, t.label) for t in review.VERIFICATION_TEMPLATES.values()],
    )
    message = forms.CharField(
        label=_("Message to the customer"),
        required=False,
        max_length=review.MESSAGE_MAX_LENGTH,
        widget=forms.Textarea,
    )


class TaskDoneForm(forms.Form):
    """Marking an order task done: an optional note, and the page to go back to."""

    note = forms.CharField(required=False, strip=False)
    next = forms.CharField(required=False, strip=False)
