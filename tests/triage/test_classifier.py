"""The intent classifier on hand-written messages (none of them in the training data), its
explanations, and the versioned, retrainable model."""

import pytest

from storedesk.audit.models import AuditEntry
from storedesk.triage import classifier
from storedesk.triage.classifier import IntentClassifier, active_classifier, builtin_classifier
from storedesk.triage.intents import Intent
from storedesk.triage.models import IntentLabel, IntentModel
from storedesk.triage.services import do_train_intent_model
from storedesk.triage.training import build_training_set, expand
from tests.desk.builders import make_ticket


@pytest.fixture(scope="module")
def model() -> IntentClassifier:
    return builtin_classifier()[1]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Hey, my order from last Tuesday, any idea when it gets to Denver?", "order_status"),
        ("USPS tracking hasnt changed since the 3rd, still says in transit", "tracking_stalled"),
        ("Ordered a month ago and it never showed up at all.", "not_received"),
        ("Says delivered at 3:12pm but my porch was empty, I was home.", "delivered_not_received"),
        ("I ordered the heart locket but you sent me hoop earrings", "wrong_item"),
        ("the ring is way too tight, I normally wear a 7", "wrong_size"),
        ("The clasp snapped the second day I wore the bracelet", "damaged"),
        ("How do I send this back and swap it for the gold one?", "return_exchange"),
        ("I want my money back for this order", "refund_request"),
        ("Please cancel my order, I bought it by mistake", "cancel_change"),
        ("I see two charges of $89 on my Visa for one order", "payment_problem"),
        ("I dont recognize a charge from your company on my statement", "payment_problem"),
        ("my WELCOME15 code says invalid at checkout", "discount_price"),
        (
            "Is the pendant solid 14k gold or plated? Can I wear it in the shower?",
            "product_question",
        ),
        ("Is a loose stone covered under your lifetime warranty?", "warranty"),
        ("My wife loved the necklace, thank you so much!", "compliment"),
        ("please take me off your mailing list", "other"),
    ],
)
def test_hand_written_messages_get_their_intent(model, text, intent):
    assert model.predict(text).primary == intent


def test_typos_do_not_throw_it_off(model):
    assert model.predict("wher is my ordr?? its been 2 weks").primary == "order_status"
    assert model.predict("i wnat a refnud pls").primary == "refund_request"


def test_a_message_can_carry_two_intents(model):
    prediction = model.predict("The chain arrived snapped in half. I want a full refund for it.")
    assert {i["intent"] for i in prediction.intents} == {"damaged", "refund_request"}


def test_one_intent_messages_stay_one_intent(model):
    assert len(model.predict("Please cancel my order").intents) == 1


def test_predictions_are_explained_by_their_top_features(model):
    prediction = model.predict("The stone fell out of my ring", explain=True)
    features = [f["feature"] for f in prediction.explanation[prediction.primary]]
    assert prediction.primary == "damaged"
    assert any("fell out" in f or "stone" in f for f in features)
    cancelling = model.predict("I have a problem with cancelling order 00123842", explain=True)
    shown = [f["feature"] for f in cancelling.explanation["cancel_change"]]
    assert shown[0] == "cancelling"  # the word, not " canc" and "canc "
    assert len(shown) == len(set(shown))
    weights = [f["weight"] for f in prediction.explanation[prediction.primary]]
    assert weights == sorted(weights, reverse=True)
    assert all(w > 0 for w in weights)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wher is my ordr?? its been 2 weks", {"wher", "ordr"}),
        ("Where is order #TP10234? It has been 2 weeks!!", {"where", "[order number]"}),
        ("The clasp snapped the second day I wore the bracelet", {"clasp", "snapped"}),
    ],
)
def test_explanations_are_the_messages_own_words_and_phrases_never_fragments(model, text, expected):
    prediction = model.predict(text, explain=True)
    words = set(text.lower().replace("?", " ").replace("!", " ").split())
    for features in prediction.explanation.values():
        shown = [feature["feature"] for feature in features]
        assert shown, text
        for feature in shown:  # a word of the message, or two (numbers are left out)
            assert set(feature.replace("[order number]", "").split()) <= words, feature
        assert not {"is", "my", "the", "it"} & set(shown)  # words that explain nothing
    primary = {f["feature"] for f in prediction.explanation[prediction.primary]}
    assert expected <= primary


