"""How the customer feels and what they threaten.

Anger is scored from signals a reader notices first: shouting (capitals), stacked "!!!" and
"?!", profanity, words of anger and frustration ("ridiculous", "scam", "fed up"), waiting
("third time", "still no answer"), each with a weight; a negation right before a word of anger
("not upset") cancels it. The sum is squashed into 0…1. Threats are patterns written to survive
rephrasing ("dispute the charge with my bank", "call my credit card company", "see you in
small claims court").
"""

import math
import re
from dataclasses import dataclass, field

from storedesk.triage.intents import Mood, Threat

ANGRY_AT = 0.6
FRUSTRATED_AT = 0.3
MOOD_TEXT_LIMIT = 20_000

_PROFANITY = re.compile(
    r"\b(?:f+u+c+k+\w*|wtf|sh[i1]t+\w*|bull\s?sh[i1]t|damn\w*|crap+y?|hell|bs|"
    r"a(?:ss|rse)(?:hole)?s?|bastards?|bitch\w*|pissed|screw(?:ed)? (?:you|me|this)|stfu)\b",
    re.IGNORECASE,
)
# (pattern, weight): words and phrases of anger or frustration.
_SIGNALS = [
    (
        r"\b(?:scam+(?:mers?|med)?|fraud(?:ulent)?|rip\s?-?off|ripped off|thie(?:f|ves)|stole|"
        r"steal(?:ing)?|liars?|lying|lied)\b",
        0.8,
    ),
    (
        r"\b(?:ridiculous|unacceptable|outrageous|disgusting|disgraceful|pathetic|horrible|"
        r"terrible|awful|worst|useless|incompetent|joke|insane|unbelievable|shameful)\b",
        0.55,
    ),
    (r"\b(?:furious|livid|angry|mad|pissed|outraged|fuming|infuriat\w*|enraged)\b", 0.8),
    (
        r"\b(?:frustrat\w*|annoy\w*|upset|disappoint\w*|fed up|sick of|tired of|irritat\w*|"
        r"unhappy|not happy|dissatisfied)\b",
        0.45,
    ),
    (r"\b(?:still (?:no|not|nothing|waiting|haven'?t)|no one|nobody) ?\w*", 0.35),
    (
        r"\b(?:(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) (?:time|email|message)|"
        r"again and again|keep (?:asking|emailing|writing)|(?:many|several|multiple) "
        r"(?:times|emails|messages))\b",
        0.45,
    ),
    (r"\b(?:forever|ages|weeks and weeks|months?)\b", 0.15),
    (r"\b(?:immediately|right now|asap|demand)\b", 0.3),
    (r"\b(?:are you kidding|seriously|what the)\b", 0.4),
    (r"[😡🤬😤👿💢]", 0.6),
]
_SIGNAL_PATTERNS = [(re.compile(p, re.IGNORECASE), w) for p, w in _SIGNALS]
_NEGATION = re.compile(r"\b(?:not|never|no|isn'?t|wasn'?t|aren'?t|don'?t|didn'?t)\s+(?:\w+\s+)?$")
_CALMING = re.compile(
    r"\b(?:thank(?:s| you)|appreciate|love (?:it|the|my)|no worries|no rush|no problem)\b",
    re.IGNORECASE,
)

