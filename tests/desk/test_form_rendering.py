"""Kept choice widgets: the same HTML as Django's renderer, whatever the values and language."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils import translation
from django.utils.safestring import mark_safe

from storedesk.desk.forms import InboxFilterForm, PropertiesForm
from storedesk.desk.views.form_rendering import KeptWidgetsRenderer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _both(form_class, *args, **kwargs) -> tuple[str, str]:
    kept = KeptWidgetsRenderer()
    plain = form_class(*args, renderer=DjangoTemplates(), **kwargs)
    twice = [str(form_class(*args, renderer=kept, **kwargs)) for _ in range(2)]
    assert twice[0] == twice[1]
    return str(plain), twice[1]


@pytest.mark.parametrize("language", ["en", "vi"])
@pytest.mark.parametrize(
    "initial",
    [
        {},
        {"status": "pending", "priority": 3, "assignee": "", "tags": "vip, rush"},
        {"status": "solved", "priority": 1, "team": ""},
    ],
)
def test_the_properties_form_renders_as_django_renders_it(language, initial):
    agents = [UserFactory(first_name="Lan", last_name="Pham"), UserFactory(first_name="Bảo")]
    initial = {**initial, "assignee": str(agents[0].pk)} if "assignee" in initial else initial
    with translation.override(language):
        plain, kept = _both(PropertiesForm, initial=initial, agents=agents, teams=[])
    assert kept == plain


def test_the_inbox_filters_render_as_django_renders_them():
    agents = [UserFactory(first_name="Lan")]
    for data in [None, {"status": "open"}, {"status": "open", "priority": "4", "q": "<b>"}]:
        plain, kept = _both(InboxFilterForm, data, agents=agents, teams=[])
        assert kept == plain


def test_a_renamed_agent_is_not_shown_under_the_old_name():
    kept = KeptWidgetsRenderer()
    agent = UserFactory(first_name="Lan")
    before = str(PropertiesForm(agents=[agent], teams=[], renderer=kept)["assignee"])
    agent.first_name = "Linh"
    after = str(PropertiesForm(agents=[agent], teams=[], renderer=kept)["assignee"])
    assert "Lan" in before
    assert "Linh" in after
    assert "Lan" not in after


class _Choices(forms.Form):
    pick = forms.ChoiceField(choices=[])

    def __init__(self, choices, **kwargs):
        super().__init__(**kwargs)
        self.fields["pick"].choices = choices


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ([(1, "one")], [(1.0, "one")]),  # 1 == 1.0, but "1" != "1.0"
        ([(True, "yes")], [(1, "yes")]),  # True == 1
        ([("a", "<b>x</b>")], [("a", mark_safe("<b>x</b>"))]),  # escaped, or not
    ],
)
def test_equal_values_that_render_differently_are_kept_apart(first, second):
    kept = KeptWidgetsRenderer()
    for choices in (first, second):
        plain = str(_Choices(choices, renderer=DjangoTemplates())["pick"])
        assert str(_Choices(choices, renderer=kept)["pick"]) == plain
