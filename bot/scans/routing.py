"""Retraining the routing classifier on the region's learned examples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.scans import SessionScan
from bot.services import routing_learning
from bot.services.calendar import ProductionCalendar


def retrain(extras: dict[str, Any]) -> SessionScan:
    """The scan for one instance's classifier (kept in ``extras``): each instance retrains its own model in
    memory (the training itself is cached on disk by content: the second instance only loads the file)."""

    async def scan_retrain(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                           calendar: ProductionCalendar, now: datetime) -> int:
        return int(await routing_learning.retrain(extras, sessionmaker, settings))

    return scan_retrain
