from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "storedesk.disputes"
    label = "disputes"
    verbose_name = "Disputes"

    def ready(self) -> None:
        from django.db.models import Prefetch

        from storedesk.commerce import extensions
        from storedesk.disputes.models import Dispute

        # An order's page lists its disputes to those who may see them.
        extensions.register_order_prefetch(
            "disputes",
            "disputes.view_dispute",
            lambda: Prefetch(
                "disputes",
                queryset=Dispute.objects.select_related("payment").order_by("opened_at", "id"),
            ),
        )
        # Registers the evidence assembly on `dispute_opened`, the early fraud warning policy
        # and the deadline reminder job.
        from storedesk.disputes import tasks  # noqa: F401
