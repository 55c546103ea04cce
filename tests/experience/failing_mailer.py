"""A mail backend whose server refuses every message, as an SMTP server answering 550 would."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend


class Backend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPDataError(550, b"refused: mailbox unavailable")


class Disconnecting(BaseEmailBackend):
    """The server drops the connection before accepting anything: worth trying again."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
