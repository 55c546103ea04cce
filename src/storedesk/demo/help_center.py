"""The demo store's help center: about 25 articles a small jewelry shop shipping from Hanoi to
US customers would write, across the seven categories, and a history of what customers did
with them (views, votes, searches, suggestions while writing to us, some of them followed by
a ticket anyway), spread over the simulated period. Everything goes through the help center's
services; the policies themselves are published by the `policies` scenario."""

from __future__ import annotations

from datetime import timedelta

from storedesk.demo.scenarios import DemoContext, Scenario, scenario
from storedesk.experience.models import (
    HelpArticle,
    HelpArticleVersion,
    HelpCategory,
    HelpEvent,
    HelpVote,
)
from storedesk.experience.queries import search_articles
from storedesk.experience.services import (
    do_record_contact_after_help,
    do_record_search,
    do_record_suggestions,
    do_record_view,
    do_save_article,
    do_vote,
    ensure_help_categories,
    voter_key,
)

# (category slug, title, Markdown body). Links to policies use their current address.
ARTICLES: list[tuple[str, str, str]] = [
    (
        "ordering",
        "How do I change or cancel my order?",
        "We start making most pieces within **12 hours**, so please write to us as soon as "
        "you can.\n\n- **Within 12 hours:** we can change the size, the engraving or the "
        "address, or cancel for a full refund.\n- **After that:** if your piece is already "
        "being made, we can usually still change the shipping address. Cancelling is possible "
        "until it ships; a made-to-size ring may then be returned under our "
        "[returns policy](/help/policies/returns/).\n\nReply to your order confirmation email "
        "or use the contact form with your order number (it looks like #TP10234).",
    ),
    (
        "ordering",
        "I didn't get an order confirmation email",
        "Confirmation emails are sent within a few minutes of checkout.\n\n1. Check your spam "
        "or promotions folder for a message from our store.\n2. Make sure the email address "
        "at checkout was spelled right (a typo like *gmial.com* happens more often than you'd "
        "think).\n3. If your card was charged but no email arrived after an hour, contact us "
        "with the name on the order and the last four digits of your card, and we'll resend "
        "it.",
    ),
    (
        "ordering",
        "Can I add engraving or a gift note?",
        "Yes. Rings, bar necklaces and cuff bracelets can be engraved with up to **20 "
        "characters** (letters, numbers and the symbols & + ♥). Add your text on the product "
        "page before checkout.\n\nGift notes are free: write yours in the *Order note* box at "
        "checkout and we'll handwrite it on a card. Prices are never printed on the packing "
        "slip.",
    ),
    (
        "ordering",
        "Do you take custom orders?",
        "We make custom pieces in sterling silver and 14K solid gold: stacking rings in a "
        "non-standard size, birthstone combinations and name necklaces in other fonts.\n\n"
        "Send us a message with a sketch or a photo. Custom work takes 2-3 weeks before "
        "shipping and **can't be returned**, but it is covered by our "
        "[warranty](/help/policies/warranty/).",
    ),
    (
        "shipping-and-tracking",
        "How long does shipping to the US take?",
        "Every piece is handmade in Hanoi, Vietnam and ships within **1-3 business days**.\n\n"
        "| Service | Delivery time | Cost |\n|---|---|---|\n"
        "| Standard International | 10-20 business days | Free over $75 |\n"
        "| Tracked Express (UPS) | 6-9 business days | $14.95 |\n"
        "| DHL Express / FedEx International Priority | 3-5 business days | $29.95 |\n\n"
        "Duties and import taxes are prepaid, so there is nothing to pay on delivery. See the "
        "[shipping policy](/help/policies/shipping/) for holiday cut-off dates.",
    ),
    (
        "shipping-and-tracking",
        "Where is my order? How to track it",
        "When your order ships we email you a tracking number.\n\n- **UPS, DHL and FedEx** "
        "numbers work on the carrier's site right away.\n- **Standard International** parcels "
        "travel with Vietnam Post first and are handed to **USPS** when they reach the US; the "
        "tracking may show no updates for 5-8 days while the parcel is in the air and in "
        "customs. That's normal.\n\nIf nothing has moved for 15 business days, contact us and "
        "we'll open a trace with the carrier.",
    ),
    (
        "shipping-and-tracking",
        "My tracking says delivered but I don't have the package",
        "Sorry about the worry! First:\n\n1. Check around your porch, mailbox and with "
        "neighbors; carriers sometimes mark a parcel delivered a day early.\n2. Look for a "
        "notice from USPS about a parcel held at the post office.\n3. Wait one more business "
        "day.\n\nStill missing? Tell us **within 7 days** of the delivery scan so we can open a "
        "claim with the carrier. We'll reship or refund once the claim is opened.",
    ),
    (
        "shipping-and-tracking",
        "Can I change my shipping address after ordering?",
        "Yes, until your order ships. Write to us with your order number and the full new "
        "address. After it ships we can ask UPS, DHL or FedEx to redirect it (their fee may "
        "apply); Standard International parcels can't be redirected.",
    ),
    (
        "shipping-and-tracking",
        "Will I have to pay customs or duties?",
        "No. Orders shipped to the United States have duties and import taxes **prepaid** at "
        "checkout. If a carrier ever asks you for money on delivery, don't pay it: contact us "
        "and we'll sort it out with them.",
    ),
    (
        "returns-and-exchanges",
        "How do I return an item?",
        "You can return any **unworn** piece within 30 days of delivery for a refund of the "
        "item price.\n\n1. Contact us with your order number and what you'd like to return.\n"
        "2. We'll email the return address and a return form.\n3. Ship it with a tracked "
        "service and send us the tracking number.\n\nRefunds are issued within 3 business days "
        "of the piece arriving. Return shipping is paid by you unless the item arrived damaged "
        "or wrong. The full terms are in our [returns policy](/help/policies/returns/).",
    ),
    (
        "returns-and-exchanges",
        "Can I exchange a ring for another size?",
        "Yes: **one size exchange is free** for every ring. Contact us with your order number "
        "and the new size; we'll send a prepaid label for US addresses and make the new ring "
        "as soon as the old one is scanned by the carrier.\n\nNot sure of your size? See "
        "[how to find your ring size](/help/articles/how-to-find-your-ring-size/).",
    ),
    (
        "returns-and-exchanges",
        "My item arrived damaged or it's not what I ordered",
        "We're sorry! Please send us a photo of the piece and of the packaging within 7 days "
        "of delivery. We'll send a replacement right away, or a full refund if you prefer, and "
        "we pay the return shipping.",
    ),
    (
        "returns-and-exchanges",
        "When will I get my refund?",
        "We refund within **3 business days** after your return arrives in Hanoi. Your bank "
        "then takes:\n\n- **Cards:** 5-10 business days to show the credit.\n- **PayPal:** "
        "usually within 24 hours.\n\nThe refund goes to the way you paid. You'll get an email "
        "from us when it's sent.",
    ),
    (
        "sizing",
        "How to find your ring size",
        "The easiest way is to measure a ring that already fits.\n\n1. Measure the **inside "
        "diameter** of the ring in millimeters.\n2. Find it in the table.\n\n"
        "| US size | Inside diameter |\n|---|---|\n| 5 | 15.7 mm |\n| 6 | 16.5 mm |\n"
        "| 7 | 17.3 mm |\n| 8 | 18.1 mm |\n| 9 | 18.9 mm |\n\n"
        "No ring? Wrap a strip of paper around the base of your finger, mark where it "
        "overlaps, and measure the length: 52 mm is about a size 6. Measure at the end of the "
        "day, when fingers are largest. Between two sizes? Pick the larger one.",
    ),
    (
        "sizing",
        "Which necklace length should I choose?",
        "- **16 inches:** sits at the base of the neck, like a choker on most people.\n- **18 "
        "inches:** our most popular; falls on the collarbone.\n- **20 inches:** just below the "
        "collarbone, good over a crew neck.\n\nEvery chain has a 2-inch extender, so you can "
        "wear it a little longer.",
    ),
    (
        "sizing",
        "Bracelet sizes",
        "Measure your wrist snugly with a soft tape and add **half an inch** for a close fit "
        "or one inch for a loose one. Our bracelets come in 6.5, 7 and 7.5 inches; cuffs are "
        "adjustable.",
    ),
    (
        "jewelry-care",
        "How do I clean sterling silver?",
        "Silver tarnishes when it meets air and sulfur; that's normal and easy to fix.\n\n- "
        "Rub gently with the **polishing cloth** in your box.\n- For more tarnish, soak a few "
        "minutes in warm water with a drop of mild dish soap, then dry well.\n- Don't use "
        "toothpaste, baking soda or dips on pieces with stones or oxidized details.\n\nStore "
        "silver in the zip pouch it came in to slow tarnish down.",
    ),
    (
        "jewelry-care",
        "Caring for gold-plated jewelry",
        "Plating is a thin layer of 18K gold over sterling silver, so it lasts longer when "
        "kept dry.\n\n- Put it on **after** lotion, perfume and hairspray.\n- Take it off for "
        "swimming, showers and the gym.\n- Wipe with a soft dry cloth after wearing.\n\nWear "
        "from daily use isn't a defect, but we can re-plate any piece at cost (see the "
        "[warranty](/help/policies/warranty/)).",
    ),
    (
        "jewelry-care",
        "Can I wear my jewelry in the shower or the pool?",
        "Solid gold, yes (though soap can dull stones over time). Sterling silver and "
        "gold-plated pieces: better not. Chlorine and salt water darken silver and wear "
        "plating away quickly.",
    ),
    (
        "jewelry-care",
        "Caring for pearls and gemstones",
        "Pearls are soft: put them on last and wipe them with a damp cloth after wearing. "
        "Never use an ultrasonic cleaner on pearls, opals or emeralds. Store pieces with "
        "stones separately so they don't scratch each other.",
    ),
    (
        "warranty",
        "What does the warranty cover?",
        "- **14K solid gold:** lifetime warranty against manufacturing defects.\n- **Sterling "
        "silver and gold-plated:** one year.\n\nCovered: broken clasps, loose stones that fall "
        "out, solder joints that break. Not covered: scratches, plating wear from normal use, "
        "lost pieces, and damage from accidents or resizing elsewhere. Read the full "
        "[warranty policy](/help/policies/warranty/).",
    ),
    (
        "warranty",
        "How do I make a warranty claim?",
        "Send us your order number and a photo of the problem. If it's covered, we'll email a "
        "return address; we repair or replace the piece and ship it back free. Repairs take "
        "about 2 weeks plus shipping.",
    ),
    (
        "payments",
        "Which payment methods do you accept?",
        "We accept Visa, Mastercard, American Express and Discover, Apple Pay and Google Pay "
        "(through Stripe), and PayPal. Prices are in **US dollars**. Your card details go "
        "straight to Stripe or PayPal; we never see or store them.",
    ),
    (
        "payments",
        "Why was my order canceled after payment?",
        "Now and then our payment checks can't confirm an order (for example, when the "
        "billing and shipping details don't match and we can't reach you). We then cancel "
        "and refund it in full right away. If that happened to you, reply to the "
        "cancellation email and we'll help you place it again.",
    ),
    (
        "payments",
        "I see two charges on my card",
        "One of them is probably an **authorization**, a temporary hold your bank places when "
        "you check out; it disappears within 3-7 business days. If both charges are still "
        "there after a week, send us a screenshot and we'll check.",
    ),
]

