"""Names and dates for one language: config names, statuses, the region's calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.config import TRIAGE, Settings
from bot.i18n import Translator, translator
from bot.presenters import dates


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
        return dates.day(moment, self.settings.region.zone)

    def datetime(self, moment: datetime) -> str:
        return dates.day_time(moment, self.settings.region.zone)

    def status(self, status: str) -> str:
        return self.t(f"status.{status}")
