from django.apps import AppConfig


class MailConfig(AppConfig):
    """Email in from outside (IMAP polling, providers' inbound webhooks), into the desk's
    services. The desk knows nothing of it: mail sits above the desk."""

    name = "storedesk.integrations.mail"
    label = "mail"
    verbose_name = "Mail"

    def ready(self) -> None:
        # The inbound signal receiver and the periodic job that polls every mailbox.
        from storedesk.integrations.mail import inbound, tasks, tracking  # noqa: F401
