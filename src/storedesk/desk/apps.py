from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "storedesk.desk"
    label = "desk"
    verbose_name = _("Desk")

    def ready(self) -> None:
        # Importing these registers the event handlers and the periodic jobs (inbox counts).
        from storedesk.desk import extensions, mail_out, services, tasks  # noqa: F401
        from storedesk.desk.replies import install_defaults_on_fresh_install

        extensions.register()  # what the desk adds to commerce's pages and to webhooks
        # A fresh install starts with the shipped reply templates (see desk/replies.py).
        post_migrate.connect(
            install_defaults_on_fresh_install, sender=self, dispatch_uid="desk-default-templates"
        )
