"""Appeal cards for the ministry: one message per recipient, edited in place as the appeal moves.

Who gets a card is ``bot.services.recipients``; how it reads and how it is queued is ``bot.presenters.cards``;
the names stay importable from here for the handlers.
"""

from __future__ import annotations

from bot.presenters.cards import (
    CARD_TEXT_PREVIEW,
    action_buttons,
    appeal_files,
    card_text,
    publish_card,
    short_name,
)
from bot.services.recipients import Recipient, recipients, responsible

__all__ = ["CARD_TEXT_PREVIEW", "Recipient", "action_buttons", "appeal_files", "card_text", "publish_card",
           "recipients", "responsible", "short_name"]
