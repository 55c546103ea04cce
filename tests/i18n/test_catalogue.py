"""The Vietnamese interface: every message the desk can show is in the catalogue and translated,
with one word for each thing (docs/glossary.vi.md), and what the product stores as English data
(default rules, signals, playbooks, gateway codes, durations) reads in Vietnamese too."""

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.template import Context, Template
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.timesince import timesince

from storedesk.accounts.roles import Role
from storedesk.disputes.labels import REASON_LABELS, STATUS_LABELS, reason_label
from storedesk.risk.fraud_signals import SIGNALS
from storedesk.risk.language import ACTION_LABELS
from storedesk.risk.scoring import DEFAULT_WEIGHTS, GATEWAY_LEVEL_REASONS, THRESHOLDS
from storedesk.risk.services import DEFAULT_LISTS, DEFAULT_RULES
from storedesk.triage.defaults import DEPARTMENTS, PLAYBOOKS, SLA_POLICIES
from tests.desk.builders import make_ticket
from tests.i18n.catalogue import read_po

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src/storedesk"
PO = PACKAGE / "locale/vi/LC_MESSAGES/django.po"
GLOSSARY = ROOT / "docs/glossary.vi.md"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def _entries():
    return read_po(PO)


def test_every_message_is_translated():
    untranslated = [
        entry.msgid for entry in _entries() if not entry.translated and not entry.customer_facing
    ]
    assert untranslated == [], "translate these in django.po (see docs/glossary.vi.md)"


def test_a_translation_keeps_every_placeholder():
    broken = [
        entry.msgid
        for entry in _entries()
        if entry.translated
        and any(
            sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(entry.msgid))
            for text in entry.msgstr[:1]
        )
        and not entry.msgid_plural  # a plural's singular may leave the count out
    ]
    assert broken == []


def _glossary_never_words() -> dict[str, str]:
    never = {}
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[2] and cells[0] not in ("English", "---"):
            never[cells[2]] = cells[0]
    return never


def test_the_glossary_words_are_kept():
    never = _glossary_never_words()
    assert "phiếu" in never  # the reader finds the table
    offending = [
        (word, entry.msgid)
        for entry in _entries()
        for text in entry.msgstr
        for word in never
        if word in text.lower()
    ]
    assert offending == []


def test_words_with_two_meanings_are_told_apart():
    by_key = {entry.key: entry.msgstr[0] for entry in _entries() if entry.translated}
    assert by_key[("end of a date range", "To")] == "Đến ngày"
    assert by_key[("", "To")] == "Người nhận"  # of an e-mail
    assert by_key[("the way a ticket arrived: email, chat, web form", "Channel")] == "Kênh"
    assert by_key[("", "Channel")] == "Kênh bán"  # of an order


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext is not installed")
def test_the_catalogue_holds_every_message_of_the_source(tmp_path, monkeypatch):
    """`make messages` on a copy of the source adds nothing and drops nothing."""
    copy = tmp_path / "storedesk"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "static", "*.mo"))
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command("makemessages", locale=["vi"], no_obsolete=True, verbosity=0)
    fresh = {entry.key for entry in read_po(copy / "locale/vi/LC_MESSAGES/django.po")}
    committed = {entry.key for entry in _entries()}
    assert sorted(fresh - committed) == [], "new messages: run `make messages` and translate"
    assert sorted(committed - fresh) == [], "stale messages: run `make messages`"


SHIPPED_TEXTS = [
    *(name for name, _ in DEFAULT_RULES),
    *DEFAULT_LISTS.values(),
    *(reason for *_, reason in DEFAULT_WEIGHTS),
    *(reason for *_, reason in THRESHOLDS),
    *GATEWAY_LEVEL_REASONS.values(),
    *ACTION_LABELS.values(),
    *REASON_LABELS.values(),
    *STATUS_LABELS.values(),
    *(name for name, _ in DEPARTMENTS),
    *(policy[0] for policy in SLA_POLICIES),
    *(title for title, _ in PLAYBOOKS.values()),
    *(text for _, steps in PLAYBOOKS.values() for _, text in steps),
]


def test_everything_the_product_ships_as_data_reads_in_vietnamese():
    with translation.override("vi"):
        english = [text for text in SHIPPED_TEXTS if translation.gettext(text) == text]
        signals = [name for name, spec in SIGNALS.items() if spec.label == spec.description]
    assert english == []
    assert signals == []


def _render(source: str, **context) -> str:
    with translation.override("vi"):
        return Template(source).render(Context(context))


def test_durations_read_in_vietnamese():
    with translation.override("vi"):
        age = timesince(timezone.now() - timedelta(days=4, hours=8, minutes=1))
    assert age == "4\xa0ngày, 8\xa0giờ"


def test_stored_reasons_and_codes_render_in_the_viewers_language():
    velocity = SIGNALS["orders_per_ip_24h"]
    reasons = [
        {"signal": "orders_per_ip_24h", "reason": velocity.description, "points": 5},
        {"signal": "ip_is_anonymous", "reason": "anonymous or hosting IP", "points": 15},
    ]
    html = _render(
        "{% for r in reasons %}{{ r|score_reason }}|{% endfor %}{{ action|rule_action }}|"
        "{{ rule|translated }}|{{ written|translated }}|{{ status|dispute_status }}|"
        "{{ reason|dispute_reason }}|{{ unknown|dispute_reason }}|{{ intent|priority_reason }}|"
        "{{ plain|priority_reason }}",
        reasons=reasons,
        action="cancel_and_refund",
        rule="High score",
        written="Our own rule",
        status="needs_response",
        reason="product_not_received",
        unknown="some_new_code",
        intent="intent: not_received",
        plain="payment in risk review",
    )
    assert html.split("|") == [
        "số đơn từ cùng địa chỉ IP trong 24h trước đơn này (không tính đơn này)",
        "IP ẩn danh hoặc của máy chủ thuê",
        "hủy và hoàn tiền",
        "Điểm cao",
        "Our own rule",  # the team's own text shows as written
        "Cần phản hồi",
        "Không nhận được hàng",
        "Some new code",
        "ý định: Không nhận được hàng",
        "thanh toán đang xem xét rủi ro",
    ]
    assert reason_label("fraudulent") == "Fraudulent"  # English outside a Vietnamese request


@pytest.mark.django_db
def test_the_sla_report_labels_its_range_and_channel_in_vietnamese(client, make_user):
    make_ticket(requester="someone@mail.example", channel="chat")
    client.force_login(make_user(Role.LEAD, username="lan", language="vi"))
    page = client.get("/triage/sla/report/", {"group": "channel"}).content.decode()
    assert "Đến ngày" in page
    assert "Người nhận" not in page
    assert "Kênh bán" not in page
