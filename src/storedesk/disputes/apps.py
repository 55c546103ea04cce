from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "storedesk.disputes"
    label = "disputes"
    verbose_name = "Disputes"
