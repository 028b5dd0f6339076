"""Names and formats shown to the user of a conversation, in their language (``Names``: bot/presenters/names.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.presenters.names import Names  # handlers name it from here too

if TYPE_CHECKING:
    from handlers.context import Context


def names(ctx: Context) -> Names:
    return Names(ctx.settings, ctx.user.language)


def region_name(ctx: Context) -> str:
    return names(ctx).region()


def operator_name(ctx: Context) -> str:
    return names(ctx).operator()


def sector_name(ctx: Context, sector_id: str | None) -> str:
    return names(ctx).sector(sector_id)


def category_name(ctx: Context, sector_id: str | None, category_id: str | None) -> str:
    return names(ctx).category(sector_id, category_id)


def ministry_name(ctx: Context, ministry_id: str) -> str:
    return names(ctx).ministry(ministry_id)


def local_date(ctx: Context, moment: datetime) -> str:
    return names(ctx).date(moment)


def local_datetime(ctx: Context, moment: datetime) -> str:
    return names(ctx).datetime(moment)


def status_name(ctx: Context, status: str) -> str:
    return names(ctx).status(status)
