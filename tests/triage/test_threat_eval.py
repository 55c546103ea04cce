"""Threat detection measured on the labelled set kept with the training data: chargebacks
threatened through the card's brand, the bank or PayPal's claims, reviews threatened with no
site named, and hard negatives that name a card, a bank or a review innocently."""

import pytest

from storedesk.triage.intents import Threat
from storedesk.triage.threat_eval import (
    ANY_THREAT,
    LABELLED_THREATS,
    labelled_messages,
    measure_threats,
)

# The floors the figures must stay above (measured: 1.000 everywhere on 129 messages;
# the set was written with the patterns, so new phrasings will score lower).
FLOORS = {
    Threat.CHARGEBACK.value: (0.95, 0.90),
    Threat.BAD_REVIEW.value: (0.95, 0.90),
    ANY_THREAT: (0.95, 0.90),
}


@pytest.fixture(scope="module")
def figures():
    return measure_threats()


def test_the_labelled_set_has_positives_and_hard_negatives_of_each_kind():
    rows = labelled_messages()
    assert len(LABELLED_THREATS) == 2
    by_threat = {name: sum(name in row.threats for row in rows) for name in Threat.values}
    assert by_threat[Threat.CHARGEBACK] >= 40
    assert by_threat[Threat.BAD_REVIEW] >= 30
    negatives = [row.text for row in rows if not row.threats]
    assert len(negatives) >= 50
    assert "My Visa was charged twice, can you check?" in negatives
    assert "I left a great review!" in negatives


@pytest.mark.parametrize(("threat", "floors"), FLOORS.items())
def test_precision_and_recall_stay_above_their_floors(figures, threat, floors):
    precision_floor, recall_floor = floors
    figure = figures[threat]
    assert figure.precision >= precision_floor, figure.wrongly_flagged
    assert figure.recall >= recall_floor, figure.missed
