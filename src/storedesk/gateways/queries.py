"""Reads the account-health pages and API need, a fixed number of queries per page."""

from django.db.models import F, QuerySet

from storedesk.gateways.models import AccountHealthCase, AccountHealthEvent


def cases(*, status: str | None = AccountHealthCase.Status.OPEN) -> QuerySet:
    """Cases soonest deadline first (none last), with their owner, in one query."""
    found = AccountHealthCase.objects.select_related("owner").order_by(
        F("deadline").asc(nulls_last=True), "id"
    )
    return found.filter(status=status) if status else found


def timelines(case_ids: list[int]) -> dict[int, list[AccountHealthEvent]]:
    """Each case's timeline, oldest first, in one query."""
    by_case: dict[int, list[AccountHealthEvent]] = {pk: [] for pk in case_ids}
    if case_ids:
        for event in AccountHealthEvent.objects.filter(case_id__in=case_ids).order_by("at", "id"):
            by_case[event.case_id].append(event)
    return by_case