# What customers type into the search box, with how often (the empty ones are real gaps).
SEARCHES = [
    ("ring size", 40),
    ("tracking", 36),
    ("return", 30),
    ("refund", 22),
    ("tarnish", 14),
    ("customs", 12),
    ("exchange size", 10),
    ("warranty", 9),
    ("engraving", 8),
    ("gift card", 7),
    ("afterpay", 6),
    ("wholesale", 4),
    ("resize ring at home", 3),
]
SUGGESTION_SESSIONS = 160
CONTACT_RATE = 0.35


def _slug(title: str) -> str:
    from django.utils.text import slugify

    return slugify(title)[:120]


@scenario("help_center", order=120)
class HelpCenterScenario(Scenario):
    """Writes and publishes the articles, then a history of customers using them."""

    def setup(self, ctx: DemoContext) -> None:
        ensure_help_categories()
        categories = {category.slug: category for category in HelpCategory.objects.all()}
        for category, title, body in ARTICLES:
            do_save_article(
                ctx.store,
                actor="demo",
                title=title,
                body=body,
                slug=_slug(title),
                category=categories[category],
                publish=True,
            )
            ctx.count("help articles")
        # One article with an edit history: a second version, published.
        article = HelpArticle.objects.get(store=ctx.store, slug=_slug(ARTICLES[4][1]))
        do_save_article(
            ctx.store,
            actor="demo",
            article=article,
            title=ARTICLES[4][1],
            body=ARTICLES[4][2].replace("$14.95", "$12.95"),
            slug=article.slug,
            category=article.category,
            note="Express price lowered",
            publish=True,
        )

    def finish(self, ctx: DemoContext) -> None:
        rng = ctx.random_for("help_center")
        span = max((ctx.now - ctx.start).total_seconds(), 3600.0)
        recent = min(span, 90 * 24 * 3600.0)  # the last 90 days have the activity

        def when():
            return ctx.now - timedelta(seconds=rng.random() * recent)

        articles = list(HelpArticle.objects.filter(store=ctx.store).order_by("pk"))
        weights = [1.0 / (1 + index % 9) for index in range(len(articles))]
        for _ in range(min(900, 60 + ctx.orders_wanted // 20)):
            article = rng.choices(articles, weights)[0]
            do_record_view(article, at=when())
            if rng.random() < 0.18:
                do_vote(
                    article,
                    voter=voter_key(f"demo-{rng.random()}"),
                    helpful=rng.random() < 0.78,
                    at=when(),
                )
        for query, times in SEARCHES:
            found = len(search_articles(ctx.store, query, limit=50, snippets=False))
            for _ in range(times):
                do_record_search(ctx.store, query=query, result_count=found, at=when())
        ticket = 0
        for number in range(SUGGESTION_SESSIONS):
            session = f"demo{number:06d}{rng.getrandbits(48):012x}"
            shown = rng.sample(articles, 2)
            moment = when()
            do_record_suggestions(
                ctx.store,
                query="ring size",
                article_ids=[article.pk for article in shown],
                help_session=session,
                channel=rng.choice(["form", "form", "chat"]),
                at=moment,
            )
            if rng.random() < 0.3:
                do_record_view(shown[0], help_session=session, from_suggestion=True, at=moment)
            if rng.random() < CONTACT_RATE:
                ticket -= 1  # no real ticket behind the simulated contact
                do_record_contact_after_help(
                    help_session=session,
                    ticket_id=ticket,
                    channel="form",
                    store_id=ctx.store.pk,
                    at=moment + timedelta(minutes=3),
                )
        ctx.count("help center events", HelpEvent.objects.filter(store=ctx.store).count())

    def reset(self, store) -> None:
        for queryset in (
            HelpEvent.objects.filter(store=store),
            HelpVote.objects.filter(article__store=store),
        ):
            queryset._raw_delete(queryset.db)
        HelpArticle.objects.filter(store=store).update(current_version=None)
        versions = HelpArticleVersion.objects.filter(article__store=store)
        versions._raw_delete(versions.db)
        articles = HelpArticle.objects.filter(store=store)
        articles._raw_delete(articles.db)
