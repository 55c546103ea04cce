"""The duration words of Django's `timesince` ("%(num)d day"), marked for our catalogue.

Django's own Vietnamese catalogue predates these strings, so ages read "4 days, 8 hours trước".
Our catalogue (LOCALE_PATHS) is consulted before Django's, so translating them here is enough.
"""

from django.utils.translation import ngettext_lazy

DURATION_WORDS = (
    ngettext_lazy("%(num)d year", "%(num)d years", "num"),
    ngettext_lazy("%(num)d month", "%(num)d months", "num"),
    ngettext_lazy("%(num)d week", "%(num)d weeks", "num"),
    ngettext_lazy("%(num)d day", "%(num)d days", "num"),
    ngettext_lazy("%(num)d hour", "%(num)d hours", "num"),
    ngettext_lazy("%(num)d minute", "%(num)d minutes", "num"),
)
