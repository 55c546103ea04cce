from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "storedesk.audit"
    label = "audit"
    verbose_name = "Audit"
