"""Long-running modes: the console chat and the messenger channels with the outbox sender."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TextIO

from bot.app import build_app
from bot.channels.console import ConsoleChannel
from bot.config import Settings
from bot.delivery import Outbox
from handlers import utc_now

log = logging.getLogger(__name__)

NO_CHANNEL = """\
No messenger channel is configured to run.
  Telegram: set the TELEGRAM_BOT_TOKEN environment variable (from @BotFather) and keep
            [telegram] enabled = true in {config}.
  VK:       set VK_GROUP_TOKEN, and in {config} set [vk] enabled = true and group_id.
To try the bot locally without any token:  appeals-bot console
"""


async def run_console(settings: Settings, user: str, stdin: TextIO, stdout: TextIO) -> int:
    app = await build_app(settings)
    try:
        channel = ConsoleChannel(app.conversations, user, stdin, stdout)
        outbox = Outbox(app.sessionmaker, {"console": channel}, clock=utc_now)

        async def drain(chat_id: str) -> int:
            return await outbox.deliver_chat("console", chat_id)

        channel.drain_pending = drain
        await channel.run()
    finally:
        await app.close()
    return 0


async def run_channels(settings: Settings, config_name: str = "config.toml") -> int:
    wants_telegram = settings.telegram.enabled and settings.telegram.token is not None
    wants_vk = settings.vk.enabled and settings.vk.token is not None and settings.vk.group_id
    if not (wants_telegram or wants_vk):
        print(NO_CHANNEL.format(config=config_name), file=sys.stderr)
        return 2
    app = await build_app(settings)
    stop = asyncio.Event()
    try:
        tasks: list[asyncio.Task[object]] = []
        senders = {}
        if wants_telegram:
            from bot.channels.telegram import TelegramChannel

            telegram = TelegramChannel(settings, app.conversations)
            senders["telegram"] = telegram
            tasks.append(asyncio.create_task(telegram.run(), name="telegram"))
        if wants_vk:
            from bot.channels.vk import VkChannel

            vk = VkChannel(settings, app.conversations)
            senders["vk"] = vk
            tasks.append(asyncio.create_task(vk.run(), name="vk"))
        outbox = Outbox(app.sessionmaker, senders, clock=utc_now)
        tasks.append(asyncio.create_task(outbox.run(stop), name="outbox"))
        log.info("running: %s", ", ".join(t.get_name() for t in tasks))
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        await app.close()
    return 0
