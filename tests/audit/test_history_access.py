"""Reading an object's audit trail needs the permission of the object's own page: the trail
repeats what that page hides from a role (rule source, blocked fingerprints, roles, tokens)."""

import pytest
from django.contrib.contenttypes.models import ContentType

from storedesk.accounts.roles import Role
from storedesk.audit.access import AUDIT_READERS, can_read_audit_of
from storedesk.audit.models import AuditEntry

AGENT, LEAD, PAYMENTS, ADMIN = Role.AGENT, Role.LEAD, Role.PAYMENTS, Role.ADMIN

# kind of object → the roles whose own pages show it
READABLE_BY = {
    "commerce.order": {AGENT, LEAD, PAYMENTS, ADMIN},
    "desk.ticket": {AGENT, LEAD, PAYMENTS, ADMIN},
    "risk.riskrule": {LEAD, PAYMENTS, ADMIN},
    "risk.risklist": {LEAD, PAYMENTS, ADMIN},
    "commerce.payment": {PAYMENTS, ADMIN},
    "disputes.dispute": {PAYMENTS, ADMIN},
    "triage.priorityweights": {LEAD, ADMIN},
    "accounts.user": {LEAD, ADMIN},
    "accounts.apitoken": {ADMIN},
}


def _entry(label: str) -> AuditEntry:
    app_label, model = label.split(".")
    return AuditEntry.objects.create(
        actor_label="someone",
        action="something.changed",
        content_type=ContentType.objects.get_by_natural_key(app_label, model),
        object_id="7",
        object_repr="the object",
        changes={"secret": "fpHIDDEN42 mallory@mail.example 203.0.113.9"},
    )


@pytest.mark.parametrize("role", [AGENT, LEAD, PAYMENTS, ADMIN])
@pytest.mark.parametrize("label", sorted(READABLE_BY))
def test_the_trail_needs_the_objects_own_permission(client, make_user, role, label):
    _entry(label)
    client.force_login(make_user(role, username=f"u-{role}"))
    response = client.get(f"/audit/{label.replace('.', '/')}/7/")
    if role in READABLE_BY[label]:
        assert response.status_code == 200
        assert "fpHIDDEN42" in response.text
    else:
        assert response.status_code == 403
        assert "fpHIDDEN42" not in response.text


@pytest.mark.parametrize("label", ["auth.group", "auth.permission", "sessions.session"])
def test_a_kind_of_object_without_a_trail_rule_is_404_even_for_admins(client, make_user, label):
    _entry(label)
    client.force_login(make_user(ADMIN, username="boss"))
    assert client.get(f"/audit/{label.replace('.', '/')}/7/").status_code == 404


def test_every_rule_names_real_permissions(db):
    from django.contrib.auth.models import Permission

    known = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    named = {permission for perms in AUDIT_READERS.values() for permission in perms}
    assert named - known == set()


def test_can_read_audit_of_says_no_for_unknown_kinds(make_user):
    admin = make_user(ADMIN, username="boss")
    group = ContentType.objects.get_by_natural_key("auth", "group")
    assert can_read_audit_of(admin, group) is False
    assert can_read_audit_of(admin, ContentType.objects.get_by_natural_key("risk", "riskrule"))
