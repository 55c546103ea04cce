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

__all__ = [
    "HelpArticle",
    "HelpArticleVersion",
    "HelpCategory",
    "HelpEvent",
    "HelpVote",
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
