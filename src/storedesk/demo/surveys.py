"""The demo's survey answers: a year of CSAT after solved tickets and NPS to recent buyers,
with the comments real customers of a small jewelry store write.

Runs after the desk has written its tickets (`finish`), reads them in a few set-based
queries, follows the same rules as the live surveys (one survey per address in 30 days, an
NPS survey 14–45 days after an order) and writes invitations, answers and the throttle rows
with bulk inserts. Deterministic: everything is drawn from the scenario's own random stream.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta

from storedesk.core.bulk import bulk_insert
from storedesk.demo.scenarios import DemoContext, Scenario, scenario
from storedesk.desk.models import Message, Ticket
from storedesk.experience.models import (
    SurveyInvitation,
    SurveyKind,
    SurveyRecipient,
    SurveyResponse,
)
from storedesk.experience.services import definition_for
from storedesk.resolutions.models import Resolution

THROTTLE = timedelta(days=30)
LINK_DAYS = timedelta(days=30)
CSAT_INVITE_SHARE = 0.9  # tickets without an address or merged are left out
CSAT_ANSWER_SHARE = 0.36
NPS_INVITE_SHARE = 0.35
NPS_ANSWER_SHARE = 0.22

# The ticket's tag (the demo's situation) → the intent triage would have found.
INTENT_OF_SITUATION = {
    "where-is-my-order": "order_status",
    "tracking-not-updating": "tracking_stalled",
    "not-received": "not_received",
    "delivered-not-received": "delivered_not_received",
    "wrong-item": "wrong_item",
    "wrong-size": "wrong_size",
    "damaged": "damaged",
    "return-exchange": "return_exchange",
    "refund-request": "refund_request",
    "cancel-change": "cancel_change",
    "payment-problem": "payment_problem",
    "unrecognized-charge": "payment_problem",
    "discount-price": "discount_price",
    "product-question": "product_question",
    "warranty": "warranty",
    "compliment": "compliment",
    "bad-review-threat": "other",
    "chargeback-threat": "other",
}
# How much harder each situation is to leave a customer happy (added to the roll).
DIFFICULTY = {
    "not-received": 0.22,
    "delivered-not-received": 0.3,
    "damaged": 0.15,
    "bad-review-threat": 0.3,
    "chargeback-threat": 0.3,
    "tracking-not-updating": 0.1,
    "unrecognized-charge": 0.12,
    "compliment": -0.25,
    "product-question": -0.12,
}

CSAT_COMMENTS = {
    5: (
        "Thank you so much! Linh was super patient with my questions.",
        "Fast and friendly. Got my answer the same day.",
        "The replacement ring fits perfectly, thank you for making it easy.",
        "Honestly the best customer service I've had from an online shop.",
        "Quick refund, no hassle. Will order again.",
        "You kept me updated the whole time, really appreciated it.",
        "Loved the personal touch. The necklace was a gift and it arrived in time.",
    ),
    4: (
        "Good help, just took a day to hear back.",
        "Solved in the end. Would be nice to get tracking updates without asking.",
        "Nice people, the answer was clear.",
        "Happy with the exchange, shipping back was a bit of a hassle.",
    ),
    3: (
        "It got sorted but I had to explain my problem twice.",
        "OK. The package is still slow but at least I know where it is.",
        "Answer was polite but a bit generic.",
    ),
    2: (
        "It took over a week to get a real answer.",
        "I was told the parcel would arrive in 7-14 days, it's been almost a month.",
        "Had to email three times before anyone looked at the photos I sent.",
    ),
    1: (
        "Still no ring and no refund. Very disappointed.",
        "Tracking says delivered, I never got it, and nobody seems to care.",
        "The earrings came broken and I'm asked to pay for return shipping?",
        "Copy-paste answers. I want my money back.",
    ),
}
NPS_COMMENTS = {
    "promoter": (
        "Beautiful pieces for the price, and the packaging is lovely.",
        "My wife loved her birthstone necklace. Already ordered another one.",
        "Great quality sterling silver, no tarnish after months.",
        "Easy to order and the ring size guide was spot on.",
        "Every order has arrived well packed. Recommended you to my sister.",
    ),
    "passive": (
        "Nice jewelry, shipping from overseas takes a while though.",
        "Good value. Would love more gold options.",
        "Pretty, but the chain is thinner than it looked in the photos.",
    ),
    "detractor": (
        "Shipping took almost four weeks, too long for a gift.",
        "The stone fell out after two weeks of wearing it.",
        "Customs fees I wasn't told about.",
        "Hard to reach anyone when my order was late.",
        "Looked cheaper in person than on the website.",
    ),
}


def _token_hash(seed: int, kind: str, serial: int) -> str:
    """A stored hash no link will ever match: demo invitations were never e-mailed."""
    return hashlib.sha256(f"demo-survey:{seed}:{kind}:{serial}".encode()).hexdigest()


def _csat_score(rng: random.Random, difficulty: float) -> int:
    roll = rng.random() + difficulty
    for limit, score in ((0.5, 5), (0.74, 4), (0.86, 3), (0.94, 2)):
        if roll < limit:
            return score
    return 1


def _nps_score(rng: random.Random) -> int:
    roll = rng.random()
    for limit, score in (
        (0.32, 10),
        (0.55, 9),
        (0.69, 8),
        (0.79, 7),
        (0.86, 6),
        (0.91, 5),
        (0.94, 4),
        (0.96, 3),
        (0.98, 2),
    ):
        if roll < limit:
            return score
    return rng.choice((0, 1))


def _nps_band(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


@scenario("surveys", order=140)
class SurveyScenario(Scenario):
    """CSAT after the desk's solved tickets and NPS after orders, over the demo's year."""

    def finish(self, ctx: DemoContext) -> None:
        rng = ctx.random_for(self.name)
        for kind in SurveyKind:
            definition_for(kind)
        tickets = list(
            Ticket.objects.filter(store=ctx.store, solved_at__isnull=False, merged_into=None)
            .exclude(requester_email="")
            .order_by("solved_at", "pk")
            .values("pk", "requester_email", "customer_id", "assignee_id", "channel", "solved_at")
        )
        ids = [ticket["pk"] for ticket in tickets]
        situations = dict(
            Ticket.tags.through.objects.filter(ticket_id__in=ids).values_list(
                "ticket_id", "tag__name"
            )
        )
        templates = dict(
            Message.objects.filter(ticket__store=ctx.store, template__isnull=False)
            .order_by("created_at", "pk")
            .values_list("ticket_id", "template_id")
        )
        resolutions = dict(
            Resolution.objects.filter(ticket_id__in=ids, status=Resolution.Status.DONE)
            .order_by("created_at", "pk")
            .values_list("ticket_id", "kind")
        )
        events: list[tuple[datetime, str, dict]] = []
        for ticket in tickets:
            events.append((ticket["solved_at"], "csat", ticket))
        orders = ctx.store.orders.filter(cancelled_at__isnull=True).exclude(email="")
        for order in orders.order_by("created_at", "pk").values(
            "pk", "email", "customer_id", "created_at"
        ):
            events.append((order["created_at"] + timedelta(days=14), "nps", order))
        events.sort(key=lambda item: (item[0], item[1], item[2]["pk"]))
        last_invited: dict[str, datetime] = {}
        nps_invited: dict[str, datetime] = {}
        invitations, answers = [], []
        for at, kind, row in events:
            if at >= ctx.now:
                continue
            email = (row.get("requester_email") or row.get("email") or "").strip().lower()
            previous = last_invited.get(email)
            if previous is not None and at - previous < THROTTLE:
                continue
            if kind == "nps":
                if email in nps_invited and at - nps_invited[email] < timedelta(days=180):
                    continue
                if rng.random() >= NPS_INVITE_SHARE:
                    continue
                nps_invited[email] = at
            elif rng.random() >= CSAT_INVITE_SHARE:
                continue
            sent_at = at + timedelta(minutes=rng.randint(2, 240))
            if sent_at >= ctx.now:
                continue
            last_invited[email] = sent_at
            serial = len(invitations)
            token_hash = _token_hash(ctx.seed, kind, serial)
            invitation = {
                "kind": kind,
                "store_id": ctx.store.pk,
                "email": email,
                "customer_id": row["customer_id"],
                "status": SurveyInvitation.Status.SENT,
                "token_hash": token_hash,
                "created_at": sent_at,
                "sent_at": sent_at,
                "expires_at": sent_at + LINK_DAYS,
                "definition_version": 1,
            }
            if kind == "csat":
                situation = situations.get(row["pk"], "")
                invitation |= {
                    "ticket_id": row["pk"],
                    "agent_id": row["assignee_id"],
                    "intent": INTENT_OF_SITUATION.get(situation, ""),
                    "channel": row["channel"],
                    "template_id": templates.get(row["pk"]),
                    "resolution_kind": resolutions.get(row["pk"], ""),
                }
                answered = rng.random() < CSAT_ANSWER_SHARE
                score = _csat_score(rng, DIFFICULTY.get(situation, 0.0))
                pool = CSAT_COMMENTS[score]
                comment_share = 0.75 if score <= 2 else 0.4
            else:
                invitation |= {"order_id": row["pk"], "channel": "email"}
                answered = rng.random() < NPS_ANSWER_SHARE
                score = _nps_score(rng)
                pool = NPS_COMMENTS[_nps_band(score)]
                comment_share = 0.5
            answered_at = sent_at + timedelta(minutes=rng.randint(3, 60 * 24 * 4))
            if answered and answered_at < min(ctx.now, sent_at + LINK_DAYS):
                invitation["answered_at"] = answered_at
                comment = rng.choice(pool) if rng.random() < comment_share else ""
                answers.append(
                    {
                        "token_hash": token_hash,
                        "kind": kind,
                        "score": score,
                        "comment": comment,
                        "created_at": answered_at,
                        "commented_at": answered_at if comment else None,
                    }
                )
            invitations.append(invitation)
        bulk_insert(SurveyInvitation, invitations)
        id_of = dict(
            SurveyInvitation.objects.filter(store=ctx.store).values_list("token_hash", "pk")
        )
        bulk_insert(
            SurveyResponse,
            [
                {key: value for key, value in answer.items() if key != "token_hash"}
                | {"invitation_id": id_of[answer["token_hash"]]}
                for answer in answers
            ],
        )
        bulk_insert(
            SurveyRecipient,
            [{"email": email, "last_invited_at": at} for email, at in last_invited.items()],
            update_fields=["last_invited_at"],
            unique_fields=["email"],
        )
        ctx.count("surveys:invitations", len(invitations))
        ctx.count("surveys:answers", len(answers))

    def reset(self, store) -> None:
        invitations = SurveyInvitation.objects.filter(store=store)
        responses = SurveyResponse.objects.filter(invitation__store=store)
        emails = invitations.values("email")
        recipients = SurveyRecipient.objects.filter(email__in=emails)
        recipients._raw_delete(recipients.db)
        responses._raw_delete(responses.db)
        invitations._raw_delete(invitations.db)
