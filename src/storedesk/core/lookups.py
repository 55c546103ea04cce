"""Query helpers shared by the apps that store the outside systems' records."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q


def provider_keys_filter(keys: Iterable[tuple[str, str]]) -> Q:
    """One `Q` matching many (gateway, provider_id) pairs: an `IN` list per gateway, so the
    (gateway, provider_id) unique index answers it. An empty key set matches nothing."""
    by_gateway: dict[str, list[str]] = defaultdict(list)
    for gateway, provider_id in keys:
        by_gateway[gateway].append(provider_id)
    condition = Q(pk__in=[])
    for gateway, provider_ids in by_gateway.items():
        condition |= Q(gateway=gateway, provider_id__in=provider_ids)
    return condition
