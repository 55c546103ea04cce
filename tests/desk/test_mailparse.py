"""Parsing real mail: 12 clients' replies, HTML quotes, pathological bodies, broken MIME."""

import re
import time

import pytest

from storedesk.desk.mailparse import (
    SYNTHETIC_ID_DOMAIN,
    decode_bytes,
    html_to_text,
    parse_email,
    split_reply,
)
from tests.desk.mail_helpers import build_mail
from tests.shared_data import shared_path

STANDARD_REPLIES = "fixtures/email/talon/standard_replies"
HTML_REPLIES = "fixtures/email/talon/html_replies"
PLAIN_BODIES = "fixtures/email/email_reply_parser"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def expected_reply(eml) -> str:
    """talon's convention: `<name>_reply_text` beside the mail, else the reply is 'Hello'."""
    expected = eml.with_name(f"{eml.stem}_reply_text")
    return expected.read_text().strip() if expected.exists() else "Hello"


def standard_replies():
    return sorted(shared_path(STANDARD_REPLIES).glob("*.eml"))


def test_new_text_of_replies_from_twelve_mail_clients():
    """The reply (new text plus signature) equals talon's expected text for every client."""
    results = {}
    for eml in standard_replies():
        parsed = parse_email(eml.read_bytes())
        got = "\n".join(part for part in (parsed.new_text, parsed.signature) if part)
        results[eml.name] = squash(got) == squash(expected_reply(eml))
    assert len(results) == 12
    assert [name for name, ok in results.items() if not ok] == []


def test_signature_is_kept_apart_from_the_new_text():
    parsed = parse_email((shared_path(STANDARD_REPLIES) / "iphone.eml").read_bytes())
    assert parsed.new_text == "Hello"
    assert parsed.signature == "Sent from my iPhone"
    assert "wrote:" in parsed.quoted_text
    sparrow = parse_email((shared_path(STANDARD_REPLIES) / "sparrow.eml").read_bytes())
    assert sparrow.new_text == "Hello"
    assert "Sent with Sparrow" in sparrow.signature


@pytest.mark.parametrize(
    "name",
    [
        "gmail.html",
        "hotmail.html",
        "mail_ru.html",
        "ms_outlook_2003.html",
        "ms_outlook_2007.html",
        "ms_outlook_2010.html",
        "thunderbird.html",
        "windows_mail.html",
        "yandex_ru.html",
    ],
)
def test_html_quotes_of_each_client_are_separated(name):
    html = (shared_path(HTML_REPLIES) / name).read_text()
    new_text, quoted, signature = split_reply(html_to_text(html))
    assert squash(f"{new_text}\n{signature}") == squash("Hi. I am fine.\n\nThanks,\nAlex")
    assert "How are you" in quoted


def test_plain_bodies_signatures_and_outlook_separators():
    body = (shared_path(PLAIN_BODIES) / "email_BlackBerry.txt").read_text()
    assert split_reply(body)[::2] == ("Here is another email", "Sent from my BlackBerry")
    body = (shared_path(PLAIN_BODIES) / "email_2_2.txt").read_text()
    assert split_reply(body)[0].startswith("Outlook with a reply directly above line")
    assert "Outlook with a reply" not in split_reply(body)[1].split("\n")[0]
    body = (shared_path(PLAIN_BODIES) / "email_sent_from_my_not_signature.txt").read_text()
    new_text, _, signature = split_reply(body)
    assert "Sent from my desk" in new_text
    assert signature == ""


def test_long_quote_and_pathological_bodies_finish_quickly():
    for name in ("email_long_quote.txt", "pathological.txt"):
        body = (shared_path(PLAIN_BODIES) / name).read_text(errors="replace")
        started = time.perf_counter()
        new_text, quoted, _ = split_reply(body)
        assert time.perf_counter() - started < 2.0
        assert new_text
        assert quoted
    long_quote = (shared_path(PLAIN_BODIES) / "email_long_quote.txt").read_text()
    assert split_reply(long_quote)[0].startswith("Hi folks")


