"""Deadline reminders reach the dispute's owner by e-mail, once each, from the periodic sweep;
a mailer failure is retried by the next sweep."""

from datetime import timedelta

import pytest
from django.core import mail

from storedesk.accounts.roles import Role
from storedesk.disputes.models import DisputeReminder
from storedesk.disputes.services import do_assign_dispute, do_send_reminders
from storedesk.disputes.tasks import send_deadline_reminders
from tests.disputes.builders import disputed_order
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(make_user):
    return make_user(Role.PAYMENTS, username="owner", email="owner@store.example")


def test_the_owner_is_emailed_once_per_reminder(owner, settings):
    settings.DISPUTE_REMINDER_HOURS = [48, 8]
    store = StoreFactory()
    urgent = disputed_order(store=store, due_in=timedelta(hours=3))
    later = disputed_order(store=store, due_in=timedelta(days=12))
    unowned = disputed_order(store=store, due_in=timedelta(hours=2))
    for dispute in (urgent, later):
        do_assign_dispute(dispute, owner, actor=owner)

    send_deadline_reminders.call()
    send_deadline_reminders.call()

    # 3 hours left: within both thresholds, so two reminders, each mailed once.
    assert DisputeReminder.objects.filter(dispute=urgent).count() == 2
    assert DisputeReminder.objects.filter(dispute=unowned).count() == 2
    assert len(mail.outbox) == 2
    assert {message.to[0] for message in mail.outbox} == {"owner@store.example"}
    subjects = sorted(message.subject for message in mail.outbox)
    assert subjects == [
        f"Dispute on order {urgent.order.number} is due within 48 business hours",
        f"Dispute on order {urgent.order.number} is due within 8 business hours",
    ]
    assert f"/disputes/{urgent.pk}/" in mail.outbox[0].body
    assert urgent.provider_id in mail.outbox[0].body
    assert not DisputeReminder.objects.filter(dispute=urgent, emailed_at__isnull=True).exists()


def test_a_failed_mail_is_sent_by_the_next_sweep(owner, settings, monkeypatch):
    settings.DISPUTE_REMINDER_HOURS = [8]
    dispute = disputed_order(due_in=timedelta(hours=3))
    do_assign_dispute(dispute, owner, actor=owner)

    def broken(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    with monkeypatch.context() as patched:
        patched.setattr("django.core.mail.EmailMessage.send", broken)
        do_send_reminders()
    assert mail.outbox == []
    assert DisputeReminder.objects.get().emailed_at is None

    do_send_reminders()

    assert len(mail.outbox) == 1
    assert DisputeReminder.objects.get().emailed_at is not None
