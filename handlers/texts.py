"""Names and formats shown to users, in their language: config names, dates, statuses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.config import TRIAGE, Settings
from bot.i18n import Translator, translator

if TYPE_CHECKING:
    from handlers.context import Context


@dataclass(frozen=True)
class Names:
    """Config names and dates for one language: what a message to someone else needs."""

    settings: Settings
    language: str

    @property
    def t(self) -> Translator:
        return translator(self.language)

    def _pick(self, ru: str, en: str) -> str:
        return en if self.language == "en" and en else ru

    def region(self) -> str:
        return self._pick(self.settings.region.name, self.settings.region.name_en)

    def operator(self) -> str:
        return self._pick(self.settings.region.operator_name, self.settings.region.operator_name_en)

    def sector(self, sector_id: str | None) -> str:
        sector = self.settings.sectors.get(sector_id or "")
        return self._pick(sector.name, sector.name_en) if sector else "—"

    def category(self, sector_id: str | None, category_id: str | None) -> str:
        sector = self.settings.sectors.get(sector_id or "")
        category = sector.category(category_id or "") if sector else None
        return self._pick(category.name, category.name_en) if category else "—"

    def ministry(self, ministry_id: str) -> str:
        if ministry_id == TRIAGE:
            return self.t("ministry.triage")
        ministry = self.settings.ministries.get(ministry_id)
        return self._pick(ministry.name, ministry.name_en) if ministry else ministry_id

    def date(self, moment: datetime) -> str:
        return moment.astimezone(self.settings.region.zone).strftime("%d.%m.%Y")

    def datetime(self, moment: datetime) -> str:
        return moment.astimezone(self.settings.region.zone).strftime("%d.%m.%Y %H:%M")

    def status(self, status: str) -> str:
        return self.t(f"status.{status}")


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
