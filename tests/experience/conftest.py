"""Survey fixtures: solved tickets through the desk's services, and the survey e-mail's links."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.desk.models import Ticket
from storedesk.desk.services import do_change_status
from storedesk.experience.models import SurveyInvitation
from storedesk.experience.services import do_invite_after_solve, send_survey_invitation
from tests.desk.builders import make_ticket
from tests.factories import CustomerFactory, StoreFactory

LINK = re.compile(r"(https?://\S+/s/[A-Za-z0-9_-]+/)\?score=(\d+)")


def solve(ticket: Ticket, actor=None) -> Ticket:
    return do_change_status(ticket, Ticket.Status.SOLVED, actor=actor)


def link_path(message, score: int) -> str:
    for url, found in LINK.findall(message.body):
        if int(found) == score:
            return "/" + url.split("://", 1)[1].split("/", 1)[1] + f"?score={score}"
    raise AssertionError(f"no link for score {score}")


def token_of(message) -> str:
    url, _score = LINK.findall(message.body)[0]
    return url.rstrip("/").rsplit("/", 1)[1]


@pytest.fixture
def customer(db):
    return CustomerFactory(store=StoreFactory(), first_name="Olivia", email="olivia@mail.example")


@pytest.fixture
def solved_ticket(customer):
    ticket = make_ticket(requester=customer.email, at=timezone.now() - timedelta(days=2))
    return solve(ticket)


@pytest.fixture
def sent_survey(solved_ticket):
    """A CSAT survey of a solved ticket, e-mailed: (invitation, the e-mail)."""
    mail.outbox.clear()
    invitation = do_invite_after_solve(solved_ticket.pk)
    assert send_survey_invitation(invitation.pk) == "sent"
    assert len(mail.outbox) == 1
    invitation = SurveyInvitation.objects.get(pk=invitation.pk)
    return invitation, mail.outbox[0]


@pytest.fixture
def lead(make_user):
    return make_user(Role.LEAD, username="lead")


@pytest.fixture
def lead_client(lead):
    client = Client()
    client.force_login(lead)
    return client
