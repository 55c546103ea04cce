"""Anger and threats on hand-written messages."""

import pytest

from storedesk.triage.mood import read_mood


@pytest.mark.parametrize(
    "text",
    [
        "Hi, could you tell me when my order ships? Thanks!",
        "I am not upset, just curious about the delivery date.",
        "Love the ring, thank you so much!!",
        "",
    ],
)
def test_calm_messages_are_calm(text):
    reading = read_mood(text)
    assert reading.mood == "calm"
    assert reading.anger < 0.3
    assert reading.threats == []


@pytest.mark.parametrize(
    "text",
    [
        "THIS IS RIDICULOUS. WHERE IS MY RING?? I PAID THREE WEEKS AGO!!!",
        "wtf is this crap, you scammers",
        "Third time I'm writing, still no answer. I am fed up.",
        "😡😡 worst store ever, unacceptable",
    ],
)
def test_angry_messages_are_angry(text):
    assert read_mood(text).mood == "angry"


def test_anger_grows_with_shouting_and_exclamations():
    calm = read_mood("where is my order").anger
    frustrated = read_mood("where is my order, this is so frustrating").anger
    furious = read_mood("WHERE IS MY ORDER!!! THIS IS SO FRUSTRATING!!!").anger
    assert calm < frustrated < furious


@pytest.mark.parametrize(
    ("text", "threat"),
    [
        ("I will file a chargeback if this isn't fixed", "chargeback"),
        ("I'm going to dispute the charge with my bank", "chargeback"),
        ("calling my credit card company tomorrow", "chargeback"),
        ("I'll open a dispute with PayPal", "chargeback"),
        ("If you don't refund me I'll call Visa.", "chargeback"),
        ("My Amex will reverse this.", "chargeback"),
        ("I'm going to report you to Mastercard.", "chargeback"),
        ("I'm opening a PayPal claim.", "chargeback"),
        ("I will open a case with PayPal.", "chargeback"),
        ("Filing a dispute with PayPal today.", "chargeback"),
        ("I'll have my bank take the money back.", "chargeback"),
        ("I'll leave a 1-star review.", "bad_review"),
        ("Everyone will hear about this.", "bad_review"),
        ("I'll post about this.", "bad_review"),
        ("Expect a 1 star review on Google", "bad_review"),
        ("I will post about this on TikTok and Instagram", "bad_review"),
        ("everyone on Facebook will hear about this", "bad_review"),
        ("reporting you to the Better Business Bureau", "legal"),
        ("my lawyer will be in touch", "legal"),
        ("see you in small claims court", "legal"),
        ("I will never buy from you again", "never_again"),
        ("You just lost a customer.", "never_again"),
        ("this is the last time I order from you", "never_again"),
    ],
)
def test_threats_are_recognised_however_phrased(text, threat):
    reading = read_mood(text)
    assert threat in reading.threats
    assert reading.mood in ("frustrated", "angry")


@pytest.mark.parametrize(
    "text",
    [
        "I will never forget how beautiful this ring is",
        "My bank card works fine now, thanks",
        "I left a great review for you on Google!",
        "My Visa was charged twice, can you check?",
        "I left a great review",
        "I'll leave a 5-star review when it arrives!",
        "I called my bank and they said the refund posts in 3 days.",
        "I'm going to the bank tomorrow to pay my card off.",
        "Everyone at work wants to know where I got it.",
        "Thanks for fixing it, I won't post the review.",
    ],
)
def test_innocent_sentences_are_not_threats(text):
    assert read_mood(text).threats == []
