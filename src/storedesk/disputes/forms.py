"""Input of the disputes pages, validated here (views never read request.POST by hand)."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Payment
from storedesk.disputes.evidence import EDITABLE_FIELDS
from storedesk.disputes.models import Family, Stage
from storedesk.disputes.queries import QueueFilter
from storedesk.disputes.reasons import ACTIONS, CHECKLIST_ITEMS

STATUS_CHOICES = [
    ("open", _("Waiting for our response")),
    ("responded", _("Responded or under review")),
    ("closed", _("Closed")),
    ("all", _("All")),
]
REBUTTAL_MAX = 20_000


def _workers():
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(groups__permissions__codename="work_dispute")
        .distinct()
        .order_by("username")
    )


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    gateway = forms.ChoiceField(
        label=_("Gateway"),
        required=False,
        choices=[("", _("Any gateway")), *Payment.Gateway.choices],
    )
    stage = forms.ChoiceField(
        label=_("Stage"), required=False, choices=[("", _("Any stage")), *Stage.choices]
    )
    family = forms.ChoiceField(
        label=_("Reason family"), required=False, choices=[("", _("Any reason")), *Family.choices]
    )
    owner = forms.CharField(label=_("Owner"), required=False, max_length=20)
    min_amount = forms.DecimalField(
        label=_("Amount from"), required=False, min_value=0, max_digits=12, decimal_places=2
    )
    max_amount = forms.DecimalField(
        label=_("Amount to"), required=False, min_value=0, max_digits=12, decimal_places=2
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["owner"].widget = forms.Select(
            choices=[("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody"))]
            + [(str(u.pk), str(u)) for u in _workers()]
        )

    def clean_owner(self) -> int | None:
        value = self.cleaned_data["owner"]
        if value == "":
            return None
        if value == "me":
            return self.user.pk if self.user else None
        if value == "none":
            return 0
        if not value.isdigit():
            raise forms.ValidationError(_("Choose an owner from the list."))
        return int(value)

    def queue_filter(self) -> QueueFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return QueueFilter(
            gateway=data.get("gateway") or "",
            stage=data.get("stage") or "",
            family=data.get("family") or "",
            owner=data.get("owner"),
            min_amount=data.get("min_amount"),
            max_amount=data.get("max_amount"),
            status=data.get("status") or "open",
        )


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _workers()


class EvidenceForm(forms.Form):
    """The rebuttal and any gateway field the specialist rewrites."""

    rebuttal = forms.CharField(
        label=_("Rebuttal letter"),
        widget=forms.Textarea(attrs={"rows": 12}),
        max_length=REBUTTAL_MAX,
    )

    def __init__(self, *args, field_values: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for name in sorted(EDITABLE_FIELDS - {"uncategorized_text"}):
            self.fields[f"field_{name}"] = forms.CharField(
                label=name,
                required=False,
                max_length=REBUTTAL_MAX,
                initial=(field_values or {}).get(name, ""),
            )

    def edited_fields(self, current: dict) -> dict:
        """Only the fields whose value differs from what the pack would send."""
        return {
            name.removeprefix("field_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("field_") and value != current.get(name.removeprefix("field_"), "")
        }


class ConfirmForm(forms.Form):
    """Submit and accept carry a key minted when the page was shown: a double click sends once."""

    idempotency_key = forms.CharField(max_length=80, min_length=8)
    note = forms.CharField(required=False, max_length=2000)


OFFER_TYPES = [
    ("REFUND", _("Refund")),
    ("REFUND_WITH_RETURN", _("Refund after the item is returned")),
    ("REFUND_WITH_REPLACEMENT", _("Refund and a replacement")),
    ("REPLACEMENT_WITHOUT_REFUND", _("Replacement, no refund")),
]


class OfferForm(ConfirmForm):
    """A PayPal offer to the buyer instead of the claim: what, and how much back."""

    offer_type = forms.ChoiceField(label=_("Offer"), choices=OFFER_TYPES, initial="REFUND")
    amount = forms.DecimalField(
        label=_("Refund amount"), min_value=0, max_digits=12, decimal_places=2
    )


class ReasonRuleForm(forms.Form):
    family = forms.ChoiceField(label=_("Reason family"), choices=Family.choices)
    response_days = forms.IntegerField(
        label=_("Response window (days)"), min_value=1, max_value=120
    )
    checklist = forms.MultipleChoiceField(
        label=_("Evidence that wins"),
        choices=[(key, _(label)) for key, label in CHECKLIST_ITEMS.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    source = forms.CharField(label=_("Source"), max_length=300)
    effective_from = forms.DateField(label=_("Effective from"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for stage, label in Stage.choices:
            self.fields[f"actions_{stage}"] = forms.MultipleChoiceField(
                label=label,
                required=False,
                choices=[(a, a) for a in ACTIONS],
                widget=forms.CheckboxSelectMultiple,
            )

    def actions(self) -> dict[str, list[str]]:
        return {
            stage: self.cleaned_data.get(f"actions_{stage}") or []
            for stage in Stage.values
            if self.cleaned_data.get(f"actions_{stage}")
        }
