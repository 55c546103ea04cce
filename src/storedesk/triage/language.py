"""Which language a message is in (py3langid: a maintained, offline, fast fork of langid.py).

Short or symbol-only texts carry too little to judge: they count as English, since the store
writes to US customers and a false "foreign" flag on "thx!!" would only be noise.
"""

import re
from dataclasses import dataclass
from functools import cache

MIN_LETTERS = 12
# The languages US customers of the store write in (English, then the most spoken at home in the
# US, and the team's Vietnamese); fewer candidates, fewer odd guesses on badly typed English.
CANDIDATES = [
    "en",
    "es",
    "zh",
    "tl",
    "vi",
    "ar",
    "fr",
    "ko",
    "ru",
    "pt",
    "ht",
    "de",
    "hi",
    "it",
    "pl",
    "ja",
    "fa",
    "ur",
    "nl",
    "el",
    "he",
    "th",
    "uk",
    "tr",
    "id",
    "ro",
    "sv",
    "bn",
]
ENGLISH_ENOUGH = 0.1
LANGUAGE_TEXT_LIMIT = 2_000
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, "" when unknown
    is_english: bool
    confident: bool


@cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(CANDIDATES)
    return identifier


def detect_language(text: str) -> Language:
    sample = text[:LANGUAGE_TEXT_LIMIT]
    if len(_LETTERS.findall(sample)) < MIN_LETTERS:
        return Language("", True, False)
    ranked = _identifier().rank(sample)
    code, probability = ranked[0]
    english = next((p for lang, p in ranked if lang == "en"), 0.0)
    if code == "en":
        return Language("en", True, True)
    if english >= ENGLISH_ENOUGH:
        # Not sure it isn't English: badly typed English often looks like this.
        return Language(code, True, False)
    return Language(code, False, probability >= 0.5)
