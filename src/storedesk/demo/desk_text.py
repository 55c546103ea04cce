"""What the demo store's customers write to the care team, per situation (C3), in US English.

Written for this product: each situation has subjects, first messages and follow-ups with
`{placeholders}` the demo fills from the customer's real order (see demo.desk_scenarios).
`{order}` is the order number, or words like "my order" when the customer leaves it out.
Agent answers come from the reply templates (desk/default_templates), as in the real desk.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Situation:
    key: str  # also the ticket's tag
    template: str  # the reply template an agent answers with
    team: str  # care / payments / fulfillment
    priority: int
    subjects: tuple[str, ...]
    openers: tuple[str, ...]
    follow_ups: tuple[str, ...] = ()
    needs_order: bool = True
    chat_openers: tuple[str, ...] = field(default=())


SIGN_OFFS = (
    "Thanks,\n{first}",
    "Thank you!\n{first}",
    "Thanks so much,\n{first} {last}",
    "Best,\n{first}",
    "{first}",
    "Regards,\n{first} {last}",
    "Sent from my iPhone",
    "Thanks in advance\n{first}",
)
GREETINGS = ("Hi,", "Hello,", "Hi there,", "Hello Tiny Pearl team,", "Hi!", "", "Good morning,")
# Extra lines that make some messages longer, as real ones are.
ASIDES = (
    "I ordered this as a gift so the timing really matters to me.",
    "This is my second order with you and the first one was perfect.",
    "I tried calling but couldn't find a phone number on the website.",
    "I already checked with my neighbors and the front desk of my building.",
    "My daughter's birthday is next weekend, that's why I'm asking.",
    "I found you through Instagram and was really excited about this piece.",
    "Please let me know as soon as you can.",
    "I'm usually at work during the day so email is best.",
    "Not trying to be difficult, I just want to know what's going on.",
    "My email is the same one I used for the order.",
)
THANKS_FOLLOW_UPS = (
    "Thank you so much for the quick answer!",
    "Perfect, thanks for your help.",
    "Got it, thank you. Have a great day!",
    "ok thanks",
    "That works for me, thank you {agent}.",
    "Thanks, I appreciate it. I'll wait and see then.",
)
ANGRY_FOLLOW_UPS = (
    "I've been waiting for days and nobody is telling me anything useful. If this isn't "
    "resolved by Friday I'm leaving a 1-star review everywhere I can.",
    "This is ridiculous. I paid {total} and I have nothing to show for it. I will dispute the "
    "charge with my bank if I don't get a refund this week.",
    "I already wrote to you TWICE. Is anyone actually reading these emails??",
    "Honestly very disappointed. I expected a lot better from a jewelry store.",
)
CLOSED_AGAIN = (
    "Hi, I'm writing again about {order}. The problem is back and I'm not happy about it.",
    "Hello, following up on my earlier ticket about {order}, it still isn't sorted out.",
)

S = Situation
SITUATIONS: tuple[Situation, ...] = (
    S(
        "where-is-my-order",
        "Where is my order: on its way",
        "care",
        2,
        (
            "Where is my order?",
            "Order status",
            "{order} status?",
            "When will my order arrive",
            "Has my order shipped?",
            "shipping question",
            "Checking on my order",
        ),
        (
            "I placed an order {days} days ago ({order}) and I haven't received any shipping "
            "update yet. Can you tell me when it will arrive?",
            "Just wondering where my order is. I ordered the {item} on {date}.",
            "Hi can u tell me when {order} will ship? thx",
            "Could you please give me an update on {order}? The tracking link in my confirmation "
            "email doesn't show much and I'd like to know when to expect it.",
            "I ordered the {item} last week and was hoping to have it by {weekday}. Is that "
            "still realistic?",
        ),
        ("It still hasn't arrived. Could you check with {carrier}?",),
        chat_openers=(
            "hi, where is my order?",
            "hello can you check my order status",
            "Hi! Wondering when my {item} ships",
        ),
    ),
    S(
        "tracking-not-updating",
        "Tracking not updating",
        "fulfillment",
        2,
        (
            "Tracking hasn't updated",
            "Tracking stuck",
            "{carrier} tracking not moving",
            "Is my package lost?",
            "No tracking updates for a week",
        ),
        (
            "The tracking for {order} ({tracking}) hasn't updated since {last_scan}. The last "
            'scan says "{last_event}". Is it stuck somewhere?',
            "my tracking number {tracking} has said the same thing for over a week. whats going "
            "on?",
            "Hello, the {carrier} tracking for my order shows it arrived in the US but then "
            "nothing. Is it held in customs? Do I need to do anything?",
        ),
        ("Tracking still shows the same scan. Should I be worried?",),
    ),
    S(
        "not-received",
        "Not received: late parcel",
        "fulfillment",
        3,
        (
            "Order never arrived",
            "Still haven't received my order",
            "Package not received",
            "Where is my package??",
            "{order} not received",
        ),
        (
            "I ordered the {item} on {date} and it still hasn't arrived. The estimated delivery "
            "was {eta}. Tracking {tracking} hasn't moved in ages.",
            "It's been over {weeks} weeks and I still don't have my order {order}. I need either "
            "the necklace or my money back.",
            "Hi, my order hasnt arrived yet and its way past the delivery date. can you help?",
        ),
        ("Any news from {carrier}? It's been another week.",),
    ),
    S(
        "delivered-not-received",
        "Delivered but not received",
        "fulfillment",
        3,
        (
            "Says delivered but I never got it",
            "Package marked delivered - not here",
            "Delivered to wrong address?",
            "Missing package {order}",
        ),
        (
            "Tracking says my order was delivered on {delivered} ({location}) but there was "
            "nothing there. I checked with my neighbors and the building office.",
            "{carrier} says delivered, but I never received it. Order {order}. What do I do now?",
            "My package shows delivered yesterday but it is NOT here. I've looked everywhere. "
            "This was a gift and I'm really upset.",
        ),
        ("Still nothing. My neighbors haven't seen it either.",),
    ),
    S(
        "wrong-item",
        "Wrong item received",
        "fulfillment",
        2,
        (
            "Wrong item in my package",
            "I got the wrong item",
            "Received wrong product",
            "Order mix-up",
        ),
        (
            "I ordered the {item} but the box had a different piece in it, a silver hoop "
            "instead. Can you send the right one?",
            "Opened my package today and it's not what I ordered. I ordered {item}. Attached "
            "is what came.",
            "wrong item!! ordered {item}, got something totally different",
        ),
        ("Do I need to send the wrong one back first?",),
    ),
    S(
        "wrong-size",
        "Wrong size: free ring size exchange",
        "care",
        2,
        (
            "Ring doesn't fit",
            "Need a different size",
            "Size exchange",
            "Ring too small",
            "Exchange for size {size_up}",
        ),
        (
            "The {item} is beautiful but it's too small, I can't get it past my knuckle. Can I "
            "exchange it for a size {size_up}?",
            "Hi, I ordered a size {size} and it's too big, it spins around my finger. How do I "
            "exchange it?",
            "Ring is a little tight. Is it possible to swap it for a half size up?",
        ),
        (
            "I've sent it back, here's the tracking from the post office: 9405 5112 0000 "
            "1234 5678 90",
        ),
    ),
    S(
        "damaged",
        "Damaged item",
        "fulfillment",
        3,
        (
            "Item arrived broken",
            "Damaged necklace",
            "The clasp is broken",
            "Stone fell out",
            "Damaged on arrival",
        ),
        (
            "My {item} arrived today and the clasp is broken. I haven't even worn it yet.",
            "One of the stones is missing from the {item}, it was like that when I opened the "
            "box. Photo attached.",
            "The chain was tangled and snapped when I tried to untangle it, really gently. Very "
            "disappointed.",
        ),
        ("Sent the photos. Let me know if you need anything else.",),
    ),
    S(
        "return-exchange",
        "Return instructions",
        "care",
        1,
        (
            "Return request",
            "How do I return an item?",
            "Exchange question",
            "Want to return {order}",
        ),
        (
            "I'd like to return the {item}, it just isn't my style. What's the process?",
            "Hi, can I exchange the {item} for the gold version instead of silver?",
            "how do returns work? do i pay for shipping back?",
        ),
        ("Thanks. Do I need the original box?",),
    ),
    S(
        "refund-request",
        "Refund confirmation",
        "payments",
        2,
        (
            "Refund request",
            "Where is my refund?",
            "Refund for {order}",
            "Haven't received my refund",
        ),
        (
            "I returned the {item} two weeks ago and still haven't seen the refund on my card. "
            "Can you check?",
            "I'd like a refund for {order} please. It's not what I expected.",
            "When will I get my refund? It has been 10 days.",
        ),
        ("Still don't see it on my statement.",),
    ),
    S(
        "cancel-change",
        "Cancellation confirmed",
        "care",
        3,
        (
            "Cancel my order",
            "Please cancel {order}",
            "Change shipping address",
            "URGENT cancel order",
            "Order change",
        ),
        (
            "Please cancel order {order}, I ordered the wrong one by mistake.",
            "Can I still change the shipping address on {order}? I'm moving next week.",
            "I just placed an order and would like to cancel it, I found out my sister already "
            "bought me the same necklace lol",
            "pls cancel my order, placed it twice by accident",
        ),
        ("Did you get my message? I need this cancelled today.",),
        chat_openers=("hi i need to cancel my order asap", "Can I change my address?"),
    ),
    S(
        "payment-problem",
        "Payment verification needed",
        "payments",
        2,
        (
            "Payment declined",
            "Card keeps getting declined",
            "Charged twice?",
            "Problem with checkout",
            "Payment issue",
        ),
        (
            "I tried to check out three times and my card was declined every time, but my bank "
            "says there's no problem on their side. What's happening?",
            "It looks like I was charged twice for {order}. I see two pending charges of {total}.",
            "Checkout says payment failed but I got a notification from my bank. Did it go "
            "through or not?",
        ),
        ("I tried PayPal instead and it worked, can you cancel the pending one?",),
        chat_openers=("my card got declined, can you help?",),
    ),
    S(
        "unrecognized-charge",
        "I don't recognize this charge",
        "payments",
        3,
        (
            "Unknown charge on my card",
            "What is this charge?",
            "I didn't make this purchase",
            "Charge from TINYPEARL on my statement",
        ),
        (
            "There's a charge of {total} from TINYPEARL*JEWELRY on my credit card statement "
            "and I don't recognize it. What is this for?",
            "I don't remember buying anything from you. Can you tell me what this {total} "
            "charge is?",
            "Someone used my card on your site. I did not place this order. I want it "
            "cancelled and refunded.",
        ),
        ("Oh, I think my husband ordered it as a surprise. Sorry for the trouble!",),
    ),
    S(
        "discount-price",
        "Unhappy customer: apology and fix",
        "care",
        1,
        (
            "Discount code didn't work",
            "Price adjustment?",
            "Promo code question",
            "Coupon not applied",
        ),
        (
            "I used the code WELCOME10 but the discount wasn't applied to {order}. Can you "
            "refund the difference?",
            "I bought the {item} last week and now it's on sale for less. Do you do price "
            "adjustments?",
            "Is there a discount for a second purchase? I'd like to buy the matching earrings.",
        ),
        ("Thanks! I'll use it on my next order.",),
        chat_openers=("do you have any discount codes?",),
    ),
    S(
        "product-question",
        "Product care",
        "care",
        1,
        (
            "Question about a product",
            "Is this real gold?",
            "Care instructions",
            "Can I shower with this?",
            "Sizing question",
            "Hypoallergenic?",
        ),
        (
            "Is the {item} solid gold or gold plated? I have sensitive skin and nickel makes me "
            "break out.",
            "Can I wear the {item} in the shower or the pool? I don't want it to tarnish.",
            "How do I clean my pearl earrings? They look a bit dull.",
            "What size should I order? I'm usually a 6 in rings but between sizes.",
            "how long is the chain on the {item}?",
        ),
        ("Great, that helps. Going to order today!",),
        needs_order=False,
        chat_openers=(
            "Is the chain adjustable?",
            "do you ship to Alaska?",
            "what ring size is most common?",
        ),
    ),
    S(
        "warranty",
        "Warranty claim",
        "care",
        2,
        (
            "Warranty claim",
            "Ring tarnished after a few months",
            "Broken after 3 months",
            "Is this covered by warranty?",
        ),
        (
            "I bought the {item} a few months ago and the plating is already wearing off. Is "
            "this covered by your warranty?",
            "The chain on my necklace broke after {weeks} weeks of normal wear. I'd like to use "
            "the warranty.",
            "One of the prongs came loose and the stone is wobbly. Can you repair it?",
        ),
        ("Photos attached. The receipt is for {order}.",),
    ),
    S(
        "compliment",
        "Product care",
        "care",
        1,
        ("Thank you!", "Love my necklace", "Just wanted to say thanks", "Beautiful packaging"),
        (
            "Just wanted to say the {item} is gorgeous and the packaging was so pretty. My mom "
            "cried when she opened it. Thank you!",
            "Received my order today, it's even prettier in person. I'll definitely be back.",
            "thank you for the handwritten note in the box, that was such a sweet touch",
        ),
        needs_order=False,
    ),
    S(
        "bad-review-threat",
        "Bad review or chargeback threat",
        "care",
        4,
        (
            "Terrible service",
            "Worst experience ever",
            "Going to leave a review",
            "Extremely disappointed",
            "Last chance before I post a review",
        ),
        (
            "This is unacceptable. I have emailed about {order} and gotten nowhere. If I don't "
            "hear back today I am leaving a 1-star review on Google, Trustpilot and Instagram.",
            "Your company is a SCAM. I paid {total} and got nothing. Everyone is going to know "
            "about this.",
            "I've been a loyal customer but this experience has been terrible. Fix this or I'll "
            "make sure people know.",
        ),
        ("OK. I appreciate you fixing it. I won't post the review.",),
    ),
    S(
        "chargeback-threat",
        "Bad review or chargeback threat",
        "payments",
        4,
        (
            "Disputing this charge",
            "I will file a chargeback",
            "Contacting my bank",
            "Refund or chargeback",
        ),
        (
            "If I don't get a full refund of {total} for {order} by the end of the week I'm "
            "calling my bank to dispute the charge.",
            "I'm filing a chargeback with my credit card company. You've had plenty of time to "
            "fix this.",
            "My bank says I should dispute this. Last chance to refund me before I do.",
        ),
        ("I already opened a dispute with my bank.",),
    ),
)
BY_KEY = {situation.key: situation for situation in SITUATIONS}

# Common typing slips: applied to some messages, since real customers type on phones.
TYPOS = (
    ("received", "recieved"),
    ("definitely", "definately"),
    ("tomorrow", "tommorow"),
    ("necklace", "neckalce"),
    ("because", "becuase"),
    ("the ", "teh "),
    ("I'm", "im"),
    ("don't", "dont"),
    ("It's", "its"),
    ("know", "konw"),
)
