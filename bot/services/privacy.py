"""Personal data under 152-ФЗ: what is stored about a person, its erasure, and the retention period.

Erasure keeps the appeals for statistics (sector, ministry, dates, status, rating) but removes
who wrote them and everything they or the ministry wrote that may name them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.services import ratings, routing_learning
from storage.models import Appeal, User
from storage.repositories import Repositories

ERASED = "[удалено]"
CLOSED = ("answered", "rated")
PERSONAL_FILES = ("appeal", "clarification")


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def export(repo: Repositories, user: User) -> dict[str, Any]:
    """Everything about one person, as a JSON-ready dict (152-ФЗ art. 14: the subject's right to know)."""
    appeals = []
    for appeal in await repo.privacy.appeals(user.id):
        await repo.appeals.load_attachments(appeal)
        appeals.append({
            "number": appeal.number, "name": appeal.citizen_name, "phone": appeal.phone,
            "sector": appeal.sector_id, "category": appeal.category_id, "ministry": appeal.ministry_id,
            "text": appeal.text, "address": appeal.address, "latitude": appeal.latitude,
            "longitude": appeal.longitude, "status": appeal.status, "registered_at": _when(appeal.registered_at),
            "deadline_at": _when(appeal.deadline_at), "answered_at": _when(appeal.answered_at),
            "answer": appeal.answer_text,
            "files": [{"kind": a.kind, "name": a.name, "source": a.source} for a in appeal.attachments],
            "history": [{"at": _when(e.at), "what": e.kind, "reason": e.reason}
                        for e in await repo.appeals.events(appeal.id)],
            "routing_example": await routing_learning.export_appeal(repo.session, appeal.id),
        })
    conversations = [{"state": c.state, "data": c.data}
                     for c in await repo.privacy.conversations(user.channel, user.chat_id)]
    return {
        "user": {"channel": user.channel, "platform_id": user.platform_id, "language": user.language,
                 "display_name": user.display_name, "role": user.role, "created_at": _when(user.created_at)},
        "consents": [{"accepted": c.accepted, "operator": c.operator_name, "at": _when(c.at)}
                     for c in await repo.privacy.consents(user.id)],
        "appeals": appeals,
        "conversations": conversations,
    }


async def anonymise(repo: Repositories, appeal: Appeal) -> None:
    appeal.citizen_name = None
    appeal.phone = None
    appeal.address = None
    appeal.latitude = appeal.longitude = None
    appeal.text = ERASED
    if appeal.answer_text is not None:
        appeal.answer_text = ERASED
    await repo.privacy.drop_files(appeal.id, PERSONAL_FILES)
    await routing_learning.forget_appeal(repo.session, appeal.id)  # the classifier's copy of the text
    await ratings.erase_comments(repo, appeal.id)  # a rating's comment is the citizen's own words
    for event in await repo.appeals.events(appeal.id):
        if event.reason and event.actor_id == appeal.citizen_id:
            event.reason = ERASED


async def erase(repo: Repositories, user: User) -> int:
    """Erase a person: their appeals stay, anonymised; the account no longer links to them. Returns appeals."""
    appeals = await repo.privacy.appeals(user.id)
    for appeal in appeals:
        await anonymise(repo, appeal)
    for conversation in await repo.privacy.conversations(user.channel, user.chat_id):
        conversation.state, conversation.data = "", {}
    await repo.privacy.drop_pending_messages(user.channel, user.chat_id)
    user.display_name = None
    user.consent_given = False
    # Writing again later makes a new, empty account: the platform id itself is personal data.
    user.platform_id = user.chat_id = f"erased-{user.id}"
    return len(appeals)


async def apply_retention(repo: Repositories, settings: Settings, now: datetime, batch: int = 500) -> int:
    """Closed appeals older than the retention period lose their personal data (152-ФЗ art. 5 p. 7)."""
    before = now - timedelta(days=settings.privacy.retention_days)
    expired = await repo.privacy.expired_closed(CLOSED, before, batch)
    for appeal in expired:
        await anonymise(repo, appeal)
    return len(expired)
