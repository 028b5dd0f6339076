"""A year's export while citizens talk: do the citizens wait for the supervisor's report?

Run from the repository root:
    python bench/export_load.py                 # 200,000 appeals in the year, 50 citizens in dialogs
    python bench/export_load.py --smoke         # small and quick
    python bench/export_load.py --appeals 500000 --citizens 100 --think 0.2,0.6

What runs. A SQLite database is migrated and seeded in SQL (bench/report.py's INSERT ... SELECT: appeals
spread over 2026 with events and ratings, no Python loop). The application is built as in production
(``build_app``): the conversations, the outbox sender and the report worker run on one event loop. The
citizens are driven like the tests' ``Chat`` (the conversations directly, no messenger): each files
whole appeals, step after step (/new, name, phone skipped, sector, category, text, files skipped,
address, Send), with a think time between steps. Meanwhile a supervisor asks ``/export год``; the reply
("preparing…") is immediate and the workbook comes through the outbox when the worker has built it.

Prints the citizens' p50/p99 handling time before the export and while it is being built (the target
is p99 < 500 ms), the time from the command to the delivered workbook, and errors (a step that did
not get the reply it expects). Exit status 1 on errors; the speed target is reported, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "bench"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import sqlite3  # noqa: E402

from report import seed  # noqa: E402  # bench/report.py

from bot.app import build_app  # noqa: E402
from bot.config import load  # noqa: E402
from bot.delivery import Outbox  # noqa: E402
from bot.events import Reply  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.utils.chat import Chat  # noqa: E402
from tests.utils.outbox import CollectingSender  # noqa: E402

TARGET_P99_S = 0.5
TEXT = "Во дворе дома 5 третий день не горят фонари, вечером темно и опасно."
NOW = datetime(2026, 12, 15, 8, 0, tzinfo=UTC)  # 11:00 in Moscow: "год" is 2026, all the seeded appeals


class Clock:
    def __call__(self) -> datetime:
        return NOW


@dataclass
class Timings:
    samples: list[tuple[float, float]] = field(default_factory=list)  # (started at, seconds)
    errors: int = 0

    def between(self, start: float, end: float) -> list[float]:
        return sorted(seconds for at, seconds in self.samples if start <= at <= end)


def megabytes(path: Path) -> float:
    return path.stat().st_size / 2**20 if path.exists() else 0.0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def citizen(chat: Chat, timings: Timings, stop: asyncio.Event, think: tuple[float, float]) -> None:
    """Whole appeals, one step after another, until told to stop."""
    steps = [("text", "/new"), ("press?", "Согласен"), ("text", "Петрова Анна"), ("press", "Пропустить"),
             ("press", "ЖКХ"), ("press", "освещение"), ("text", TEXT), ("press", "Готово"),
             ("press", "Пропустить"), ("text", "г. Энск, ул. Садовая, 5"), ("press", "Отправить")]
    rng = random.Random(chat.user_id)
    while not stop.is_set():
        for kind, value in steps:
            if stop.is_set():
                return
            await asyncio.sleep(rng.uniform(*think))
            try:
                if kind == "press?":
                    if not any(value in b.label for r in chat.replies for row in r.buttons for b in row):
                        continue
                    kind = "press"
                started = time.perf_counter()
                if kind == "text":
                    await chat.send(value)
                else:
                    payload = chat.find_button(value).payload
                    started = time.perf_counter()
                    await chat.press_payload(payload)
                timings.samples.append((started, time.perf_counter() - started))
            except AssertionError:  # not the reply expected: start the appeal again
                timings.errors += 1
                await chat.send("/cancel")
                break


@dataclass
class Inbox(CollectingSender):
    """What the outbox delivers; says when the supervisor's workbook has come."""

    workbook: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, chat_id: str, reply: Reply, *, dedup_key: str) -> str | None:
        if any(a.kind == "document" for a in reply.attachments):
            self.workbook.set()
        return await super().send(chat_id, reply, dedup_key=dedup_key)


def prepare(path: Path, appeals: int) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    started = time.perf_counter()
    upgrade(url)
    seed(path, appeals)
    with sqlite3.connect(path) as connection:  # the numbers citizens get follow the seeded ones
        connection.execute("INSERT INTO appeal_counters (year, last) VALUES (2026, ?)", (appeals,))
        connection.execute("UPDATE users SET role = 'supervisor', consent_given = 1 WHERE id = 1")
    print(f"seed: {appeals:,} appeals of 2026 with events and ratings in {time.perf_counter() - started:.1f} s")
    return url


