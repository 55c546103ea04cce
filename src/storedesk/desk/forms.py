"""Forms of the agent's screens: they validate what a person typed; services do the rest."""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from storedesk.desk.models import Channel, Ticket
from storedesk.desk.services import normalise_tag

ASSIGNEE_SPECIAL = [("", _("Anyone")), ("me", _("Me")), ("none", _("Unassigned"))]
BULK_MAX = 200


def agent_choices(agents) -> list[tuple[str, str]]:
    return [(str(user.pk), user.display_name) for user in agents]


def team_choices(teams) -> list[tuple[str, str]]:
    return [("", _("Any team")), *[(str(team.pk), team.name) for team in teams]]


class InboxFilterForm(forms.Form):
    """The inbox filter bar; its cleaned data is also what a saved view stores."""

    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    status = forms.ChoiceField(
        required=False, choices=[("", _("Any status")), *Ticket.Status.choices], label=_("Status")
    )
    channel = forms.ChoiceField(
        required=False, choices=[("", _("Any channel")), *Channel.choices], label=_("Channel")
    )
    tag = forms.CharField(required=False, max_length=60, label=_("Tag"))
    assignee = forms.ChoiceField(required=False, label=_("Assignee"))
    team = forms.ChoiceField(required=False, label=_("Team"))
    priority = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any priority")), *Ticket.Priority.choices],
        label=_("Priority"),
    )
    FIELDS = ("q", "status", "channel", "tag", "assignee", "team", "priority")

    def __init__(self, *args, agents=(), teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [*ASSIGNEE_SPECIAL, *agent_choices(agents)]
        self.fields["team"].choices = team_choices(teams)

    def clean_tag(self) -> str:
        return normalise_tag(self.cleaned_data["tag"])

    def clean_q(self) -> str:
        text = self.cleaned_data["q"].strip()
        if any(ord(char) < 32 for char in text):
            raise ValidationError(_("Remove the control characters from the search."))
        return text

    def filters(self) -> dict:
        """The non-empty filters, JSON-ready (a saved view stores exactly this)."""
        return {
            name: self.cleaned_data[name]
            for name in self.FIELDS
            if self.cleaned_data.get(name) not in (None, "")
        }


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=80, label=_("View name"))
    is_shared = forms.BooleanField(required=False, label=_("Share with the team"))


class NumberListField(forms.TypedMultipleChoiceField):
    """Several ids or numbers; which ones exist is the view's question, not the form's."""

    def __init__(self, **kwargs):
        super().__init__(coerce=int, **kwargs)

    def valid_value(self, value) -> bool:
        return str(value).isdigit() and len(str(value)) <= 9


class BulkActionForm(forms.Form):
    """Actions on the tickets selected in the inbox; every ticket goes through the services."""

    ACTIONS = [
        ("assign", _("Assign")),
        ("status", _("Set status")),
        ("tag", _("Add tag")),
        ("priority", _("Set priority")),
        ("merge", _("Merge two")),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    tickets = NumberListField()
    assignee = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "—"), *Ticket.Status.choices])
    tag = forms.CharField(required=False, max_length=60)
    priority = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, choices=[("", "—"), *Ticket.Priority.choices]
    )

    def __init__(self, *args, agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [
            ("", "—"),
            ("me", _("Me")),
            ("none", _("Nobody")),
            *agent_choices(agents),
        ]

    def clean_tickets(self) -> list[int]:
        numbers = self.cleaned_data["tickets"]
        if not numbers:
            raise ValidationError(_("Select at least one ticket."))
        if len(numbers) > BULK_MAX:
            raise ValidationError(_("Select at most %(max)s tickets.") % {"max": BULK_MAX})
        return numbers

    def clean(self):
        data = super().clean()
        action = data.get("action")
        required = {"assign": "assignee", "status": "status", "tag": "tag", "priority": "priority"}
        if action in required and data.get(required[action]) in (None, ""):
            self.add_error(required[action], _("Choose a value for this action."))
        if action == "tag":
            data["tag"] = normalise_tag(data.get("tag", ""))
            if not data["tag"]:
                self.add_error("tag", _("Type a tag."))
        if action == "merge" and len(data.get("tickets") or []) != 2:
            self.add_error("tickets", _("Select exactly two tickets to merge."))
        return data


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


SEND_STATUSES = [
    ("", _("Send")),
    (Ticket.Status.OPEN, _("Send and keep open")),
    (Ticket.Status.PENDING, _("Send as pending")),
    (Ticket.Status.SOLVED, _("Send and solve")),
]


class ComposerForm(forms.Form):
    """A reply or an internal note. `form_token` makes a double submit send once; `seen_message`
    is the newest message the agent had on screen, for the collision check."""

    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=100_000)
    is_note = forms.BooleanField(required=False, label=_("Internal note"))
    cc = forms.CharField(required=False, max_length=1000, label=_("CC"))
    template = forms.IntegerField(required=False, min_value=1)
    attachments = MultipleFileField(required=False, label=_("Attachments"))
    send_status = forms.ChoiceField(required=False, choices=SEND_STATUSES)
    form_token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    seen_message = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_cc(self) -> list[str]:
        addresses = [part.strip() for part in self.cleaned_data["cc"].replace(";", ",").split(",")]
        addresses = [address for address in addresses if address]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError as error:
                raise ValidationError(
                    _("“%(address)s” is not an email address.") % {"address": address}
                ) from error
        return addresses

    def clean_text(self) -> str:
        text = self.cleaned_data["text"].strip()
        if not text:
            raise ValidationError(_("Write something first."))
        return text

    @staticmethod
    def new_token() -> str:
        return uuid.uuid4().hex


class PropertiesForm(forms.Form):
    """The ticket's properties panel, saved in one go."""

    status = forms.ChoiceField(choices=Ticket.Status.choices, label=_("Status"))
    priority = forms.TypedChoiceField(
        coerce=int, choices=Ticket.Priority.choices, label=_("Priority")
    )
    assignee = forms.ChoiceField(required=False, label=_("Assignee"))
    team = forms.ChoiceField(required=False, label=_("Team"))
    tags = forms.CharField(required=False, max_length=600, label=_("Tags"))
    follow_up_at = forms.DateTimeField(
        required=False,
        label=_("Follow up"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, agents=(), teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", _("Nobody")), *agent_choices(agents)]
        self.fields["team"].choices = [("", _("No team")), *team_choices(teams)[1:]]

    def clean_tags(self) -> list[str]:
        names = [normalise_tag(part) for part in self.cleaned_data["tags"].split(",")]
        return [name for name in names if name]


class OrderLinkForm(forms.Form):
    number = forms.CharField(max_length=40, label=_("Order number"))
    unlink = forms.BooleanField(required=False, widget=forms.HiddenInput)


class MergeForm(forms.Form):
    into = forms.CharField(max_length=20, label=_("Merge into ticket"))


class SplitForm(forms.Form):
    messages = NumberListField(label=_("Messages"))
    subject = forms.CharField(required=False, max_length=250, label=_("New subject"))
