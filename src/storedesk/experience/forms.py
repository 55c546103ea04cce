"""Input of the experience app's pages, one section per feature."""

from django import forms
from django.utils.translation import gettext_lazy as _

from storedesk.experience.models import SurveyDefinition

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
