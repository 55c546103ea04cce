from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sync_roles_after_last_app(app_config, **kwargs) -> None:
    # Every app's permissions exist only once the last app's post_migrate has run.
    if app_config is list(apps.get_app_configs())[-1]:
        from storedesk.accounts.services import do_sync_roles

        do_sync_roles()


class AccountsConfig(AppConfig):
    name = "storedesk.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Roles are derived data: their permission sets are re-synced after every migrate.
        post_migrate.connect(_sync_roles_after_last_app, dispatch_uid="storedesk-sync-roles")
