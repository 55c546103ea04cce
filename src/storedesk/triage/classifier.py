"""The intent classifier: TF-IDF over words (1-2 grams) and characters (3-5 grams within words)
into one calibrated logistic regression per intent, so a message can carry two intents.

Character n-grams make it robust to typos ("tracknig", "refnud"); order numbers and digits are
normalised before the features so the model learns "order <number>", not the numbers. Each
prediction is explained by the words and phrases of the message that pushed it most
(coefficient × tf-idf value, character n-grams credited to the words they are part of).
"""

from __future__ import annotations

import io
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

from storedesk.triage.intents import Intent
from storedesk.triage.training import Example, build_training_set, data_fingerprint, is_held_out

ALGORITHM = "tfidf word1-2 + char_wb3-5, one-vs-rest logistic regression"
MODEL_TEXT_LIMIT = 5_000
SECOND_INTENT_THRESHOLD = 0.35
MAX_INTENTS = 2
TOP_FEATURES = 5

_ORDER_LIKE = re.compile(r"#?\s?\b(?:tp[-\s]?)?\d{4,}\b", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_MONEY = re.compile(r"\$\s?\d[\d,]*(?:\.\d\d)?")


def normalise(text: str) -> str:
    """Lower-case, amounts → 'moneyamount', order-like numbers → 'ordernumber', digits → 0."""
    text = _MONEY.sub(" moneyamount ", text.lower())
    text = _ORDER_LIKE.sub(" ordernumber ", text)
    return _DIGITS.sub("0", text)


# Words that carry no intent on their own: an explanation of only these tells the agent nothing.
# Kept short on purpose: "where", "when", "not", "never" do carry intent.
FILLER_WORDS = frozenset(
    "a an and are as at be been but by do for from has have i i'm im in is it its me my "
    "of on or our so that the their them they this to was we were with you your".split()
)
_EDGE_PUNCTUATION = re.compile(r"^\W+|\W+$")
_PLACEHOLDER_WORDS = {"ordernumber": "[order number]", "moneyamount": "[amount]"}


def _words_by_char_ngram(normalised: str) -> dict[str, list[str]]:
    """Each character n-gram of the text (as `char_wb` cuts them: words split on whitespace,
    padded with a space) → the text's words that contain it, without edge punctuation."""
    index: dict[str, list[str]] = {}
    for raw in dict.fromkeys(normalised.split()):
        word = _EDGE_PUNCTUATION.sub("", raw)
        if len(word) < 2:
            continue
        padded = f" {raw} "
        for size in range(3, 6):
            for start in range(len(padded) - size + 1):
                holders = index.setdefault(padded[start : start + size], [])
                if word not in holders:
                    holders.append(word)
    return index


def _readable(phrase: str) -> str:
    """A feature as the agent reads it: the stand-ins for numbers and amounts named."""
    return " ".join(_PLACEHOLDER_WORDS.get(word, word) for word in phrase.split())


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    words = TfidfVectorizer(lowercase=False, ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    chars = TfidfVectorizer(
        lowercase=False, analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True
    )
    return words, chars


@dataclass
class Prediction:
    intents: list[dict]  # [{"intent", "confidence"}], best first, one or two
    scores: dict[str, float]  # every intent's probability
    explanation: dict[str, list[dict]]  # intent → [{"feature", "weight"}]
    truncated: bool = False

    @property
    def primary(self) -> str:
        return self.intents[0]["intent"]


@dataclass
class IntentClassifier:
    """A fitted classifier plus what it needs to explain itself; pickled as the model file.

    The fitted per-intent logistic regressions are kept as one weight matrix, so a prediction
    is one sparse × dense product and a sigmoid (what each estimator's predict_proba computes).
    """

    words: TfidfVectorizer
    chars: TfidfVectorizer
    weights: np.ndarray = field(repr=False)  # features × intents
    intercepts: np.ndarray = field(repr=False)
    labels: list[str]
    feature_names: np.ndarray = field(repr=False)

    @classmethod
    def fit(cls, texts: list[str], label_sets: list[tuple[str, ...]]) -> IntentClassifier:
        binarizer = MultiLabelBinarizer()
        y = binarizer.fit_transform(label_sets)
        words, chars = _vectorizers()
        normalised = [normalise(text) for text in texts]
        x = sparse.hstack(
            [words.fit_transform(normalised), chars.fit_transform(normalised)], format="csr"
        )
        model = OneVsRestClassifier(
            LogisticRegression(
                C=20.0, class_weight="balanced", solver="liblinear", dual=True, max_iter=1000
            )
        ).fit(x, y)
        weights = np.vstack([estimator.coef_[0] for estimator in model.estimators_]).T
        intercepts = np.array([estimator.intercept_[0] for estimator in model.estimators_])
        names = np.concatenate(
            [words.get_feature_names_out(), chars.get_feature_names_out()]
        ).astype(object)
        return cls(words, chars, weights, intercepts, list(binarizer.classes_), names)

    def transform(self, texts: list[str]):
        normalised = [normalise(text[:MODEL_TEXT_LIMIT]) for text in texts]
        return sparse.hstack(
            [self.words.transform(normalised), self.chars.transform(normalised)], format="csr"
        )

    def predict_many(self, texts: list[str], *, explain: bool = False) -> list[Prediction]:
        x = self.transform(texts)
        probabilities = 1.0 / (1.0 + np.exp(-(x @ self.weights + self.intercepts)))
        return [
            self._prediction(probabilities[row], x[row].indices, x[row].data, text, explain)
            for row, text in enumerate(texts)
        ]

    def predict(self, text: str, *, explain: bool = True) -> Prediction:
        """One message, as each inbound message is analysed: the same tf-idf features and
        probabilities as predict_many, computed directly from the vocabularies (sklearn's
        transform costs about a millisecond of checks per call, ten times the arithmetic)."""
        normalised = normalise(text[:MODEL_TEXT_LIMIT])
        indices, values = [], []
        for vectorizer, offset in ((self.words, 0), (self.chars, len(self.words.vocabulary_))):
            counts = Counter(vectorizer.build_analyzer()(normalised))
            vocabulary = vectorizer.vocabulary_
            found = [(vocabulary[token], n) for token, n in counts.items() if token in vocabulary]
            if not found:
                continue
            columns = np.fromiter((column for column, _ in found), dtype=np.intp)
            tf_idf = (np.log([n for _, n in found]) + 1.0) * vectorizer.idf_[columns]
            indices.append(columns + offset)
            values.append(tf_idf / np.sqrt(tf_idf @ tf_idf))
        columns = np.concatenate(indices) if indices else np.zeros(0, dtype=np.intp)
        data = np.concatenate(values) if values else np.zeros(0)
        by_column = np.argsort(columns, kind="stable")  # as in a CSR row: ties explain alike
        columns, data = columns[by_column], data[by_column]
        probabilities = 1.0 / (1.0 + np.exp(-(data @ self.weights[columns] + self.intercepts)))
        return self._prediction(probabilities, columns, data, text, explain)

    def _prediction(self, probs, columns, data, text: str, explain: bool) -> Prediction:
        order = np.argsort(-probs, kind="stable")
        chosen = [order[0]] + [
            k for k in order[1:MAX_INTENTS] if probs[k] >= SECOND_INTENT_THRESHOLD
        ]
        return Prediction(
            intents=[
                {"intent": self.labels[k], "confidence": round(float(probs[k]), 3)} for k in chosen
            ],
            scores={label: round(float(p), 4) for label, p in zip(self.labels, probs, strict=True)},
            explanation=self._explain(columns, data, chosen, text) if explain else {},
            truncated=len(text) > MODEL_TEXT_LIMIT,
        )

    def _explain(self, columns, data, chosen, text: str = "") -> dict[str, list[dict]]:
        """The words and phrases of the message that pushed each chosen intent up most.

        Word and two-word features are phrases as they stand; a character n-gram ("wher") is
        credited to the message's words that contain it, shared equally, so the agent reads
        "where", never fragments. A phrase's weight is the sum of what its features added
        (coefficient × tf-idf value)."""
        containing = _words_by_char_ngram(normalise(text[:MODEL_TEXT_LIMIT]))
        word_features = len(self.words.vocabulary_)
        explained = {}
        for k in chosen:
            contributions = data * self.weights[columns, k]
            credit: dict[str, float] = {}
            for column, contribution in zip(columns, contributions, strict=True):
                if contribution <= 0:
                    continue
                name = str(self.feature_names[column])
                phrases = [name] if column < word_features else containing.get(name, [])
                for phrase in phrases:
                    credit[phrase] = credit.get(phrase, 0.0) + contribution / len(phrases)
            for phrase in [p for p in credit if set(p.split()) <= FILLER_WORDS]:
                del credit[phrase]  # "is", "my", "of the" explain nothing to an agent
            best = sorted(credit.items(), key=lambda item: (-item[1], item[0]))[:TOP_FEATURES]
            explained[self.labels[k]] = [
                {"feature": _readable(phrase), "weight": round(float(weight), 3)}
                for phrase, weight in best
            ]
        return explained

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump(self, buffer, compress=3)
        return buffer.getvalue()

    @staticmethod
    def from_bytes(data: bytes) -> IntentClassifier:
        return joblib.load(io.BytesIO(bytes(data)))


_cache: dict[str, IntentClassifier] = {}
_cache_lock = threading.Lock()


def active_classifier() -> tuple[str, IntentClassifier]:
    """The active model (version, classifier), loaded once per version per process. With no
    trained version stored yet, the built-in model: the same training on the shipped data
    only, done in-process on first use (a few seconds) and never stored."""
    from storedesk.triage.models import IntentModel

    version = IntentModel.objects.filter(is_active=True).values_list("version", flat=True).first()
    if version is None:
        return builtin_classifier()
    with _cache_lock:
        if version not in _cache:
            artifact = IntentModel.objects.values_list("artifact", flat=True).get(version=version)
            _cache.clear()
            _cache[version] = IntentClassifier.from_bytes(artifact)
        return version, _cache[version]


_builtin: dict[str, IntentClassifier] = {}


def builtin_classifier() -> tuple[str, IntentClassifier]:
    """The model of the shipped training data alone, versioned by the data's fingerprint."""
    version = f"builtin-{data_fingerprint()}"
    with _cache_lock:
        if version not in _builtin:
            examples = build_training_set()
            _builtin.clear()
            _builtin[version] = IntentClassifier.fit(
                [e.text for e in examples], [e.intents for e in examples]
            )
        return version, _builtin[version]


def remember(version: str, classifier: IntentClassifier) -> None:
    """Put a just-trained model in the cache, sparing a reload of its bytes."""
    with _cache_lock:
        _cache.clear()
        _cache[version] = classifier


def held_out_metrics(examples: list[Example]) -> dict:
    """Accuracy and macro-F1 of the primary intent on the messages of held-out templates (one
    in `training.HOLDOUT_EVERY`, so the phrasing is new to the model), trained on the rest."""
    from sklearn.metrics import accuracy_score, f1_score

    held_out = {e.template for e in examples if e.template and is_held_out(e.template)}
    test = [e for e in examples if e.template in held_out]
    train = [e for e in examples if e.template not in held_out]
    model = IntentClassifier.fit([e.text for e in train], [e.intents for e in train])
    predicted = [p.primary for p in model.predict_many([e.text for e in test])]
    truth = [e.intents[0] for e in test]
    per_intent = f1_score(truth, predicted, labels=Intent.values, average=None, zero_division=0)
    return {
        "held_out": len(test),
        "accuracy": round(accuracy_score(truth, predicted), 4),
        "macro_f1": round(f1_score(truth, predicted, average="macro", zero_division=0), 4),
        "f1_per_intent": {
            i: round(float(f), 4) for i, f in zip(Intent.values, per_intent, strict=True)
        },
    }
