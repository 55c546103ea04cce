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
from storedesk.experience.models.outreach import (  # noqa: F401
    Campaign,
    CampaignRecipient,
    MarketingSuppression,
    Segment,
)

__all__ = [
    "HelpArticle",
    "HelpArticleVersion",
    "HelpCategory",
    "HelpEvent",
    "HelpVote",
]
