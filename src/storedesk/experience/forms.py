"""Input of the experience app's pages, one section per feature."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from storedesk.experience.help_markdown import MAX_MARKDOWN_LENGTH
from storedesk.experience.models import HelpArticle, HelpCategory, SurveyDefinition

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
