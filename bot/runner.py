"""Long-running modes: the console chat and the messenger channels with the outbox sender."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TextIO

from bot.app import App, build_app
from bot.channels import registry
from bot.channels.base import Channel, ChannelPlugin, Runtime
from bot.channels.console import ConsoleChannel
from bot.config import Settings
from bot.delivery import Outbox
from bot.observability import ops_app
from bot.scheduler import build_scheduler
from bot.services.cursors import DatabaseCursors
from handlers import utc_now

log = logging.getLogger(__name__)

NO_CHANNEL = """\
No messenger channel is configured to run ({config}).
{hints}
To try the bot locally without any token:  appeals-bot console
"""
# docs/deploy.md: on SIGTERM the bot exits 0 within 10 s. The channels get this long for the updates
# in flight, the outbox and the scheduler what is left.
SHUTDOWN_GRACE_S = 5.0
OUTBOX_GRACE_S = 2.0


CONSOLE_POLL_S = 1.0


async def run_console(settings: Settings, user: str, stdin: TextIO, stdout: TextIO, at: str | None = None,
                      clock: Callable[[], datetime] = utc_now) -> int:
    """The chat in a terminal, with the scheduler and this user's outbox running as under `run`.

    ``at`` pretends it is that moment (region time): a fixed clock, to try deadlines and reminders."""
    if at is not None:
        from bot.cli_scan import moment

        fixed = moment(at, settings.region.zone)
        clock = lambda: fixed  # noqa: E731

    def preparing() -> None:
        print("— first start: learning the sector suggestions once (about half a minute) —", file=stdout, flush=True)

    app = await build_app(settings, clock=clock, before_training=preparing)
    scheduler = build_scheduler(app, clock)
    stop = asyncio.Event()
    try:
        channel = ConsoleChannel(app.conversations, user, stdin, stdout)
        outbox = Outbox(app.sessionmaker, {"console": channel}, clock=clock, settings=settings)
        lock = asyncio.Lock()  # the pump and the chat never deliver the same row twice

        async def drain(chat_id: str) -> int:
            # One person at a terminal: a report asked for is built before the next prompt, and shown.
            while app.reports is not None and await app.reports.run_once(sweep=False):
                pass
            async with lock:
                return await outbox.deliver_chat("console", chat_id)

        async def pump() -> None:
            """Messages for this user appear when they are due, without waiting for the next line typed."""
            while not stop.is_set():
                async with lock:
                    await outbox.deliver_chat("console", user, due_only=True)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=CONSOLE_POLL_S)
                except TimeoutError:
                    pass

        channel.drain_pending = drain
        scheduler.start()
        pumping = asyncio.create_task(pump(), name="console-outbox")
        await channel.run()
        stop.set()
        await pumping
    finally:
        stop.set()
        await scheduler.shutdown()
        await app.close()
    return 0


async def serve_ops(app: App) -> Callable[[], Awaitable[None]]:
    """/healthz and /metrics on their own small server (also in polling mode, where no web server runs)."""
    from aiohttp import web  # here, not at the top: the console starts without it

    runner = web.AppRunner(ops_app(app.metrics, app.snapshot), access_log=None)
    await runner.setup()
    ops = app.settings.ops
    await web.TCPSite(runner, ops.metrics_host, ops.metrics_port).start()
    log.info("health and metrics on http://%s:%d/healthz and /metrics", ops.metrics_host, ops.metrics_port)
    return runner.cleanup


def _runnable(settings: Settings) -> list[tuple[ChannelPlugin, Any]]:
    chosen = []
    for plugin in registry.plugins():
        section = settings.channel(plugin.name)
        if not plugin.served or not plugin.enabled(section):
            continue
        problem = plugin.missing(section)
        if problem is not None:
            log.warning("channel %s is enabled but cannot run: %s", plugin.name, problem)
            continue
        chosen.append((plugin, section))
    return chosen


async def run_channels(settings: Settings, config_name: str = "config.toml") -> int:
    """Every enabled channel with the outbox and the scheduler, until SIGTERM / SIGINT (then exit 0)."""
    chosen = _runnable(settings)
    if not chosen:
        hints = "\n".join(f"  {plugin.name}: {plugin.setup_hint()}" for plugin in registry.plugins() if plugin.served)
        print(NO_CHANNEL.format(config=config_name, hints=hints), file=sys.stderr)
        return 2
    app = await build_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runtime = Runtime(cursors=DatabaseCursors(app.sessionmaker), metrics=app.metrics,
                      default_language=settings.region.default_language, shutdown_grace=SHUTDOWN_GRACE_S)
    channels: dict[str, Channel] = {}
    closers: list[Callable[[], Awaitable[None]]] = []
    tasks: list[asyncio.Task[Any]] = []
    outbox_task: asyncio.Task[None] | None = None
    try:
        for plugin, section in chosen:
            channel = plugin.build(section, app.conversations, runtime)
            channels[plugin.name] = channel
            tasks.append(asyncio.create_task(channel.run(), name=f"{plugin.name}-{plugin.mode(section)}"))
        outbox = Outbox(app.sessionmaker, dict(channels), clock=utc_now, settings=settings)
        outbox_task = asyncio.create_task(outbox.run(stop), name="outbox")
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
        log.info("running: %s", ", ".join(t.get_name() for t in [*tasks, outbox_task]))
        stopping = asyncio.create_task(stop.wait(), name="signal")
        done, _ = await asyncio.wait([*tasks, outbox_task, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        for task in done:
            if task is not stopping and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        log.info("stopping: no new updates; finishing those in flight")
    finally:
        stop.set()
        # The outbox first: a pass still sending after a channel closed its connection would open a new one
        # that nobody closes. Updates in flight answer through their channel, still open until it stops.
        if outbox_task is not None:
            await _finish(outbox_task, OUTBOX_GRACE_S)
        await _stop_channels(channels, tasks)
        for close in reversed(closers):
            try:
                await close()
            except Exception:
                log.exception("while shutting down")
        await app.close()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped")
    return 0


async def _stop_channels(channels: dict[str, Channel], tasks: list[asyncio.Task[Any]]) -> None:
    results = await asyncio.gather(*(channel.stop() for channel in channels.values()), return_exceptions=True)
    for name, result in zip(channels, results, strict=True):
        if isinstance(result, BaseException):
            log.error("channel %s did not stop cleanly: %r", name, result)
    for task in tasks:
        await _finish(task, 1.0)


async def _finish(task: asyncio.Task[Any], grace: float) -> None:
    if not task.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout=grace)
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
