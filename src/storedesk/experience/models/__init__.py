"""The experience app's tables, one module per feature (help center, tracking, surveys, outreach).

Each module's models are re-exported here so Django finds them and callers import from
`storedesk.experience.models`.
"""

# --- surveys
from storedesk.experience.models.surveys import (  # noqa: F401
    SCORE_RANGE,
    SurveyDefinition,
    SurveyInvitation,
    SurveyKind,
    SurveyRecipient,
    SurveyResponse,
)
