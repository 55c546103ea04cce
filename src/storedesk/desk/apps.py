from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "storedesk.desk"
    label = "desk"
    verbose_name = _("Desk")

    def ready(self) -> None:
        from storedesk.desk import commerce_pages, mail_out, services, webhook_subjects  # noqa: F401  (registers event handlers)
        from storedesk.desk import jobs as desk_jobs  # noqa: F401  (the inbox counts)
        from storedesk.desk.replies import install_defaults_on_fresh_install

        commerce_pages.register()
        webhook_subjects.register()
        # A fresh install starts with the shipped reply templates (see desk/replies.py).
        post_migrate.connect(
            install_defaults_on_fresh_install, sender=self, dispatch_uid="desk-default-templates"
        )
