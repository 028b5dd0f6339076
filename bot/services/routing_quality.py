"""How good the sector suggestions are: each appeal keeps the suggestion next to the final choice."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.config import Settings
from storage.repositories import Repositories


@dataclass
class Quality:
    suggested: int = 0
    sector_right: int = 0
    category_right: int = 0
    per_sector: Counter[str] = field(default_factory=Counter)
    per_sector_right: Counter[str] = field(default_factory=Counter)

    @property
    def sector_accuracy(self) -> float:
        return self.sector_right / self.suggested if self.suggested else 0.0

    @property
    def category_accuracy(self) -> float:
        return self.category_right / self.suggested if self.suggested else 0.0


async def measure(repo: Repositories) -> Quality:
    quality = Quality()
    for suggested_sector, suggested_category, sector, category, count in await repo.appeals.routing_pairs():
        quality.suggested += count
        quality.per_sector[sector] += count
        if suggested_sector == sector:
            quality.sector_right += count
            quality.per_sector_right[sector] += count
            if suggested_category == category:
                quality.category_right += count
    return quality


def format_report(quality: Quality, settings: Settings) -> str:
    if not quality.suggested:
        return "no appeal has a suggestion yet (citizens who describe the problem in words get one)"
    lines = [f"appeals with a suggestion: {quality.suggested}",
             f"sector right:   {quality.sector_accuracy:.3f}",
             f"category right: {quality.category_accuracy:.3f}",
             "per final sector (right / all):"]
    for sector_id, total in sorted(quality.per_sector.items()):
        name = settings.sectors[sector_id].name if sector_id in settings.sectors else sector_id
        lines.append(f"  {name:<20} {quality.per_sector_right[sector_id]}/{total}")
    return "\n".join(lines)
