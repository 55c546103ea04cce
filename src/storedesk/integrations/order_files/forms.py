"""The upload form of the order import page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Store

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # larger files: `storedesk import-orders FILE`


class OrderImportForm(forms.Form):
    store = forms.ModelChoiceField(
        label=_("Store"), queryset=Store.objects.order_by("name"), empty_label=None
    )
    file = forms.FileField(
        label=_("Order file (.csv or .xlsx)"),
        help_text=_("Shopify's order export as downloaded, or the generic columns."),
    )
    dry_run = forms.BooleanField(
        label=_("Dry run: check every row, store nothing"), required=False, initial=True
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is over 50 MB: import it with `storedesk import-orders FILE`.")
            )
        return upload