def test_bottom_posted_and_wrapped_attributions_are_quotes():
    text = "On 04/02/2012 06:26 PM, Megan wrote:\n> Hi\n> how are you?\nHello there"
    assert split_reply(text)[:2] == (
        "Hello there",
        "On 04/02/2012 06:26 PM, Megan wrote:\n> Hi\n> how are you?",
    )
    text = (
        "Thanks!\nOn Mon, Apr 2, 2012 at 6:26 PM, Megan One <\nmegan@mail.example> wrote:\n\n> Hi"
    )
    assert split_reply(text)[0] == "Thanks!"
    text = "Here is what you said:\n> Order 1001\nI still have no tracking."
    assert split_reply(text)[0] == "I still have no tracking."


def test_headers_addresses_and_threading_ids():
    raw = build_mail(
        sender="=?utf-8?q?Ren=C3=A9e_O=27Brien?= <Renee@Mail.Example>",
        to="care@shop.example, Other <other@shop.example>",
        subject="=?utf-8?b?UmU6IE3hu5l0IGPDoWkgbmjhuqtu?=",
        in_reply_to="<ours.1@storedesk.local>",
        references="<a@x.example> <ours.1@storedesk.local>",
        headers={"Cc": "friend@mail.example", "Thread-Index": "AQHZ" + "A" * 40},
    )
    parsed = parse_email(raw)
    assert (parsed.from_name, parsed.from_email) == ("Renée O'Brien", "renee@mail.example")
    assert parsed.subject == "Re: Một cái nhẫn"
    assert parsed.to == ["care@shop.example", "other@shop.example"]
    assert parsed.cc == ["friend@mail.example"]
    assert parsed.message_id == "<first.1@mail.example>"
    assert parsed.in_reply_to == "<ours.1@storedesk.local>"
    assert parsed.references == ["<a@x.example>", "<ours.1@storedesk.local>"]
    assert parsed.headers["thread_index"]
    assert parsed.is_automatic is False


def test_a_mail_without_message_id_gets_a_stable_one():
    raw = build_mail(message_id=None)
    first, second = parse_email(raw), parse_email(raw)
    assert first.message_id == second.message_id
    assert first.message_id.endswith(f"@{SYNTHETIC_ID_DOMAIN}>")


def test_html_only_mail_gets_text_and_sanitized_html():
    html = (
        "<html><head><style>p{display:none}</style><script>alert(1)</script></head>"
        '<body onload="steal()"><p style="color:red" onclick="x()">My ring <b>broke</b>.</p>'
        '<img src="https://tracker.example/open.gif" width="1" height="1">'
        '<a href="javascript:alert(1)">click</a><form action="https://evil.example">'
        '<input name="card"></form><iframe src="https://evil.example"></iframe></body></html>'
    )
    mail = build_mail(text="", html=html)
    parsed = parse_email(mail)
    assert parsed.new_text.startswith("My ring broke.")
    for forbidden in (
        "<script",
        "onload",
        "onclick",
        "style",
        "tracker.example",
        "javascript:",
        "<form",
        "<input",
        "<iframe",
        "alert",
    ):
        assert forbidden not in parsed.html
    assert "<b>broke</b>" in parsed.html


def test_every_charset_decodes_without_error():
    assert decode_bytes("Café".encode("latin-1"), "iso-8859-1") == "Café"
    assert decode_bytes("“quoted”".encode("cp1252"), "us-ascii") == "“quoted”"
    assert decode_bytes("Ngọc trai".encode(), "x-no-such-charset") == "Ngọc trai"
    assert decode_bytes(b"\xff\xfe broken \x81", "utf-8") == "\ufffd\ufffd broken \ufffd"
    assert "�" not in decode_bytes("中文".encode("gb18030"), "gb2312")


def test_broken_mime_and_unknown_charsets_still_give_a_message():
    raw = (
        b"From: Broken <broken@mail.example>\r\nSubject: =?x-unknown?q?broken=ZZ?=\r\n"
        b"Message-ID: <broken.1@mail.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
        b"--never-closed\r\nContent-Type: text/plain; charset=x-klingon\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29ybGQ!!!not base64\r\n"
        b"--never-closed\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>caf\xe9 \xff</p>\r\n"
    )
    parsed = parse_email(raw)
    assert parsed.from_email == "broken@mail.example"
    assert parsed.message_id == "<broken.1@mail.example>"
    assert parsed.text
    assert parsed.subject


