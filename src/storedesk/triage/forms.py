"""The triage pages' forms: every value a POST sends is read here, never from `request.POST`.

The forms check the shape of what was typed (a whole number, a department that exists, a
direction); the services check the business rules (a rule's syntax, a calendar's shifts, a
playbook's steps) and raise `ValidationError`s the views show the same way. Text fields keep
what was typed unstripped, as the services normalise it themselves.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from storedesk.accounts.models import Team
from storedesk.triage.intents import Intent, Mood, Threat
from storedesk.triage.priority import LEVEL_KEYS, SCALAR_WEIGHTS, WeightsError


def _text(**kwargs) -> forms.CharField:
    return forms.CharField(required=False, strip=False, **kwargs)


class ListField(forms.Field):
    """Every value sent under one name (checkboxes, multiple selects), as strings; which of
    them are allowed is the service's to say, with its own message."""

    widget = forms.SelectMultiple

    def to_python(self, value) -> list[str]:
        return [str(item) for item in value or ()]


class TriageForm(forms.Form):
    def first_error(self) -> str:
        """The first problem in field order: the pages show one message at a time."""
        for name in [*self.fields, "__all__"]:
            if self.errors.get(name):
                return self.errors[name][0]
        return ""


# --- routing rules ---------------------------------------------------------------------------


class RuleForm(TriageForm):
    name = _text()
    condition = _text()
    actions = _text()
    stop_processing = forms.BooleanField(required=False)
    is_active = forms.BooleanField(required=False)
    do = _text()  # "test" runs the condition against past tickets instead of saving

    def rule_fields(self) -> dict:
        return {key: self.cleaned_data[key] for key in ("name", "condition", "actions")} | {
            "stop_processing": self.cleaned_data["stop_processing"],
            "is_active": self.cleaned_data["is_active"],
        }

    @property
    def wants_test(self) -> bool:
        return self.cleaned_data["do"] == "test"


MOVE_DIRECTIONS = {"up": -1, "down": 1}


class RuleMoveForm(TriageForm):
    direction = forms.ChoiceField(
        choices=[(key, key) for key in MOVE_DIRECTIONS],
        error_messages={
            "required": gettext_lazy("Move a rule up or down."),
            "invalid_choice": gettext_lazy("Move a rule up or down."),
        },
    )

    @property
    def step(self) -> int:
        return MOVE_DIRECTIONS[self.cleaned_data["direction"]]


# --- SLA policies and calendars --------------------------------------------------------------


def _whole_number(value: str, name: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationError(_("%(field)s must be a whole number.") % {"field": name})
    return int(value)


class SlaPolicyForm(TriageForm):
    policy = _text()
    first_response_minutes = _text()
    next_response_minutes = _text()
    resolution_minutes = _text()
    warn_before_minutes = _text()
    is_active = forms.BooleanField(required=False)

    TARGETS = (
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "warn_before_minutes",
    )

    def clean(self):
        cleaned = super().clean()
        for name in self.TARGETS:
            if name in cleaned:
                try:
                    cleaned[name] = _whole_number(cleaned[name], name)
                except ValidationError as problem:
                    self.add_error(name, problem)
        return cleaned

    def policy_id(self) -> int:
        """The policy's id, or 0 (no such policy) when it is not a number."""
        value = self.data.get("policy", "")
        return int(value) if value.isdigit() else 0

    def targets(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.TARGETS} | {
            "is_active": self.cleaned_data["is_active"]
        }


def hours_from_text(text: str) -> list[list[str]]:
    """'08:30-12:00, 13:30-17:30' → [['08:30', '12:00'], ['13:30', '17:30']]."""
    shifts = []
    for part in (text or "").replace(";", ",").split(","):
        if not part.strip():
            continue
        if "-" not in part:
            raise ValidationError(_("Write shifts as 08:30-12:00, 13:30-17:30."))
        start, end = part.split("-", 1)
        shifts.append([start.strip(), end.strip()])
    return shifts


class CalendarForm(TriageForm):
    name = _text()
    timezone = forms.CharField(required=False)
    working_days = ListField(required=False)
    hours = _text()
    holiday_country = _text()
    closed_days = _text()

    def clean_working_days(self) -> list[int]:
        return [int(day) for day in self.cleaned_data["working_days"] if day.isdigit()]

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["shifts"] = hours_from_text(cleaned.get("hours", ""))
        except ValidationError as problem:
            self.add_error("hours", problem)
        return cleaned

    def shown(self) -> dict:
        """What the page shows back: the text as typed, the chosen weekdays."""
        typed = {name: self.data.get(name, "") for name in ("name", "hours", "closed_days")}
        return typed | {
            "timezone": self.data.get("timezone", "").strip(),
            "working_days": self.cleaned_data.get("working_days", []),
            "holiday_country": self.data.get("holiday_country", ""),
        }

    def calendar_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "timezone": data["timezone"],
            "working_days": data["working_days"],
            "hours": data["shifts"],
            "holiday_country": data["holiday_country"],
            "closed_days": [day for day in data["closed_days"].split() if day],
        }


