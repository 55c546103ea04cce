"""How the customer feels and what they threaten.

Anger is scored from signals a reader notices first: shouting (capitals), stacked "!!!" and
"?!", profanity, words of anger and frustration ("ridiculous", "scam", "fed up"), waiting
("third time", "still no answer"), each with a weight; a negation right before a word of anger
("not upset") cancels it. The sum is squashed into 0…1. Threats are patterns written to survive
rephrasing ("dispute the charge with my bank", "call my credit card company", "I'll call Visa",
"opening a PayPal claim", "I'll post about this", "see you in small claims court"); a review
threat in a sentence of praise or a question ("where do I leave a review?") is not one. They
are measured on training_data/threats (bench/threat_eval.py), hard negatives included.
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

# Who can take a payment back for the customer: their bank, their card (by its brand) and the
# payment service. "the bank" alone is not one ("going to the bank to pay my card off").
_MONEY_TAKERS = (
    r"(?:my bank|my (?:credit |debit )?card(?: company| issuer)?|(?:the )?(?:credit )?card "
    r"(?:company|issuer)|card issuer|paypal|visa|master ?card|amex|american express|discover|"
    r"the (?:phone )?number on the back of my card|my credit union|chase|capital one|"
    r"citi(?:bank)?|wells fargo|bank of america|barclays)"
)
# What they do when asked to: take the money back.
_TAKING_BACK = (
    r"(?:revers\w*|pull (?:the|my) money|claw\w*|take (?:the|my|this|that) money (?:\w+ )?back|"
    r"get (?:me )?(?:my|the|this) money (?:\w+ )?back|refund me|sort (?:this|it) out|"
    r"handle (?:it|this)|deal with (?:you|this|it)|investigat\w*|cover me|side with me)"
)
_THREATS = {
    Threat.CHARGEBACK: [
        r"\bcharge\s?-?backs?\b",
        r"\b(?:disput|revers|contest|challeng|report|cancel|block|stop)\w*\b[^.!?\n]{0,60}?"
        r"\b(?:charge|payment|transaction|bank|card|visa|mastercard|amex|paypal)\b",
        # "I'll call Visa", "report you to Mastercard", "escalate this to PayPal"
        # (not "I called my bank and they said…": a past call is news, not a threat)
        r"\b(?:call|contact|phone|tell|talk(?:ing)? to|speak(?:ing)? to|go(?:ing)? through|"
        r"report (?:you |this |it )?to|escalat\w* (?:this |it )?to|"
        r"next (?:step|stop) is)(?:ing|s)?\b"
        rf"[^.!?\n]{{0,30}}?\b(?!my (?:credit |debit )?card\b(?! company| issuer)){_MONEY_TAKERS}",
        # "my Amex will reverse this", "I'll have my bank get my money back"
        rf"\b{_MONEY_TAKERS}\b[^.!?\n]{{0,60}}?\b{_TAKING_BACK}",
        # "open a case with PayPal", "opening a PayPal claim", "expect a claim through PayPal"
        r"\b(?:open|file|filing|start|rais|submit|expect)\w*\b[^.!?\n]{0,40}?"
        r"\b(?:claim|case|dispute)\b[^.!?\n]{0,40}?\b(?:bank|card|paypal|visa|amex|mastercard)\b",
        r"\b(?:open|file|filing|start|rais|submit)\w*\b[^.!?\n]{0,15}?\b(?:paypal|bank|card)\b"
        r"[^.!?\n]{0,25}?\b(?:claim|case|dispute)\b",
        r"\b(?:paypal|my bank|visa|amex|mastercard)\b[^.!?\n]{0,60}?\b(?:open|file|filing|start|"
        r"rais)\w*\b[^.!?\n]{0,15}?\b(?:claim|case|dispute)\b",
        r"\b(?:purchase|buyer) protection\b[^.!?\n]{0,30}?\b(?:use it|cover me|claim)\b",
        r"\b(?:bank|paypal|card)\b[^.!?\n]{0,15}?\bdispute\b",
    ],
    Threat.BAD_REVIEW: [
        r"\b(?:bad|negative|terrible|honest|1|one|zero|0)[- ]?(?:star)?\s?reviews?\b",
        r"\b(?:review|rate|rating)\w*\b[^.!?\n]{0,40}?\b(?:1|one|zero|0)[- ]stars?\b",
        r"\b(?:leave|write|post|put|share|expose|warn|tell)\w*\b[^.!?\n]{0,50}?"
        r"\b(?:reviews?|yelp|trustpilot|google|facebook|instagram|tiktok|twitter|x\.com|reddit|"
        r"social media|youtube|everyone|the world|online|others|other (?:people|customers|buyers|"
        r"shoppers))\b",
        r"\b(?:go(?:ing)? viral|blast (?:you|this))\b",
        # "everyone will hear about this" (not "everyone wants to know where I got it")
        r"\b(?:everyone|everybody|the whole world|all my friends|my followers)\b[^.!?\n]{0,40}?"
        r"\b(?:will|'ll|is going to|are going to|gonna)\s+(?:\w+\s+){0,2}?(?:hear|know|see|"
        r"find out)\b",
        r"\b(?:trash|slam|roast|destroy|bash)\w*\b[^.!?\n]{0,30}?\b(?:reviews?|online|everywhere)\b",
        r"\bto (?:avoid|stay away from|steer clear of) (?:you|this|your)\b",
        r"\b(?:share|sharing|spread\w*|tell|telling)\b[^.!?\n]{0,30}?\b(?:far and wide|everywhere|"
        r"with everyone|all over)\b",
        r"\breview\b[^.!?\n]{0,40}?\b(?:won'?t|will not|isn'?t going to|is not going to) be "
        r"(?:pretty|nice|kind|good|positive|flattering)\b",
        r"\b(?:make sure|so that|so)\s+(?:nobody|no one|no-one)\s+else\b",
        # With no site named: "I'll post about this", "write about this experience"
        r"\b(?:post|write|blog|tweet|talk)\w*\s+about\s+(?:this|it|you|my experience|"
        r"your (?:store|shop|company))\b",
        r"\b(?:make sure|let|so|until)\s+(?:that\s+)?(?:people|others|everyone|everybody|"
        r"other (?:people|customers|buyers|shoppers))\s+(?:\w+\s+){0,2}?(?:know|hear|find out)\b",
        r"\b(?:people|everyone|others|other (?:people|customers|buyers|shoppers))\s+(?:need|needs|"
        r"have|has|deserve|deserves|ought|should)\s+(?:to\s+)?(?:know|hear|be warned)\b",
        r"\b(?:you'?ll|you will|everyone will|people will)\s+(?:be\s+)?(?:reading|read|hearing|"
        r"hear|seeing|see)\s+about\s+(?:this|it|you)\b",
        r"\bmy (?:review|rating|feedback)\b[^.!?\n]{0,30}?\b(?:brutal|harsh|scathing|honest|"
        r"reflect\w*|not (?:be )?(?:kind|nice|pretty|good))\b",
        r"\b(?:leave|write|give|post)\w*\b[^.!?\n]{0,20}?\b(?:feedback|review|rating)\b"
        r"[^.!?\n]{0,40}?\b(?:reflect\w*|mess|deserve\w*|accordingly)\b",
        r"\b(?:prepare|get ready|brace)\w*\b[^.!?\n]{0,20}?\b(?:the|my|a)\s+(?:\w+\s+){0,2}?"
        r"review\b",
        r"\b(?:tell|telling|warn|warning|advis)\w*\b[^.!?\n]{0,40}?\b(?:stay away|steer clear|"
        r"avoid (?:this|you|your)|not to (?:buy|order|shop))\b",
        r"\b(?:go(?:ing)? public|make (?:this|it) (?:go )?public)\b",
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
    threats = [threat.value for threat in _THREAT_PATTERNS if _threatens(threat, text)]
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


# Praise in the same sentence turns "I'll leave a review" or "I'll tell everyone" into a
# promise, not a threat, unless the sentence also says the review will be bad.
_PRAISE = re.compile(
    r"\b(?:love\w*|great|gorgeous|beautiful|amazing|perfect|happy|wonderful|recommend\w*|"
    r"(?:5|five)[- ]stars?|thank\w*|can'?t wait|excited)\b",
    re.IGNORECASE,
)
_BAD_REVIEW_WORDS = re.compile(
    r"\b(?:(?:1|one|zero|0)[- ]?stars?|bad|negative|terrible|awful|warn\w*|stay away|scam\w*)\b",
    re.IGNORECASE,
)
# "I won't post the review" takes the threat back.
_WITHDRAWN = re.compile(
    r"\b(?:won'?t|will not|not going to|no longer|no need to)\s+(?:\w+\s+){0,2}?"
    r"(?:post|leave|write|share|publish)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")


def _threatens(threat: Threat, text: str) -> bool:
    patterns = _THREAT_PATTERNS[threat]
    if threat != Threat.BAD_REVIEW:
        return _any(patterns, text)
    # A question ("where do I leave a review?") asks; it does not threaten.
    return any(
        _any(patterns, sentence)
        and not _WITHDRAWN.search(sentence)
        and (
            not (_PRAISE.search(sentence) or sentence.rstrip().endswith("?"))
            or _BAD_REVIEW_WORDS.search(sentence)
        )
        for sentence in _SENTENCE.findall(text)
    )
