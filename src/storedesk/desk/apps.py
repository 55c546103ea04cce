from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "storedesk.desk"
    label = "desk"
    verbose_name = _("Desk")

    def ready(self) -> None:
        from storedesk.desk import (  # noqa: F401  (registers event handlers)
            commerce_pages,
            mail_out,
            services,
            tasks,  # noqa: F401  (the inbox counts)
            webhook_subjects,
        )
        from storedesk.desk.replies import install_defaults_on_fresh_install

        commerce_pages.register()
        webhook_subjects.register()
        # A fresh install starts with the shipped reply templates (see desk/replies.py).
        post_migrate.connect(
            install_defaults_on_fresh_install, sender=self, dispatch_uid="desk-default-templates"
        )
