"""Asking a citizen to rate an answer: the score buttons and the texts that carry them."""

from __future__ import annotations

from bot.events import Button, Reply
from bot.payloads import make
from bot.presenters.names import Names
from bot.services.ratings import SCORES
from storage.models import Appeal


def rate_row(appeal_id: int) -> list[Button]:
    """"1 ⭐" … "5 ⭐": the one row of score buttons, wherever an answer may be rated."""
    return [Button(f"{score} ⭐", make("rating.rate", appeal_id, score)) for score in SCORES]


def rate_buttons(appeal_id: int) -> list[list[Button]]:
    return [rate_row(appeal_id)]


def rate_question(names: Names, appeal: Appeal) -> Reply:
    """Sent with the answer: how would you rate it?"""
    return Reply(text=names.t("answer.rate_question", number=appeal.number), buttons=rate_buttons(appeal.id))


def rate_reminder(names: Names, appeal: Appeal) -> Reply:
    """The one polite reminder for an answer left unrated."""
    return Reply(text=names.t("rating.reminder", number=appeal.number), buttons=rate_buttons(appeal.id))
