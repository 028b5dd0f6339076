"""A ministry or a sector by the name people use, an appeal by whatever part of its number a person remembers."""

from __future__ import annotations

import re

from bot.services import appeals
from handlers.context import Context
from storage.models import Appeal

NUMBER_RE = re.compile(r"^(?:№\s*)?(?:[^\W\d_]{2,8}\s*-\s*)?(?:(\d{4})\s*-\s*)?0*(\d{1,9})$")


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def find_scope(ctx: Context, text: str) -> list[tuple[str, str]]:
    """("ministry" | "sector", id) named by ``text``: an exact name, id or alias first, else a part of a name."""
    wanted = _fold(text)
    known: list[tuple[str, str, list[str]]] = []
    for ministry_id, ministry in ctx.settings.ministries.items():
        known.append(("ministry", ministry_id, [ministry_id, ministry.name, ministry.name_en, *ministry.aliases]))
    for sector_id, sector in ctx.settings.sectors.items():
        known.append(("sector", sector_id, [sector_id, sector.name, sector.name_en]))
    found = [(kind, key) for kind, key, names in known if wanted in {_fold(n) for n in names if n}]
    if not found and len(wanted) >= 3:
        found = [(kind, key) for kind, key, names in known if any(wanted in _fold(n) for n in names if n)]
    # "health" is both a ministry and its sector: the ministry, which holds the sector, is meant.
    ministries = {key for kind, key in found if kind == "ministry"}
    return [(kind, key) for kind, key in found
            if kind == "ministry" or ctx.settings.sectors[key].ministry not in ministries]


def parse_number(text: str) -> tuple[int | None, int] | None:
    """(year or None, sequence number) of a typed appeal number, or None when it is not one."""
    match = NUMBER_RE.match(text.strip())
    if match is None:
        return None
    year, seq = match.group(1), int(match.group(2))
    return (int(year) if year else None, seq) if seq > 0 else None


async def find_appeal(ctx: Context, text: str) -> Appeal | None:
    """The appeal a typed number names; a number without a year is this year's, else the latest such."""
    parsed = parse_number(text)
    if parsed is None:
        return None
    year, seq = parsed
    return await appeals.by_typed_number(ctx.repo, seq, year, ctx.now.astimezone(ctx.settings.region.zone).year)
