from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import App, build_app  # noqa: E402
from bot.config import Settings, load  # noqa: E402
from tests.utils.chat import Chat  # noqa: E402


class Clock:
    """Time the tests control: services never read the wall clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    loaded = load(ROOT / "config.toml", environ={})
    loaded.database.url = os.environ.get("TEST_DATABASE_URL_UNUSED") or f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    return loaded


@pytest.fixture
def clock() -> Clock:
    # Monday 23 November 2026, 10:00 in Moscow.
    return Clock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[App]:
    built = await build_app(settings, clock=clock)
    yield built
    await built.close()


@pytest.fixture
def citizen(app: App) -> Chat:
    return Chat(app.conversations, user_id="1001")
