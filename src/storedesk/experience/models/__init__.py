"""The experience app's tables, one module per feature (help center, tracking, surveys, outreach).

Each module's models are re-exported here so Django finds them and callers import from
`storedesk.experience.models`.
"""

from storedesk.experience.models.help import (
    HelpArticle,
    HelpArticleVersion,
    HelpCategory,
    HelpEvent,
    HelpVote,
)
from storedesk.experience.models.outreach import (
    Campaign,
    CampaignRecipient,
    MarketingSuppression,
    Segment,
)
from storedesk.experience.models.tracking import ShippingProblem, TrackingReport

__all__ = [
    "Campaign",
    "CampaignRecipient",
    "HelpArticle",
    "HelpArticleVersion",
    "HelpCategory",
    "HelpEvent",
    "HelpVote",
    "MarketingSuppression",
    "Segment",
    "ShippingProblem",
    "TrackingReport",
]

# --- surveys
from storedesk.experience.models.surveys import (  # noqa: F401
    SCORE_RANGE,
    SurveyDefinition,
    SurveyInvitation,
    SurveyKind,
    SurveyRecipient,
    SurveyResponse,
)
