from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def case_owners():
    """People who may work a case: those whose role can change cases."""
    wanted = Q(groups__permissions__codename="change_accounthealthcase") | Q(is_superuser=True)
    users = get_user_model().objects.filter(wanted, is_active=True)
    return users.distinct().order_by("username")


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=get_user_model().objects.none(), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = case_owners()


class ResolveForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
