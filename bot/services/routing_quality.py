"""How good the sector suggestions are: each appeal's suggestion against its final sector.

The final sector is the learned example's (storage/routing_models.py): the citizen's choice as
corrected by a redirect or the supervisors' triage, so a suggestion the citizen accepted and an
operator later redirected counts as wrong.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC

from bot.config import Settings
from storage.repositories import Repositories
from storage.routing_models import RoutingExamples


@dataclass
class Quality:
    suggested: int = 0
    sector_right: int = 0
    category_right: int = 0
    per_sector: Counter[str] = field(default_factory=Counter)
    per_sector_right: Counter[str] = field(default_factory=Counter)
    per_month: Counter[str] = field(default_factory=Counter)
    per_month_right: Counter[str] = field(default_factory=Counter)

    @property
    def sector_accuracy(self) -> float:
        return self.sector_right / self.suggested if self.suggested else 0.0

    @property
    def category_accuracy(self) -> float:
        return self.category_right / self.suggested if self.suggested else 0.0


async def measure(repo: Repositories, settings: Settings | None = None) -> Quality:
    quality = Quality()
    zone = settings.region.zone if settings is not None else UTC
    for at, suggested_sector, suggested_category, sector, category in await RoutingExamples(
            repo.session).with_suggestions():
        if suggested_sector is None:
            continue
        month = at.astimezone(zone).strftime("%Y-%m")
        quality.suggested += 1
        quality.per_sector[sector] += 1
        quality.per_month[month] += 1
        if suggested_sector == sector:
            quality.sector_right += 1
            quality.per_sector_right[sector] += 1
            quality.per_month_right[month] += 1
            if suggested_category == category:
                quality.category_right += 1
    return quality


def format_report(quality: Quality, settings: Settings) -> str:
    if not quality.suggested:
        return "no appeal has a suggestion yet (citizens who describe the problem in words get one)"
    lines = [f"appeals with a suggestion: {quality.suggested}",
             f"sector right:   {quality.sector_accuracy:.3f}",
             f"category right: {quality.category_accuracy:.3f}",
             "by month of registration (sector right / all):"]
    for month in sorted(quality.per_month):
        total, right = quality.per_month[month], quality.per_month_right[month]
        lines.append(f"  {month}  {right}/{total}  {right / total:.3f}")
    lines.append("per final sector (right / all):")
    for sector_id, total in sorted(quality.per_sector.items()):
        name = settings.sectors[sector_id].name if sector_id in settings.sectors else sector_id
        lines.append(f"  {name:<30} {quality.per_sector_right[sector_id]}/{total}")
    return "\n".join(lines)