_THREATS = {
    Threat.CHARGEBACK: [
        r"\bcharge\s?-?backs?\b",
        r"\b(?:dispute|reverse|contest|challenge|report|cancel|block|stop)\w*\b[^.!?\n]{0,60}?"
        r"\b(?:charge|payment|transaction|bank|card|visa|mastercard|amex|paypal)\b",
        r"\b(?:call|contact|tell|going to|go to|report (?:you )?to)\w*\b[^.!?\n]{0,30}?"
        r"\b(?:my )?(?:bank|credit card (?:company|issuer)|card issuer|paypal)\b",
        r"\b(?:open|file|opening|filing)\w*\b[^.!?\n]{0,20}?\b(?:a )?(?:dispute|claim)\b"
        r"[^.!?\n]{0,30}?\b(?:bank|card|paypal|visa|amex)\b",
        r"\b(?:bank|paypal|card)\b[^.!?\n]{0,15}?\bdispute\b",
    ],
    Threat.BAD_REVIEW: [
        r"\b(?:bad|negative|terrible|honest|1|one|zero|0)[- ]?(?:star)?\s?reviews?\b",
        r"\b(?:review|rate|rating)\w*\b[^.!?\n]{0,40}?\b(?:1|one|zero|0)[- ]stars?\b",
        r"\b(?:leave|write|post|put|share|expose|warn|tell)\w*\b[^.!?\n]{0,50}?"
        r"\b(?:reviews?|yelp|trustpilot|google|facebook|instagram|tiktok|twitter|x\.com|reddit|"
        r"social media|youtube|everyone|the world|online)\b",
        r"\b(?:go(?:ing)? viral|blast (?:you|this))\b",
        r"\b(?:everyone|everybody|the whole world|all my friends|my followers)\b[^.!?\n]{0,40}?"
        r"\b(?:hear|know|see|find out)\b",
    ],
    Threat.LEGAL: [
        r"\b(?:bbb|better business bureau)\b",
        r"\b(?:lawyers?|attorneys?|attorney general|legal action|lawsuit|sue|suing|"
        r"small claims|court|ftc|consumer protection|class action)\b",
    ],
    Threat.NEVER_AGAIN: [
        r"\bnever\b[^.!?\n]{0,30}?\b(?:buy|order|shop|purchase|use)\w*\b[^.!?\n]{0,25}?"
        r"\b(?:again|from you|here|with you|this (?:store|shop|company))\b",
        r"\b(?:lost|losing) (?:a|my|your|this) (?:customer|business)\b",
        r"\b(?:last|final) (?:time|order|purchase)\b[^.!?\n]{0,30}?\b(?:from|with|buy|order)\w*",
        r"\b(?:won'?t|will not|wont)\b (?:ever )?(?:be )?(?:buy|order|shop|purchas|com)\w*"
        r"[^.!?\n]{0,25}?\b(?:again|from you|back)\b",
        r"\bdone (?:with|shopping with) (?:you|this)\b",
    ],
}
_THREAT_PATTERNS = {
    threat: [re.compile(p, re.IGNORECASE) for p in patterns]
    for threat, patterns in _THREATS.items()
}


@dataclass
class MoodReading:
    mood: str
    anger: float
    threats: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)  # what raised the score, for the agent


def read_mood(text: str) -> MoodReading:
    text = text[:MOOD_TEXT_LIMIT]
    score, signals = 0.0, []
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 12:
        caps = sum(c.isupper() for c in letters) / len(letters)
        if caps > 0.6:
            score += 0.7
            signals.append("shouting")
        elif caps > 0.3:
            score += 0.3
            signals.append("capitals")
    bangs = len(re.findall(r"!{2,}|\?!|!\?", text))
    if bangs:
        score += min(0.5, 0.2 * bangs)
        signals.append("!!!")
    profanity = _PROFANITY.findall(text)
    if profanity:
        score += min(1.0, 0.6 * len(profanity))
        signals.append("profanity")
    for pattern, weight in _SIGNAL_PATTERNS:
        for m in pattern.finditer(text):
            if _NEGATION.search(text[max(0, m.start() - 20) : m.start()]):
                continue
            score += weight
            signals.append(m.group(0).lower().strip())
    if _CALMING.search(text) and score < 1.0:
        score -= 0.2
    threats = [
        threat.value for threat, patterns in _THREAT_PATTERNS.items() if _any(patterns, text)
    ]
    if threats:
        score += 0.55  # a threat is at least frustration
    anger = round(max(0.0, math.tanh(max(score, 0.0) / 1.6)), 3)
    mood = (
        Mood.ANGRY
        if anger >= ANGRY_AT
        else Mood.FRUSTRATED
        if anger >= FRUSTRATED_AT
        else Mood.CALM
    )
    return MoodReading(mood.value, anger, threats, list(dict.fromkeys(signals))[:8])


def _any(patterns, text: str) -> bool:
    return any(pattern.search(text) for pattern in patterns)