# --- playbooks and the ticket panel ----------------------------------------------------------


class PlaybookForm(TriageForm):
    intent = _text()
    title = _text()
    steps = _text()


class ChecklistStepForm(TriageForm):
    step = _text()
    status = _text()


class HandoffForm(TriageForm):
    team = forms.CharField(required=False)
    summary = _text()

    def clean_team(self) -> Team:
        value = self.cleaned_data["team"]
        team = Team.objects.filter(pk=int(value)).first() if value.isdigit() else None
        if team is None:
            raise ValidationError(_("Choose a department."))
        return team


class HandoffReturnForm(TriageForm):
    outcome = _text()


class IntentLabelForm(TriageForm):
    intent = ListField(required=False)


# --- priority weights ------------------------------------------------------------------------


def weight_field_names() -> list[str]:
    """Every field of the weights page, e.g. `intent.refund_request`, `order_value`,
    `levels.urgent`."""
    return [
        *(f"intent.{intent}" for intent in Intent.values),
        *(f"mood.{mood}" for mood in Mood.values),
        *(f"threat.{threat}" for threat in Threat.values),
        "order_value",
        "lifetime_spend",
        *(f"levels.{key}" for key in LEVEL_KEYS),
        *SCALAR_WEIGHTS,
    ]


def _bands_from_text(text: str, name: str) -> list[list[str]]:
    bands = []
    for part in (text or "").replace(";", ",").split(","):
        if not part.strip():
            continue
        threshold, colon, points = part.partition(":")
        if not colon:
            raise WeightsError(
                _("%(field)s: write each band as amount:points, e.g. 500:15, 200:8.")
                % {"field": name},
                name,
            )
        bands.append([threshold.strip(), points.strip()])
    return bands


def weights_from_form(data) -> dict:
    """The weights page's fields (`intent.refund_request`, `order_value` as `500:15, 200:8`,
    `levels.urgent` …) as the dict `validate_weights` checks. An empty field is 0 points."""

    def value(name: str):
        return (data.get(name) or "").strip() or "0"

    return {
        "intent": {intent: value(f"intent.{intent}") for intent in Intent.values},
        "mood": {mood: value(f"mood.{mood}") for mood in Mood.values},
        "threat": {threat: value(f"threat.{threat}") for threat in Threat.values},
        "order_value": _bands_from_text(data.get("order_value", ""), "order_value"),
        "lifetime_spend": _bands_from_text(data.get("lifetime_spend", ""), "lifetime_spend"),
        "levels": {key: value(f"levels.{key}") for key in LEVEL_KEYS},
        **{name: value(name) for name in SCALAR_WEIGHTS},
    }


class PriorityWeightsForm(TriageForm):
    """Every weight as typed (the service validates the whole set), the note, and `do`:
    "rescore" asks for the open tickets to be scored again instead of saving."""

    do = _text()
    note = _text()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in weight_field_names():
            self.fields[name] = _text()

    @property
    def wants_rescore(self) -> bool:
        return self.cleaned_data["do"] == "rescore"

    def weights(self) -> dict:
        """The typed weights as `validate_weights` reads them (raises `WeightsError`)."""
        return weights_from_form(self.cleaned_data)

    def typed(self, name: str) -> str:
        return self.data.get(name, "")