def test_confidences_are_probabilities_best_first(model):
    prediction = model.predict("where is my package")
    confidences = [i["confidence"] for i in prediction.intents]
    assert confidences == sorted(confidences, reverse=True)
    assert 0.5 < confidences[0] <= 1
    assert set(prediction.scores) == set(Intent.values)


@pytest.mark.parametrize(
    "text",
    [
        "Where is order #TP10234? It has been 2 weeks!!",
        "the clasp broke and I want a refund, the clasp is junk",
        "",
        "😡😡😡",
        "<div><p>cancel</p></div>" * 400,
        "zzzz qqqq",
    ],
)
def test_one_message_is_scored_exactly_as_in_a_batch(model, text):
    single = model.predict(text, explain=True)
    batch = model.predict_many([text], explain=True)[0]
    assert single.intents == batch.intents
    assert single.scores == batch.scores
    assert single.explanation == batch.explanation
    assert single.truncated == batch.truncated


def test_long_text_is_cut_for_the_model_and_said_so(model):
    prediction = model.predict("where is my order " * 100_000)
    assert prediction.truncated
    assert prediction.primary == "order_status"


def test_training_set_is_deterministic_large_and_covers_every_intent():
    first, second = build_training_set(), build_training_set()
    assert [e.text for e in first] == [e.text for e in second]
    assert len(first) > 4000
    assert {i for e in first for i in e.intents} == set(Intent.values)
    assert sum(len(e.intents) == 2 for e in first) > 1000


def test_templates_expand_choices_and_slots():
    import random

    text = expand("{Please|Kindly} cancel <order>.", random.Random(1))
    assert text.split()[0] in ("Please", "Kindly")
    assert "<" not in text
    assert "{" not in text


@pytest.mark.django_db
def test_training_stores_an_active_version_with_agents_labels_and_audits_it():
    old = do_train_intent_model(evaluate=False).intent_model
    ticket = make_ticket(subject="")
    message = ticket.messages.get()
    message.new_text = "gimme the moolah back for the bling"
    message.save()
    IntentLabel.objects.create(
        message=message, intents=["refund_request"], predicted=["other"], created_at=old.trained_at
    )

    report = do_train_intent_model(evaluate=False)

    new = report.intent_model
    old.refresh_from_db()
    assert new.is_active
    assert not old.is_active
    assert report.agent_labels == 1
    assert new.training_size == old.training_size + 3
    assert IntentModel.objects.filter(is_active=True).count() == 1
    assert AuditEntry.objects.filter(action="triage.model_trained").count() == 2
    assert active_classifier()[0] == new.version
    restored = IntentClassifier.from_bytes(IntentModel.objects.get(pk=new.pk).artifact)
    assert restored.predict("gimme the moolah back for the bling").primary == "refund_request"


@pytest.mark.django_db
def test_held_out_metrics_are_stored_with_the_model():
    metrics = do_train_intent_model().intent_model.metrics
    assert metrics["held_out"] > 200
    assert metrics["macro_f1"] > 0.75
    assert set(metrics["f1_per_intent"]) == set(Intent.values)


@pytest.mark.django_db
def test_the_active_model_is_loaded_once_per_version(django_assert_num_queries):
    version = do_train_intent_model(evaluate=False).intent_model.version
    classifier._cache.clear()
    with django_assert_num_queries(2):  # the active version, then its bytes
        assert active_classifier()[0] == version
    with django_assert_num_queries(1):  # the active version only
        active_classifier()


@pytest.mark.django_db
def test_without_a_stored_model_the_builtin_one_is_used(django_assert_num_queries):
    with django_assert_num_queries(1):
        version, _ = active_classifier()
    assert version.startswith("builtin-")
