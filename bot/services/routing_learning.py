"""The region teaches the classifier: learned examples kept beside the appeals, retraining, import.

Every registered appeal is a labelled example: the citizen's choice at registration, corrected
when an operator redirects it to another ministry or a supervisor triages the catch-all. The
example lives in `routing_examples` next to its appeal (never in a file) and is erased with the
appeal's personal data: `forget_appeal` is privacy's hook.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import TRIAGE, Settings
from bot.services import classifier as routing
from bot.services.classifier import Classifier, LabelledText
from storage.models import Appeal
from storage.repositories import Repositories
from storage.routing_models import RoutingExample, RoutingExamples

log = logging.getLogger(__name__)


async def record(repo: Repositories, appeal: Appeal, now: datetime, source: str = "citizen") -> None:
    """The appeal's current sector and category become (or replace) its learned example."""
    examples = RoutingExamples(repo.session)
    example = await examples.of_appeal(appeal.id)
    if example is None:
        await examples.add(RoutingExample(appeal_id=appeal.id, text=appeal.text or "", sector_id=appeal.sector_id,
                                          category_id=appeal.category_id, source=source, at=now))
        return
    example.sector_id, example.category_id, example.source, example.at = (
        appeal.sector_id, appeal.category_id, source, now)


def sector_of_ministry(settings: Settings, appeal: Appeal, ministry_id: str,
                       classifier: Classifier | None) -> tuple[str, str]:
    """Where a redirect to this ministry puts the appeal: the ministry's sector most likely for the text.

    A ministry may serve several sectors (ЖКХ and Энергетика): the classifier picks among them; the
    category is its best guess there, or the sector's "other" when it has no opinion.
    """
    if ministry_id == TRIAGE:
        choices = [s for s, sector in settings.sectors.items() if sector.triage]
    else:
        choices = [s for s, sector in settings.sectors.items() if sector.ministry == ministry_id]
    if not choices:
        return appeal.sector_id, appeal.category_id
    if appeal.sector_id in choices:
        return appeal.sector_id, appeal.category_id
    sector_id = choices[0]
    category_id = ""
    if classifier is not None and len(choices) > 1:
        ranked = classifier.suggest(appeal.text or "", top=len(settings.sectors))
        best = next((s for s in ranked if s.sector_id in choices), None)
        if best is not None:
            sector_id = best.sector_id
            category_id = best.category_id if ranked[0].sector_id == best.sector_id else ""
    if classifier is not None and not category_id:
        category_id = classifier.category_within(appeal.text or "", sector_id)
    sector = settings.sectors[sector_id]
    if sector.category(category_id) is None:
        category_id = "other" if sector.category("other") else sector.categories[0].id
    return sector_id, category_id


async def correct_by_redirect(repo: Repositories, settings: Settings, appeal: Appeal, classifier: Classifier | None,
                              now: datetime) -> None:
    """A redirect says the first sector was wrong: the appeal and its example move to the new ministry's
    (called before anything else moves the appeal's sector: a catch-all's appeal is learned as a triage)."""
    before = settings.sectors.get(appeal.sector_id)
    came_from_triage = before is not None and before.triage
    appeal.sector_id, appeal.category_id = sector_of_ministry(settings, appeal, appeal.ministry_id, classifier)
    await record(repo, appeal, now, "triage" if came_from_triage else "redirect")


async def forget_appeal(session: AsyncSession, appeal_id: int) -> int:
    """Privacy's hook: the appeal's learned example (its text is the citizen's words) is deleted."""
    return await RoutingExamples(session).drop_of_appeal(appeal_id)


async def export_appeal(session: AsyncSession, appeal_id: int) -> dict[str, Any] | None:
    """Privacy's export: what the classifier learned from this appeal."""
    example = await RoutingExamples(session).of_appeal(appeal_id)
    if example is None:
        return None
    return {"text": example.text, "sector": example.sector_id, "category": example.category_id,
            "source": example.source}


async def import_csv(repo: Repositories, settings: Settings, csv_path: Path, now: datetime) -> int:
    """A region's archive (CSV text,sector,category) joins the learned examples; known rows are skipped."""
    rows = routing.read_labelled_csv(settings, csv_path)
    examples = RoutingExamples(repo.session)
    seen = await examples.imported_keys()
    added = 0
    for row in rows:
        key = (row.text, row.sector_id, row.category_id)
        if key in seen:
            continue
        seen.add(key)
        await examples.add(RoutingExample(appeal_id=None, text=row.text, sector_id=row.sector_id,
                                          category_id=row.category_id, source="import", at=now))
        added += 1
    return added


async def learned(session: AsyncSession) -> list[LabelledText]:
    return [LabelledText(e.text, e.sector_id, e.category_id) for e in await RoutingExamples(session).all()
            if e.text.strip()]


async def knowledge(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> list[LabelledText]:
    async with sessionmaker() as session:
        examples = await learned(session)
    return routing.read_knowledge(settings, Path(settings.routing.knowledge), examples)


async def retrain(current: Classifier | None, sessionmaker: async_sessionmaker[AsyncSession],
                  settings: Settings) -> Classifier | None:
    """Train on everything known now (in a child process): the bot's new classifier; None if unchanged."""
    everything = await knowledge(sessionmaker, settings)
    if current is not None and current.key == routing.model_key(settings, everything):
        return None
    fresh = await routing.obtain(settings, everything)
    log.info("routing model retrained on %d examples", len(everything))
    return fresh
