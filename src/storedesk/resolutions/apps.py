from django.apps import AppConfig


class ResolutionsConfig(AppConfig):
    name = "storedesk.resolutions"
    label = "resolutions"
    verbose_name = "Resolutions"

    def ready(self) -> None:
        # Registers the periodic jobs: retrying gateway calls, expiring approvals.
        from storedesk.resolutions import tasks  # noqa: F401
        from storedesk.resolutions.services import start_refund_for_review
        from storedesk.risk.extensions import register_refund_starter

        register_refund_starter(start_refund_for_review)

        from storedesk.disputes.responders import register_refund_requester
        from storedesk.resolutions.services import refund_for_dispute

        register_refund_requester(refund_for_dispute)  # accepting an inquiry refunds it

        from storedesk.resolutions import extensions

        extensions.register()  # Home's resolution tiles and care budget warning