async def run(url: str, citizens: int, think: tuple[float, float], warmup_s: float) -> int:
    settings = load(ROOT / "config.toml", environ={})
    settings.database.url = url
    settings.limits.messages_per_minute = 10_000  # the limiter is not what is measured
    settings.limits.appeals_per_day = 10_000
    app = await build_app(settings, clock=Clock(), migrate=False)
    sender = Inbox()
    outbox = Outbox(app.sessionmaker, {"console": sender}, clock=Clock())
    stop, stop_citizens = asyncio.Event(), asyncio.Event()
    assert app.reports is not None
    background = [asyncio.create_task(outbox.run(stop, idle_sleep_s=0.1)),
                  asyncio.create_task(app.reports.run(stop, idle_sleep_s=0.1))]
    timings = Timings()
    chats = [Chat(app.conversations, user_id=f"c{n}") for n in range(citizens)]
    for chat in chats:
        await chat.send("/start")
    talking = [asyncio.create_task(citizen(chat, timings, stop_citizens, think)) for chat in chats]
    try:
        begin = time.perf_counter()
        await asyncio.sleep(warmup_s)
        supervisor = Chat(app.conversations, user_id="bench")
        asked = time.perf_counter()
        await supervisor.send("/export год")
        answered = time.perf_counter() - asked
        ok = "Готовлю отчёт" in supervisor.text
        await sender.workbook.wait()
        delivered = time.perf_counter()
        wal_mb = megabytes(Path(url.removeprefix("sqlite+aiosqlite:///") + "-wal"))
        stop_citizens.set()
        await asyncio.gather(*talking)
    finally:
        stop.set()
        await asyncio.gather(*background)
        await app.close()

    before = timings.between(begin, asked)
    during = timings.between(asked, delivered)
    registered = sum("зарегистрировано" in r.text for chat in chats for r in chat.transcript)
    print(f"citizens: {citizens}, think time {think[0]}-{think[1]} s; {registered} appeals filed during the run")
    print(f"before the export: {len(before)} updates, p50 {percentile(before, 50) * 1000:.0f} ms, "
          f"p99 {percentile(before, 99) * 1000:.0f} ms")
    print(f"during the export: {len(during)} updates, p50 {percentile(during, 50) * 1000:.0f} ms, "
          f"p99 {percentile(during, 99) * 1000:.0f} ms, max {max(during, default=0) * 1000:.0f} ms "
          f"(target p99 < {TARGET_P99_S * 1000:.0f} ms)")
    workbook = [r for r in sender.inbox["bench"] if r.attachments]
    print(f"/export год: 'preparing' in {answered * 1000:.0f} ms; the workbook delivered after "
          f"{delivered - asked:.1f} s ({workbook[-1].text.splitlines()[-1] if workbook else '-'})")
    middle = (asked + delivered) / 2
    halves = [timings.between(asked, middle), timings.between(middle, delivered)]
    print("p99 in the first and second half of the export: "
          + ", ".join(f"{percentile(h, 99) * 1000:.0f} ms" for h in halves)
          + f"; SQLite write-ahead log file (its high-water mark, the seed included): {wal_mb:.0f} MB")
    print(f"load average of the machine (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")
    errors = timings.errors + (not ok)
    print(f"errors: {errors}")
    verdict = "OK" if percentile(during, 99) < TARGET_P99_S else "SLOW"
    print(f"{verdict}: citizens' p99 while the export was built: {percentile(during, 99) * 1000:.0f} ms")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=200_000)
    parser.add_argument("--citizens", type=int, default=50)
    parser.add_argument("--think", default="0.5,1.5", help="seconds between a citizen's steps: min,max")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of dialogs before the export")
    parser.add_argument("--smoke", action="store_true", help="small numbers: 3,000 appeals, 10 citizens")
    args = parser.parse_args(argv)
    if args.smoke:
        args.appeals, args.citizens, args.warmup = 3_000, 10, 2.0
    low, high = (float(x) for x in args.think.split(","))
    with tempfile.TemporaryDirectory(prefix="export-load-") as scratch:
        url = prepare(Path(scratch) / "bench.db", args.appeals)
        return asyncio.run(run(url, args.citizens, (low, high), args.warmup))


if __name__ == "__main__":
    sys.exit(main())
