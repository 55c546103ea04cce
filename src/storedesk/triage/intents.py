"""The intents a customer message can carry (C2/C3). Names are stable ids used as labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Intent(models.TextChoices):
    ORDER_STATUS = "order_status", _("Order status / where is my order")
    TRACKING_STALLED = "tracking_stalled", _("Tracking not updating")
    NOT_RECEIVED = "not_received", _("Not received")
    DELIVERED_NOT_RECEIVED = "delivered_not_received", _("Delivered but not received")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    WRONG_SIZE = "wrong_size", _("Wrong size or fit")
    DAMAGED = "damaged", _("Damaged or quality problem")
    RETURN_EXCHANGE = "return_exchange", _("Return or exchange")
    REFUND_REQUEST = "refund_request", _("Refund request")
    CANCEL_CHANGE = "cancel_change", _("Cancel or change order")
    PAYMENT_PROBLEM = "payment_problem", _("Payment or charge problem")
    DISCOUNT_PRICE = "discount_price", _("Discount or price question")
    PRODUCT_QUESTION = "product_question", _("Product question")
    WARRANTY = "warranty", _("Warranty")
    COMPLIMENT = "compliment", _("Compliment")
    OTHER = "other", _("Other")


class Threat(models.TextChoices):
    CHARGEBACK = "chargeback", _("Chargeback or bank dispute")
    BAD_REVIEW = "bad_review", _("Bad review or social media")
    LEGAL = "legal", _("BBB or lawyer")
    NEVER_AGAIN = "never_again", _("Never buying again")


class Mood(models.TextChoices):
    CALM = "calm", _("Calm")
    FRUSTRATED = "frustrated", _("Frustrated")
    ANGRY = "angry", _("Angry")
