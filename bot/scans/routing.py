"""Retraining the routing classifier on the region's learned examples."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.deps import Deps
from bot.scans import SessionScan
from bot.services import routing_learning
from bot.services.calendar import ProductionCalendar


def retrain(deps: Deps) -> SessionScan:
    """The scan for one instance's classifier (kept in ``deps``, shared with the conversations): each instance
    retrains its own model in memory (the training itself is cached on disk by content: the second instance
    only loads the file)."""

    async def scan_retrain(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                           calendar: ProductionCalendar, now: datetime) -> int:
        fresh = await routing_learning.retrain(deps.classifier, sessionmaker, settings)
        if fresh is not None:
            deps.classifier = fresh  # the next update uses it
        return int(fresh is not None)

    return scan_retrain
