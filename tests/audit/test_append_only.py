import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from storedesk.audit.models import AppendOnlyError, AuditEntry
from storedesk.audit.services import record_audit
from storedesk.core.context import set_correlation_id
from tests.factories import OrderFactory


@pytest.fixture
def entry(db, agent):
    set_correlation_id("req-1234abcd")
    order = OrderFactory()
    return record_audit(
        actor=agent, action="order.tagged", obj=order, changes={"tags": [[], ["vip"]]}
    )


def test_entry_records_actor_object_changes_and_correlation_id(entry, agent):
    assert entry.actor == agent
    assert entry.actor_label == "agent"
    assert entry.object_repr.startswith("#TP")
    assert entry.changes == {"tags": [[], ["vip"]]}
    assert entry.correlation_id == "req-1234abcd"
    assert list(
        AuditEntry.objects.for_object(
            entry.content_type.get_object_for_this_type(pk=entry.object_id)
        )
    ) == [entry]


def test_orm_refuses_to_change_or_delete_entries(entry):
    entry.action = "forged"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


def test_database_refuses_raw_updates(entry):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = 'forged' WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "order.tagged"


def test_system_actions_are_labelled_system(db):
    entry = record_audit(actor=None, action="order.imported", obj=OrderFactory())
    assert entry.actor is None
    assert entry.actor_label == "system"


def test_a_system_part_acting_is_named_on_its_entries(db):
    """Services take `actor="stripe-webhook"` (or "demo") for what no person did."""
    entry = record_audit(actor="stripe-webhook", action="dispute.updated", obj=OrderFactory())
    assert entry.actor is None
    assert entry.actor_label == "stripe-webhook"
    blank = record_audit(actor="  ", action="order.imported", obj=OrderFactory())
    assert blank.actor_label == "system"
