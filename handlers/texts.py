"""Names and formats shown to users, in their language: config names, dates, statuses."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from handlers.context import Context

if TYPE_CHECKING:
    from handlers.router import Router


def router(ctx: Context) -> Router:
    return ctx.extras["router"]


def _pick(ctx: Context, ru: str, en: str) -> str:
    return en if ctx.user.language == "en" and en else ru


def region_name(ctx: Context) -> str:
    region = ctx.settings.region
    return _pick(ctx, region.name, region.name_en)


def operator_name(ctx: Context) -> str:
    region = ctx.settings.region
    return _pick(ctx, region.operator_name, region.operator_name_en)


def sector_name(ctx: Context, sector_id: str | None) -> str:
    sector = ctx.settings.sectors.get(sector_id or "")
    return _pick(ctx, sector.name, sector.name_en) if sector else "—"


def category_name(ctx: Context, sector_id: str | None, category_id: str | None) -> str:
    sector = ctx.settings.sectors.get(sector_id or "")
    category = sector.category(category_id or "") if sector else None
    return _pick(ctx, category.name, category.name_en) if category else "—"


def ministry_name(ctx: Context, ministry_id: str) -> str:
    ministry = ctx.settings.ministries.get(ministry_id)
    return _pick(ctx, ministry.name, ministry.name_en) if ministry else ministry_id


def local_date(ctx: Context, moment: datetime) -> str:
    return moment.astimezone(ctx.settings.region.zone).strftime("%d.%m.%Y")


def local_datetime(ctx: Context, moment: datetime) -> str:
    return moment.astimezone(ctx.settings.region.zone).strftime("%d.%m.%Y %H:%M")


def status_name(ctx: Context, status: str) -> str:
    return ctx.t(f"status.{status}")
