"""Channels are plug-ins (issue 19): the registry finds every package in bot/channels/, the config loader,
the runner and the outbox ask it, and a channel nobody provides is an error rather than a silent default."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

import bot.channels
from bot.app import App
from bot.channels import registry
from bot.config import ConfigError, load
from bot.delivery import Outbox
from bot.events import Reply
from bot.runner import _runnable
from storage.models import OutboxMessage
from storage.repositories import Repositories

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = (ROOT / "config.toml").read_text(encoding="utf-8")

FOURTH = '''
from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from bot.channels.base import ChannelPlugin, Limits
from bot.config import Section


class Pigeon(Section):
    enabled: bool = False
    loft: str = "main"
    token: SecretStr | None = None


class PigeonPlugin(ChannelPlugin):
    name = "pigeon"
    settings_model = Pigeon
    secrets = {"token": "PIGEON_TOKEN"}
    limits = Limits(per_second=2, per_chat_interval_s=5.0, group_per_minute=3)

    def is_group_chat(self, chat_id: str) -> bool:
        return chat_id.startswith("flock-")

    def missing(self, section: Any) -> str | None:
        return None if section.token else "PIGEON_TOKEN is not set"

    def build(self, section: Any, handler: Any, runtime: Any) -> Any:
        raise NotImplementedError


PLUGIN = PigeonPlugin()
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def fourth_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A messenger that is only a package (here in a temporary directory on bot.channels' path)."""
    package = tmp_path / "channels" / "pigeon"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""Carrier pigeons."""\n', encoding="utf-8")
    (package / "plugin.py").write_text(textwrap.dedent(FOURTH), encoding="utf-8")
    monkeypatch.setattr(bot.channels, "__path__", [*bot.channels.__path__, str(tmp_path / "channels")])
    registry._plugins.cache_clear()
    yield
    registry._plugins.cache_clear()


def test_the_registry_knows_every_channel_package() -> None:
    assert {"console", "telegram", "vk"} <= set(registry.names())
    assert registry.limits("telegram").group_per_minute == 20
    assert registry.is_group_chat("telegram", "-100123") and not registry.is_group_chat("telegram", "42")
    assert registry.is_group_chat("vk", "2000000005") and not registry.is_group_chat("vk", "1001")
    with pytest.raises(registry.UnknownChannel, match="known: console, max, telegram, vk"):
        registry.limits("icq")


def test_a_fourth_channel_needs_only_its_package_and_its_section(fourth_channel: None, tmp_path: Path) -> None:
    text = SHIPPED + '\n[pigeon]\nenabled = true\nloft = "roof"\n'
    text = text.replace('[ministries.health]\n', '[ministries.health]\nstaff_chat = { pigeon = "flock-7" }\n', 1)
    settings = load(write(tmp_path, text), environ={"PIGEON_TOKEN": "coo"})
    section = settings.channel("pigeon")
    assert section.loft == "roof" and section.token.get_secret_value() == "coo"
    assert settings.ministries["health"].staff_chat == {"pigeon": "flock-7"}
    assert [plugin.name for plugin, _ in _runnable(settings)] == ["pigeon"]  # the runner would start it
    assert registry.limits("pigeon").per_chat_interval_s == 5.0  # and the outbox pace it
    leaked = text.replace('loft = "roof"', 'loft = "roof"\ntoken = "coo"')
    with pytest.raises(ConfigError, match=r"pigeon\.token.*PIGEON_TOKEN"):
        load(write(tmp_path, leaked), environ={})


def test_a_staff_chat_of_an_unknown_channel_stops_the_start(tmp_path: Path) -> None:
    ministry = next(line for line in SHIPPED.splitlines() if line.startswith("[ministries."))
    broken = SHIPPED.replace(f"{ministry}\n", f'{ministry}\nstaff_chat = {{ maks = "123" }}\n', 1)
    with pytest.raises(ConfigError, match="unknown channel 'maks'"):
        load(write(tmp_path, broken), environ={})


def test_a_secret_of_any_channel_in_the_file_is_refused(tmp_path: Path) -> None:
    leaked = SHIPPED.replace("[vk]\n", '[vk]\ntoken = "vk1.a.secret"\n')
    with pytest.raises(ConfigError, match=r"vk\.token.*VK_GROUP_TOKEN"):
        load(write(tmp_path, leaked), environ={})


async def test_the_outbox_refuses_a_sender_of_an_unknown_channel(app: App) -> None:
    with pytest.raises(registry.UnknownChannel):
        Outbox(app.sessionmaker, {"icq": object()}, clock=lambda: datetime.now(UTC))  # type: ignore[dict-item]


async def test_an_outbox_row_of_an_unknown_channel_is_recorded_failed_not_left_waiting(app: App) -> None:
    now = datetime.now(UTC)
    async with app.sessionmaker() as session, session.begin():
        await Repositories(session).outbox.enqueue(OutboxMessage(
            channel="icq", chat_id="1", reply=Reply("Ответ").to_dict(), dedup_key="icq:1", due_at=now, created_at=now))
    stop = asyncio.Event()
    stop.set()
    await Outbox(app.sessionmaker, {}, clock=lambda: now).run(stop)
    async with app.sessionmaker() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "icq"))
    assert row is not None and (row.status, row.last_error) == ("failed", "unknown channel")
