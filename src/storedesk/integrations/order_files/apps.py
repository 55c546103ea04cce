from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrderFilesConfig(AppConfig):
    name = "storedesk.integrations.order_files"
    label = "order_files"
    verbose_name = _("Order files")
