"""The second process of a parallel scoring run (`services.ScoringRun`).

It is spawned, so it starts with nothing: this module imports no model at its top and can be
loaded before Django is set up, which `start` then does.
"""

import os
import pickle

_state: tuple = ()


def start(settings_module: str | None, geoip_settings: dict, state: bytes) -> None:
    """Django, the parent's GeoIP files, then the run's rules, lists and model (unpickled once
    the apps are loaded)."""
    global _state
    if settings_module:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()
    from django.conf import settings

    for name, value in geoip_settings.items():
        setattr(settings, name, value)
    _state = pickle.loads(state)  # noqa: S301 - bytes from our own parent process


def ready() -> bool:
    return bool(_state)


def assess_batch(facts: dict) -> list:
    """`scoring.assess` with the run's rules, lists and model; the Decimal signals stay here
    (the parent writes their stored JSON form)."""
    from storedesk.risk.scoring import assess

    assessments = assess(facts, *_state) if facts else []
    for assessment in assessments:
        assessment.signals = {}
    return assessments
