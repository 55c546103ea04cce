"""Triage sits above the desk: the desk never imports triage (it learns where the SLA clocks
are through `register_sla_ticket_ids`), and the intent classifier builds on the training set,
never the other way round."""

import ast
from pathlib import Path

import storedesk

SRC = Path(storedesk.__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_the_desk_never_imports_triage():
    offenders = {
        str(path.relative_to(SRC)): sorted(m for m in imported_modules(path) if "triage" in m)
        for path in (SRC / "desk").rglob("*.py")
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_training_does_not_import_the_classifier():
    assert not {m for m in imported_modules(SRC / "triage" / "training.py") if "classifier" in m}


def test_the_desk_inbox_still_finds_the_sla_clocks():
    from storedesk.desk import queries

    assert set(queries._sla_ticket_ids) == {"at_risk", "overdue"}