def test_attachments_inline_images_and_forwarded_mail():
    mail = build_mail(
        html='<p>See photo <img src="cid:ring.photo@mail.example"></p>',
        attachments=[("receipt.pdf", "application/pdf", b"%PDF-1.4 fake")],
    )
    parsed = parse_email(mail)
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("receipt.pdf", "application/pdf", b"%PDF-1.4 fake")
    ]
    raw = (
        b"From: a@mail.example\r\nMessage-ID: <fw@mail.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/related; boundary="b"\r\n\r\n--b\r\n'
        b'Content-Type: text/html\r\n\r\n<img src="cid:img1@x">\r\n--b\r\n'
        b"Content-Type: image/png\r\nContent-ID: <img1@x>\r\nContent-Transfer-Encoding: base64"
        b"\r\n\r\niVBORw0KGgo=\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: old@mail.example\r\nSubject: old\r\n\r\nold body\r\n--b--\r\n"
    )
    parsed = parse_email(raw)
    image, forwarded = parsed.attachments
    assert (image.content_id, image.is_inline, image.data[:4]) == ("img1@x", True, b"\x89PNG")
    assert 'src="cid:img1@x"' in parsed.html
    assert forwarded.filename.endswith(".eml")
    assert b"old body" in forwarded.data


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto_reply"),
        ({"Auto-Submitted": "auto-generated"}, "auto_submitted"),
        ({"Precedence": "bulk"}, "bulk"),
        ({"Precedence": "junk"}, "bulk"),
        ({"X-Autoreply": "yes"}, "auto_reply"),
        ({"X-Autorespond": "yes"}, "auto_reply"),
        ({"Return-Path": "<>"}, "bounce"),
        ({"List-Id": "<news.shop.example>"}, "mailing_list"),
        ({"Subject": "Out of Office: back Monday"}, "auto_reply"),
    ],
)
def test_machines_are_recognised(headers, reason):
    subject = headers.pop("Subject", "Re: your order")
    parsed = parse_email(build_mail(subject=subject, headers=headers))
    assert (parsed.is_automatic, parsed.automatic_reason) == (True, reason)


def test_bounces_and_our_own_mail_are_recognised(settings):
    bounce = build_mail(sender="MAILER-DAEMON@mx.mail.example", subject="failure notice")
    assert parse_email(bounce).automatic_reason == "bounce"
    ours = build_mail(message_id=f"<abc@{settings.DESK_MESSAGE_ID_DOMAIN}>")
    assert parse_email(ours).automatic_reason == "loop"
    report = (
        b"From: postmaster@mail.example\r\nMessage-ID: <r1@mail.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n--r\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; gone@mail.example\r\nAction: failed\r\n--r--\r\n"
    )
    parsed = parse_email(report)
    assert parsed.automatic_reason == "bounce"
    assert parsed.new_text == "Could not deliver."


def test_links_open_safely_remote_images_become_links_and_cid_images_resolve():
    from storedesk.desk.sanitize import resolve_inline_images, sanitize_html

    html = sanitize_html(
        '<a href="https://shop.example/track">track</a>'
        '<img src="https://cdn.example/ring.jpg" alt="my ring">'
        '<img src="cid:Part1.ABC@mail.example"><img src="cid:missing@x">'
    )
    assert (
        '<a href="https://shop.example/track" target="_blank" rel="noopener noreferrer nofollow">'
        "track</a>" in html
    )
    assert "<img" not in html.split("cid:")[0].split("remote-image")[0]
    assert 'class="remote-image">[my ring]</a>' in html
    resolved = resolve_inline_images(html, {"part1.abc@mail.example": "/desk/attachments/7/"})
    assert 'src="/desk/attachments/7/"' in resolved
    assert 'src="" data-missing-inline-image="1"' in resolved
    assert "cid:" not in resolved
