"""Builders of raw mails for the email-in tests, and media kept in a temporary folder."""

from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from django.utils import timezone


@pytest.fixture
def media(settings, tmp_path):
    """Stored raw mails and attachments go to a temporary folder, not var/media."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }
    return tmp_path / "media"


def build_mail(
    *,
    sender="Emma Stone <emma@mail.example>",
    to="Care <care@shop.example>",
    subject="Where is my ring?",
    text="Hi, my order #1001 has not arrived yet. Can you check?\n\nThanks,\nEmma",
    html=None,
    message_id="<first.1@mail.example>",
    in_reply_to=None,
    references=None,
    headers=None,
    attachments=(),
) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(timezone.now())
    if message_id:
        mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(text)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return mail.as_bytes()
