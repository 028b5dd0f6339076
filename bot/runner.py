"""Long-running modes: the console chat and the messenger channels with the outbox sender."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from aiohttp import web

from bot.app import App, build_app
from bot.channels.console import ConsoleChannel
from bot.config import Settings
from bot.delivery import Outbox
from bot.events import Sender
from bot.observability import ops_app
from bot.scheduler import build_scheduler
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
        outbox = Outbox(app.sessionmaker, {"console": channel}, clock=utc_now, settings=settings)

        async def drain(chat_id: str) -> int:
            # One person at a terminal: a report asked for is built before the next prompt, and shown.
            while app.reports is not None and await app.reports.run_once(sweep=False):
                pass
            return await outbox.deliver_chat("console", chat_id)

        channel.drain_pending = drain
        await channel.run()
    finally:
        await app.close()
    return 0


async def serve_ops(app: App) -> Callable[[], Awaitable[None]]:
    """/healthz and /metrics on their own small server (also in polling mode, where no web server runs)."""
    runner = web.AppRunner(ops_app(app.metrics, app.snapshot), access_log=None)
    await runner.setup()
    ops = app.settings.ops
    await web.TCPSite(runner, ops.metrics_host, ops.metrics_port).start()
    log.info("health and metrics on http://%s:%d/healthz and /metrics", ops.metrics_host, ops.metrics_port)
    return runner.cleanup


async def run_channels(settings: Settings, config_name: str = "config.toml") -> int:
    wants_telegram = settings.telegram.enabled and settings.telegram.token is not None
    wants_vk = bool(settings.vk.enabled and settings.vk.token is not None and settings.vk.group_id)
    if not (wants_telegram or wants_vk):
        print(NO_CHANNEL.format(config=config_name), file=sys.stderr)
        return 2
    app = await build_app(settings)
    stop = asyncio.Event()
    closers: list[Callable[[], Awaitable[None]]] = []
    tasks: list[asyncio.Task[Any]] = []
    try:
        senders: dict[str, Sender] = {}
        if wants_telegram:
            from bot.channels.telegram import TelegramChannel

            telegram = TelegramChannel(settings, app.conversations)
            closers.append(telegram.close)
            senders["telegram"] = telegram
            await telegram.set_commands()
            runner = telegram.run_webhook if settings.telegram.mode == "webhook" else telegram.run_polling
            tasks.append(asyncio.create_task(runner(), name=f"telegram-{settings.telegram.mode}"))
        if wants_vk:
            from bot.channels.vk import VkChannel

            vk = VkChannel(settings, app.conversations)
            closers.append(vk.stop)
            senders["vk"] = vk
            tasks.append(asyncio.create_task(vk.run(), name=f"vk-{settings.vk.mode}"))
        outbox = Outbox(app.sessionmaker, senders, clock=utc_now, settings=settings)
        tasks.append(asyncio.create_task(outbox.run(stop), name="outbox"))
        if app.reports is not None:
            tasks.append(asyncio.create_task(app.reports.run(stop), name="reports"))
        # Everything built at start-up (aiogram's and our pydantic types, SQLAlchemy's mappers) lives
        # as long as the process: moved out of the collector's sight, a full collection no longer
        # walks it (~50 ms stalls on this size of heap, bench/load.py). aiogram's Response[...]
        # classes, which pydantic holds only weakly, are kept by bot/channels/lazy_aiogram.py.
        gc.freeze()
        scheduler = build_scheduler(app, utc_now)
        scheduler.start()
        closers.append(scheduler.shutdown)
        if settings.ops.metrics_port:
            closers.append(await serve_ops(app))
        log.info("running: %s", ", ".join(t.get_name() for t in tasks))
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for close in reversed(closers):
            try:
                await close()
            except Exception:
                log.exception("while shutting down")
        await app.close()
    return 0
