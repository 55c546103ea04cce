"""Forms of the commerce pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import OrderTask


class TaskFilterForm(forms.Form):
    """The task list's filters; an empty choice means any."""

    kind = forms.ChoiceField(
        required=False, label=_("Kind"), choices=[("", _("Any kind")), *OrderTask.Kind.choices]
    )
    status = forms.ChoiceField(
        required=False,
        label=_("Status"),
        choices=[("", _("Any status")), *OrderTask.Status.choices],
    )
