"""SQLAlchemy 2 typed models, all of them: ``Base.metadata`` here is complete (Alembic's env.py reads it).

The models live in modules that import storage/base.py and never this registry: storage/core_models.py
(people, dialogs, appeals, the outbox), expert_models, rating_models, routing_models, cursor_models.
Every name importable from here before the split still is.
"""

from __future__ import annotations

from storage import cursor_models, expert_models, rating_models, routing_models
from storage.base import NAMING, Base, UTCDateTime, utcnow
from storage.core_models import (
    Appeal,
    AppealAttachment,
    AppealCounter,
    AppealEvent,
    Consent,
    Conversation,
    Invite,
    OutboxMessage,
    ProcessedUpdate,
    ReportRequest,
    SentNotice,
    User,
)

__all__ = [
    "NAMING",
    "Appeal",
    "AppealAttachment",
    "AppealCounter",
    "AppealEvent",
    "Base",
    "Consent",
    "Conversation",
    "Invite",
    "OutboxMessage",
    "ProcessedUpdate",
    "ReportRequest",
    "SentNotice",
    "UTCDateTime",
    "User",
    "cursor_models",
    "expert_models",
    "rating_models",
    "routing_models",
    "utcnow",
]
