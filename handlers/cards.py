"""Appeal cards for the ministry: one message per recipient, edited in place as the appeal moves.

Who gets a card is ``bot.services.recipients``; how it reads is ``bot.presenters.cards``; both names
stay importable from here for the handlers.
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.presenters.cards import CARD_TEXT_PREVIEW, action_buttons, appeal_files, card, card_text, short_name
from bot.presenters.names import Names
from bot.services.audience import about_appeal
from bot.services.outbox import notify
from bot.services.recipients import Recipient, recipients, responsible
from storage.models import Appeal
from storage.repositories import Repositories

__all__ = ["CARD_TEXT_PREVIEW", "Recipient", "action_buttons", "appeal_files", "card_text", "publish_card",
           "recipients", "responsible", "short_name"]


async def publish_card(repo: Repositories, settings: Settings, appeal: Appeal, now: datetime, *,
                       ministry_id: str | None = None, redirected_to: str | None = None,
                       with_files: bool = False, fresh: bool = False) -> None:
    """Queue the card's current version to every recipient of the ministry; later versions edit it.

    ``fresh``: a new message rather than an edit of one far up the chat (an appeal handed back)."""
    await repo.appeals.load_attachments(appeal)
    version = len(await repo.appeals.events(appeal.id))
    assignee = short_name(await repo.users.get(appeal.assignee_id)) if appeal.assignee_id is not None else None
    target = ministry_id or appeal.ministry_id
    for recipient in await recipients(repo, settings, target):
        reply = card(Names(settings, recipient.language), appeal, assignee, redirected_to=redirected_to,
                     with_files=with_files)
        await notify(repo, recipient.channel, recipient.chat_id, reply, now=now,
                     dedup_key=f"card:{appeal.id}:{version}:{recipient.channel}:{recipient.chat_id}",
                     card_key=f"card:{appeal.id}", audience=about_appeal(appeal.id, target), fresh=fresh)
