"""`storedesk triage FILE` and `storedesk triage-train`."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from storedesk.triage.models import IntentModel

EML = b"""From: Emma Stone <emma@mail.example>
To: care@store.example
Subject: Wrong necklace
Message-ID: <abc123@mail.example>
Date: Mon, 02 Mar 2026 10:00:00 -0500
Content-Type: text/plain; charset=utf-8

Hi, I ordered the heart locket (order #TP10234) but you sent me hoop earrings.
I will leave a 1 star review if this isn't fixed.

On Sun, Mar 1, 2026 at 9:00 AM Care <care@store.example> wrote:
> Thanks for your order! Where is it? Cancel it!
"""


def run(*args):
    out = io.StringIO()
    call_command("triage", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_an_eml_file_is_read_without_its_quoted_history(tmp_path):
    path = tmp_path / "message.eml"
    path.write_bytes(EML)
    result = run(str(path))
    assert result["from"] == "emma@mail.example"
    assert result["primary_intent"] == "wrong_item"
    assert result["order_refs"] == [{"kind": "order", "value": "TP10234", "text": "#TP10234"}]
    assert result["threats"] == ["bad_review"]
    assert result["language"] == "en"
    assert result["is_english"] is True
    assert "cancel_change" not in [i["intent"] for i in result["intents"]]
    assert result["explanation"]["wrong_item"]


@pytest.mark.django_db
def test_a_text_file_prints_json(tmp_path):
    path = tmp_path / "message.txt"
    path.write_text("I was charged twice for order 10234!!")
    result = run(str(path))
    assert result["primary_intent"] == "payment_problem"
    assert result["order_refs"][0]["value"] == "10234"


@pytest.mark.django_db
def test_an_empty_file_is_other(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("")
    assert run(str(path))["notes"] == ["no words to understand"]


@pytest.mark.django_db
def test_binary_garbage_does_not_crash(tmp_path):
    path = tmp_path / "garbage.txt"
    path.write_bytes(bytes(range(256)) * 10)
    assert run(str(path))["primary_intent"]


@pytest.mark.django_db
def test_before_migrate_the_builtin_model_answers(tmp_path, monkeypatch, django_assert_num_queries):
    from django.db import connection

    monkeypatch.setattr(connection.introspection, "table_names", lambda *a, **k: [])
    path = tmp_path / "message.txt"
    path.write_text("Please cancel my order")
    with django_assert_num_queries(0):
        result = run(str(path))
    assert result["primary_intent"] == "cancel_change"
    assert result["model_version"].startswith("builtin-")


def test_a_missing_file_is_a_clear_error():
    with pytest.raises(CommandError, match="no such file: /nowhere/x.eml"):
        call_command("triage", "/nowhere/x.eml")


@pytest.mark.django_db
def test_triage_train_stores_and_activates_a_model():
    out = io.StringIO()
    call_command("triage-train", "--no-evaluate", stdout=out)
    model = IntentModel.objects.get(is_active=True)
    assert out.getvalue().startswith(f"{model.version}: ")
    assert model.training_size > 4000
    assert len(model.labels) == 16
