"""Saved inbox views are written through desk services, not by the views."""

import pytest
from django.core.exceptions import ValidationError

from storedesk.desk.agent_services import do_delete_view, do_save_view
from storedesk.desk.models import SavedView
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_view_is_saved_with_its_filters_and_only_its_owner_deletes_it():
    owner, other = UserFactory(), UserFactory()
    view = do_save_view(owner=owner, name="Mine", filters={"status": "open"}, is_shared=True)

    assert (view.owner, view.filters, view.is_shared) == (owner, {"status": "open"}, True)
    assert do_delete_view(view.pk, owner=other) is False
    assert SavedView.objects.filter(pk=view.pk).exists()
    assert do_delete_view(view.pk, owner=owner) is True
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_a_view_without_filters_is_refused():
    with pytest.raises(ValidationError):
        do_save_view(owner=UserFactory(), name="Everything", filters={})
    assert not SavedView.objects.exists()
