"""Loading the shipped monitoring thresholds (data/monitoring_thresholds.json) into the table
admins edit: a version already present is left as the admin made it."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "monitoring_thresholds.json"


def shipped_thresholds() -> list[dict]:
    rows = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    for row in rows:
        row["effective_from"] = date.fromisoformat(row["effective_from"])
        row["early_warning"] = Decimal(row["early_warning"])
        row["threshold"] = Decimal(row["threshold"])
    return rows


def load_thresholds(model) -> int:
    """Adds the shipped versions missing from `model`'s table; returns how many were added."""
    added = 0
    for row in shipped_thresholds():
        keys = {"program": row["program"], "effective_from": row["effective_from"]}
        _, created = model.objects.get_or_create(**keys, defaults=row)
        added += created
    return added
