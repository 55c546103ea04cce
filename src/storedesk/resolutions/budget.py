"""The care budget's plan (X4): what a store means to spend per month on refunds, reships at
cost, coupons and gifts. Spend is never stored; it is read live from the done resolutions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.audit.services import record_audit
from storedesk.core.money import quantize
from storedesk.resolutions.models import CareBudget

CATEGORIES = ("refunds", "reships", "coupons", "gifts")


@transaction.atomic
def do_set_care_budget(*, store, month: date, actor, **plan: Decimal) -> CareBudget:
    """Set the month's plan (every category; zero is no plan for it), audited with what
    changed. One row per store and month (unique), locked while it changes."""
    unknown = set(plan) - set(CATEGORIES)
    if unknown:
        raise ValidationError(_("Unknown budget category: %(name)s.") % {"name": min(unknown)})
    amounts = {}
    for category in CATEGORIES:
        value = plan.get(category, Decimal(0))
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            raise ValidationError(_("A budget is an amount of zero or more."))
        amounts[category] = quantize(value, store.currency)
    month = month.replace(day=1)
    budget, created = CareBudget.objects.select_for_update().get_or_create(
        store=store,
        month=month,
        defaults={
            "currency": store.currency,
            "updated_by": actor,
            "updated_at": timezone.now(),
            **amounts,
        },
    )
    before = {} if created else {category: getattr(budget, category) for category in CATEGORIES}
    changes = {
        category: [str(before[category]) if before else None, str(amounts[category])]
        for category in CATEGORIES
        if not before or before[category] != amounts[category]
    }
    if not created and not changes:
        return budget
    if not created:
        for category, value in amounts.items():
            setattr(budget, category, value)
        budget.updated_by = actor
        budget.updated_at = timezone.now()
        budget.save(update_fields=[*CATEGORIES, "updated_by", "updated_at"])
    record_audit(
        actor=actor,
        action="resolutions.budget_set",
        obj=budget,
        changes={"month": f"{month:%Y-%m}", **changes},
    )
    return budget
