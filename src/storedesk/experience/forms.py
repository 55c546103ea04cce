"""Input of the experience app's pages, one section per feature."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from storedesk.desk.forms import MultipleFileField
from storedesk.desk.services import AttachmentIn, validate_attachment
from storedesk.experience.help_markdown import MAX_MARKDOWN_LENGTH
from storedesk.experience.models import (
    Campaign,
    HelpArticle,
    HelpCategory,
    Segment,
    SurveyDefinition,
    TrackingReport,
)
from storedesk.experience.services.outreach import MAX_CONTROL_PERCENT, VARIABLES, unknown_variables

# --- help center


class HelpSearchForm(forms.Form):
    q = forms.CharField(max_length=200, required=False)
    session = forms.CharField(max_length=64, required=False)
    channel = forms.ChoiceField(
        choices=[("center", "center"), ("form", "form"), ("chat", "chat")], required=False
    )


class HelpVoteForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "yes"), ("no", "no")], coerce=lambda value: value == "yes"
    )


class ArticleViewForm(forms.Form):
    """What the article page's address may carry: a suggestion's reference and its session."""

    ref = forms.CharField(max_length=20, required=False)
    hs = forms.CharField(max_length=64, required=False)


class ArticleFilterForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=HelpCategory.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label=_("All categories"),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("All statuses")), *HelpArticle.Status.choices],
        required=False,
    )


class ArticleEditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    slug = forms.SlugField(
        label=_("Address"),
        max_length=120,
        required=False,
        help_text=_("The last part of the article's web address; made from the title if empty."),
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=HelpCategory.objects.all(), empty_label=None
    )
    body = forms.CharField(
        label=_("Text (Markdown)"),
        max_length=MAX_MARKDOWN_LENGTH,
        widget=forms.Textarea(attrs={"rows": 20}),
    )
    note = forms.CharField(label=_("What changed"), max_length=200, required=False)
    publish = forms.BooleanField(label=_("Publish this version now"), required=False)


class ArticlePreviewForm(forms.Form):
    body = forms.CharField(max_length=MAX_MARKDOWN_LENGTH, required=False)


class PublishVersionForm(forms.Form):
    version = forms.IntegerField(min_value=1)


class ReportPeriodForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("Period"),
        choices=[("7", _("Last 7 days")), ("30", _("Last 30 days")), ("90", _("Last 90 days"))],
        coerce=int,
        required=False,
        empty_value=30,
    )


MAX_PHOTOS = 5
PHOTO_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif"}
)
PHOTOS_REQUIRED = frozenset({TrackingReport.Kind.WRONG_ITEM, TrackingReport.Kind.DAMAGED})


class TrackingLookupForm(forms.Form):
    """Order number and the e-mail used at checkout (customer-facing: US English)."""

    order = forms.CharField(label="Order number", max_length=32)
    email = forms.CharField(label="Email address", max_length=254)

    def clean_order(self) -> str:
        return self.cleaned_data["order"].replace("\x00", "").strip()

    def clean_email(self) -> str:
        return self.cleaned_data["email"].replace("\x00", "").strip().lower()


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


class TrackingReportForm(forms.Form):
    """A problem reported from the tracking page; `form_key` makes a double submit open one
    ticket. Photos are checked with the desk's attachment limits (size, blocked types) and
    must be images."""

    kind = forms.ChoiceField(choices=TrackingReport.Kind.choices)
    message = forms.CharField(
        label="Anything else we should know?",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photos = MultipleFileField(label="Photos", required=False)
    line_item = forms.TypedChoiceField(
        label="Which item?", required=False, coerce=int, empty_value=None
    )
    new_size = forms.CharField(label="Size you'd like instead", required=False, max_length=16)
    form_key = forms.CharField(widget=forms.HiddenInput, max_length=64, min_length=16)

    def __init__(self, *args, order=None, offered=(), **kwargs):
        super().__init__(*args, **kwargs)
        items = list(order.line_items.all()) if order is not None else []
        self.fields["line_item"].choices = [("", "—")] + [
            (item.pk, f"{item.title} ({item.variant_title})" if item.variant_title else item.title)
            for item in items
        ]
        self.offered = set(offered)

    def clean_kind(self) -> str:
        kind = self.cleaned_data["kind"]
        if kind not in self.offered:
            raise ValidationError("That option isn't available for this order yet.")
        return kind

    def clean_photos(self) -> list[AttachmentIn]:
        files = self.cleaned_data.get("photos") or []
        if len(files) > MAX_PHOTOS:
            raise ValidationError(f"Please attach at most {MAX_PHOTOS} photos.")
        photos = []
        limit_mb = settings.DESK_MAX_ATTACHMENT_BYTES // (1024 * 1024)
        for upload in files:
            if upload.size > settings.DESK_MAX_ATTACHMENT_BYTES:
                raise ValidationError(
                    f"{upload.name} is larger than {limit_mb} MB. Please attach a smaller photo."
                )
            if (upload.content_type or "").lower() not in PHOTO_TYPES:
                raise ValidationError(
                    f"{upload.name} isn't a photo. Please attach JPEG, PNG, WebP or HEIC images."
                )
            photo = AttachmentIn(
                filename=upload.name[:255],
                content_type=upload.content_type,
                data=upload.read(),
            )
            validate_attachment(photo)
            photos.append(photo)
        return photos

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind in PHOTOS_REQUIRED and not data.get("photos") and "photos" not in self.errors:
            self.add_error("photos", "Please add at least one photo of the item.")
        if kind == TrackingReport.Kind.SIZE_EXCHANGE:
            if not data.get("line_item"):
                self.add_error("line_item", "Please choose the item to exchange.")
            if not data.get("new_size"):
                self.add_error("new_size", "Please tell us the size you'd like.")
        return data


# --- outreach -------------------------------------------------------------------------------------

# Which parameters each kind of segment takes, with their defaults.
SEGMENT_PARAMETERS = {
    Segment.Kind.VIP: ("min_lifetime_value",),
    Segment.Kind.LAPSED: ("days",),
    Segment.Kind.RECENT: ("days",),
    Segment.Kind.GIFT: ("days",),
    Segment.Kind.ALL_BUYERS: (),
}


class SegmentForm(forms.Form):
    """A segment's kind and its parameters, stored as JSON once they are valid."""

    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Who"), choices=Segment.Kind.choices)
    min_lifetime_value = forms.DecimalField(
        label=_("Lifetime value at least (USD)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
    )
    days = forms.IntegerField(
        label=_("Days"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=_("Lapsed: last order older than this; recent and gift: within this."),
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        parameters = {}
        for name in SEGMENT_PARAMETERS.get(kind, ()):
            value = data.get(name)
            if value is None:
                self.add_error(name, _("This kind of segment needs it."))
                continue
            parameters[name] = str(value) if isinstance(value, Decimal) else value
        data["parameters"] = parameters
        return data

    @classmethod
    def initial_for(cls, segment: Segment) -> dict:
        return {
            "name": segment.name,
            "kind": segment.kind,
            "description": segment.description,
            **(segment.parameters or {}),
        }


class CampaignForm(forms.Form):
    """A campaign: who, when, what it says and offers, and the share held out as control."""

    name = forms.CharField(label=_("Name"), max_length=120)
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Segment.objects.none())
    occasion = forms.ChoiceField(
        label=_("Occasion"), choices=Campaign.Occasion.choices, required=False
    )
    send_on = forms.DateField(
        label=_("Send on"),
        required=False,
        help_text=_("Left empty for a holiday: its next date."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Message"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 10})
    )
    offer_kind = forms.ChoiceField(label=_("Offer"), choices=Campaign.Offer.choices, required=False)
    offer_amount = forms.DecimalField(
        label=_("Coupon amount (USD)"),
        required=False,
        min_value=Decimal("0"),
        max_value=Decimal("1000"),
        max_digits=8,
        decimal_places=2,
    )
    offer_text = forms.CharField(label=_("Offer described"), max_length=500, required=False)
    control_percent = forms.IntegerField(
        label=_("Control group %"), min_value=0, max_value=MAX_CONTROL_PERCENT, initial=10
    )

    def __init__(self, *args, store=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.filter(store=store).order_by("name")

    def clean(self):
        data = super().clean()
        for name in ("subject", "body"):
            unknown = unknown_variables(data.get(name, ""))
            if unknown:
                self.add_error(
                    name,
                    _("Unknown variables: %(names)s. Use: %(known)s.")
                    % {"names": ", ".join(unknown), "known": ", ".join(VARIABLES)},
                )
        kind = data.get("offer_kind") or ""
        data["offer_kind"] = kind
        data["offer_amount"] = data.get("offer_amount") or Decimal(0)
        data["offer_text"] = data.get("offer_text") or ""
        if kind == Campaign.Offer.COUPON and data["offer_amount"] <= 0:
            self.add_error("offer_amount", _("Give the coupon's amount."))
        if kind in (Campaign.Offer.GIFT, Campaign.Offer.SERVICE) and not data["offer_text"]:
            self.add_error("offer_text", _("Describe the gift or the service package."))
        if "{{ coupon_code }}" in data.get("body", "") and kind != Campaign.Offer.COUPON:
            self.add_error("body", _("Only a coupon offer has a coupon code."))
        data["occasion"] = data.get("occasion") or ""
        return data

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict:
        return {name: getattr(campaign, name) for name in cls.base_fields}


# --- surveys ----------------------------------------------------------------------------------


class SurveyAnswerForm(forms.Form):
    """The customer's score (and an optional comment); the range is checked per kind by the
    service, which knows the invitation."""

    score = forms.IntegerField(min_value=0, max_value=10)
    comment = forms.CharField(required=False, max_length=4000, widget=forms.Textarea)


class SurveyCommentForm(forms.Form):
    comment = forms.CharField(max_length=4000, widget=forms.Textarea)


class SurveyTextsForm(forms.ModelForm):
    """A lead's edit of a survey's texts; {first_name}, {ticket}, {order} and {store} are
    filled in each e-mail."""

    class Meta:
        model = SurveyDefinition
        fields = ["subject", "intro", "question", "follow_up_question", "thank_you"]
        widgets = {
            "intro": forms.Textarea(attrs={"rows": 4}),
            "thank_you": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "subject": _("You may use {first_name}, {ticket}, {order} and {store}."),
        }
