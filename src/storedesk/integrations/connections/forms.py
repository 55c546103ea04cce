"""The form that connects a store to a system: its fields come from the system's spec."""

from django import forms
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Store
from storedesk.integrations.connections.systems import SystemSpec

LABELS = {
    "shop_domain": _("Shop domain (….myshopify.com)"),
    "access_token": _("Admin API access token"),
    "webhook_secret": _("Webhook signing secret"),
    "api_version": _("API version"),
    "api_base_url": _("API base URL (leave empty)"),
    "site_url": _("Site URL"),
    "consumer_key": _("Consumer key"),
    "consumer_secret": _("Consumer secret"),
    "account_id": _("Account id"),
    "api_key": _("API key"),
    "client_id": _("Client id"),
    "client_secret": _("Client secret"),
    "webhook_id": _("Webhook id"),
    "environment": _("Environment (live or sandbox)"),
}


class ConnectForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Store.objects.order_by("name"), label=_("Store"))

    def __init__(self, *args, spec: SystemSpec, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = spec
        for name in spec.all_config:
            self.fields[name] = forms.CharField(
                label=LABELS.get(name, name),
                required=name in spec.config_fields,
                max_length=255,
            )
        for name in spec.all_secrets:
            # A password input: never echoed back into the page, not even after an error.
            self.fields[name] = forms.CharField(
                label=LABELS.get(name, name),
                required=name in spec.secret_fields,
                max_length=500,
                widget=forms.PasswordInput(render_value=False),
                strip=True,
            )

    def config(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in self.spec.all_config}

    def secrets(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in self.spec.all_secrets}


class SyncForm(forms.Form):
    """The "sync now" button: nothing to fill in, a POST with its CSRF token."""
