"""Load: simulated citizens file whole appeals through the real Telegram webhook, posted as Telegram would.

Run from the repository root:
    python bench/load.py                       # SQLite and PostgreSQL (if it answers), 1 and 2 instances
    python bench/load.py --smoke               # a small quick run (CI)
    python bench/load.py --citizens 1000 --rate 300 --db sqlite --instances 1
    python bench/load.py --rate 0 --concurrency 32    # flat out: what one setup can take

What runs. Each instance is ``python -m bot run`` -- the production entry point -- in an OS process of
its own, in webhook mode: ``TelegramChannel.webhook_app()`` on 127.0.0.1 with its secret, the outbox
sender and the scheduler, all on one database; the Bot API is the fake of tests/fakes/telegram_server.py,
served from this process. The bench plays Telegram: it POSTs every update with the
X-Telegram-Bot-Api-Secret-Token header and waits for the answer, which the channel gives only once the
update is handled and its replies are at the Bot API. That wait is the latency measured. With two
instances each update goes to the next instance in turn (a load balancer), so every dialog hops between
them. A citizen: /start, consent, name, shared phone, sector and category buttons, the text, Done, a
photo, Done, the address, Send -- 12 updates, each sent once the previous one was answered.

Why processes and not two webhook apps in one process: apps in one process share one event loop, one
core and one GIL, so a "second instance" would add no capacity and would hide what differs between
instances -- SQLite's file lock taken across processes, PostgreSQL row locks taken from two connection
pools, an instance dying alone. Separate processes are what production runs.

Pacing. ``--rate R`` offers R updates/s (open loop: a tick every 1/R s gives the next step to a citizen
who is waiting for their turn, new citizens join when nobody waits), so latency is measured at that
load; ``--rate 0`` sends flat out with ``--concurrency`` citizens at a time, which measures capacity.
Each database runs both: at the offered rate (the latency figures), then flat out (the capacity).

Prints updates/s, p50/p95/p99 handling latency, errors (HTTP failures, apologies from the bot,
unexpected replies, errors in the instances' logs and metrics), and appeals registered against expected
with the numbers checked unique and gap-free. Targets (SQLite, one instance, 2 cores): at least 300
updates/s, p99 under 100 ms, no errors, every appeal registered exactly once. Exit status 1 if a run
has errors or a wrong appeal count; the speed targets are reported, not enforced (machines differ).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.config import load as load_config  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Appeal, OutboxMessage, User  # noqa: E402
from tests.fakes.telegram_server import SECRET_HEADER, FakeTelegramServer  # noqa: E402

SECRET = "bench-Secret_0123456789"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TEXT = "Во дворе дома пятый день не горят фонари, вечером очень темно, дети идут из школы в темноте."
APOLOGIES = ("Извините, что-то пошло не так", "Произошла ошибка", "что-то пошло не так")
OPERATOR_CHAT_BASE = 7_000_000
CITIZEN_CHAT_BASE = 10_000_000
TARGET_RATE = 300.0
WARM_UP = 4
TARGET_P99_MS = 100.0


# --- the database -------------------------------------------------------------------------------


def postgres_url_from_env() -> str:
    return os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES


async def postgres_answers(url: str) -> bool:
    import asyncpg

    try:
        connection = await asyncpg.connect(_dsn(url), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def scratch_database(kind: str, workdir: Path, postgres_url: str, tag: str) -> AsyncIterator[str]:
    """A new database at the latest migration: a SQLite file in ``workdir``, or a PostgreSQL database of
    its own on the server of ``postgres_url`` (dropped afterwards; the role needs CREATEDB)."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / f'{tag}.db'}"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    import asyncpg

    name = f"{make_url(postgres_url).database or 'postgres'}_{tag}_{os.getpid()}"
    admin = await asyncpg.connect(_dsn(postgres_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        admin = await asyncpg.connect(_dsn(postgres_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def add_operators(url: str) -> dict[str, int]:
    """One operator per ministry, in a private Telegram chat: every appeal's card goes to one of them."""
    settings = load_config(ROOT / "config.toml", environ={})
    engine = create_engine(url)
    chats = {ministry: OPERATOR_CHAT_BASE + i for i, ministry in enumerate(sorted(settings.ministries))}
    try:
        async with engine.begin() as connection:
            await connection.execute(User.__table__.insert(), [
                {"channel": "telegram", "platform_id": str(chat), "chat_id": str(chat), "language": "ru",
                 "display_name": f"Оператор {ministry}", "role": "operator", "ministry_id": ministry,
                 "consent_given": True, "created_at": _now()} for ministry, chat in chats.items()])
    finally:
        await engine.dispose()
    return chats


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


@dataclass
class Registered:
    by_citizen: dict[str, list[str]]  # platform id -> appeal numbers
    seqs: list[int]
    outbox_pending: int
    outbox_sent: int
    outbox_failed: int


async def registered(url: str) -> Registered:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(
                select(User.platform_id, Appeal.number, Appeal.seq).join(User, User.id == Appeal.citizen_id))).all()
            statuses = dict((await connection.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all())
    finally:
        await engine.dispose()
    by_citizen: dict[str, list[str]] = {}
    for platform_id, number, _ in rows:
        by_citizen.setdefault(platform_id, []).append(number)
    return Registered(by_citizen, sorted(seq for _, _, seq in rows), statuses.get("pending", 0),
                      statuses.get("sent", 0), statuses.get("failed", 0))


# --- an instance: `python -m bot run` in webhook mode ---------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def replace_section(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"^\[{re.escape(name)}\]\n.*?(?=^\[)", re.MULTILINE | re.DOTALL)
    replaced, count = pattern.subn(lambda _: f"[{name}]\n{body}\n", text, count=1)
    if count != 1:
        raise RuntimeError(f"config.toml has no [{name}] section to replace")
    return replaced


@dataclass
class Instance:
    """One bot process, as deployed: its own config (webhook mode, its ports), the shared database."""

    name: str
    workdir: Path
    database_url: str
    api_base: str
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def config(self) -> Path:
        text = (ROOT / "config.toml").read_text(encoding="utf-8")
        text = replace_section(text, "telegram", "\n".join([
            "enabled = true", 'mode = "webhook"', f'api_base = "{self.api_base}"', 'bot_username = "bench_bot"',
            'webhook_host = "127.0.0.1"', f"webhook_port = {self.port}", 'webhook_path = "/telegram"',
            f'webhook_url = "{self.url}"']))
        text = replace_section(text, "ops", "\n".join([
            'metrics_host = "127.0.0.1"', f"metrics_port = {self.metrics_port}", 'log_format = "text"']))
        path = self.workdir / f"{self.name}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    def start(self) -> None:
        from tests.fakes.telegram_server import TOKEN

        env = {key: value for key, value in os.environ.items() if not key.startswith(("APPEALS_BOT_", "TELEGRAM_",
                                                                                       "VK_"))}
        env.update(APPEALS_BOT_DATABASE_URL=self.database_url, TELEGRAM_BOT_TOKEN=TOKEN,
                   TELEGRAM_WEBHOOK_SECRET=SECRET, PYTHONUNBUFFERED="1")
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(self.config()), "run"],
                                        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.starts += 1

    async def ready(self, within: float = 60.0) -> None:
        """Up when its webhook takes a POST (a bad secret: 403 without touching the database)."""
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.post(self.url, json={}, headers={SECRET_HEADER: "probe"}) as response:
                        if response.status == 403:
                            return
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name} did not come up in {within} s; see {self.log_path}")

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, connections cut."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    async def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        for _ in range(100):
            if self.process.poll() is not None:
                return
            await asyncio.sleep(0.1)
        self.kill()

    async def metric(self, name: str) -> float:
        """The sum of one counter over its labels, from /metrics."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            body = await response.text()
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith(name) and not line.startswith("#"))

    def log_errors(self) -> list[str]:
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return [line for line in lines if " ERROR " in line or " CRITICAL " in line]


@contextlib.asynccontextmanager
async def running(instances: Sequence[Instance]) -> AsyncIterator[Sequence[Instance]]:
    try:
        for instance in instances:
            instance.start()
        await asyncio.gather(*(instance.ready() for instance in instances))
        yield instances
    finally:
        await asyncio.gather(*(instance.stop() for instance in instances))


# --- Telegram's side: posting updates -----------------------------------------------------------


@dataclass
class Telegram:
    """Delivers updates to the webhook like Telegram: the secret header, and the same update again
    until it is answered 200 (https://core.telegram.org/bots/api#setwebhook)."""

    session: aiohttp.ClientSession
    instances: Sequence[Instance]
    latencies: list[float] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    retry_pause: float = 0.05
    give_up_after: float = 60.0
    _turn: Iterable[int] = field(default_factory=itertools.count)

    def _next(self) -> Instance:
        return self.instances[next(self._turn) % len(self.instances)]  # type: ignore[call-overload]

    async def deliver(self, update: dict[str, Any], step: str = "") -> None:
        deadline = time.monotonic() + self.give_up_after
        while True:
            instance = self._next()  # a retry goes to the next instance, as through a balancer
            started = time.perf_counter()
            try:
                async with self.session.post(instance.url, json=update, headers={SECRET_HEADER: SECRET}) as reply:
                    await reply.read()
                    status = reply.status
            except (aiohttp.ClientError, OSError) as exc:
                status = 0
                self.failures[type(exc).__name__] += 1
            if status == 200:
                self.latencies.append(time.perf_counter() - started)
                self.by_step.setdefault(step, []).append(self.latencies[-1])
                return
            if status:
                self.failures[f"HTTP {status}"] += 1
            if time.monotonic() > deadline:
                raise RuntimeError(f"update {update['update_id']} not accepted for {self.give_up_after} s")
            await asyncio.sleep(self.retry_pause)


# --- a citizen ------------------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    # What the bot's answer shows, for the citizen to go on; a second form is how the bot repeats that
    # question when asked where the dialog stands (see Citizen._find_the_way).
    expect: tuple[str, ...]

    def shown_in(self, text: str) -> bool:
        return any(marker in text for marker in self.expect)


STEPS = (
    Step("start", ("персональные данные",)), Step("consent", ("Как к вам обращаться",)),
    Step("name", ("Оставьте телефон",)), Step("phone", ("Выберите направление",)),
    Step("sector", ("Выберите категорию",)), Step("category", ("Опишите проблему",)),
    Step("text", ("Записал", "Символов в тексте обращения")), Step("text done", ("Приложите фото",)),
    Step("photo", ("Файлов приложено:",)), Step("files done", ("Где это?",)),
    Step("address", ("Проверьте обращение",)), Step("send", ("Номер: ЦУР-",)),
)


@dataclass
class Citizen:
    """A person in a private chat with the bot, filing one appeal step by step."""

    index: int
    fake: FakeTelegramServer
    step: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    number: str | None = None
    stop_before: int = len(STEPS)  # fewer steps: a citizen who leaves the dialog half-way
    # What a person does when the bot's answer never came: press the last button again (the bot says it
    # is old and repeats its current question) and go on from there. Off for the load runs: there an
    # answer that does not come is an error.
    recover: bool = False
    lost_replies: list[str] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        return CITIZEN_CHAT_BASE + self.index

    @property
    def done(self) -> bool:
        return self.step >= self.stop_before or bool(self.problems)

    def update(self) -> dict[str, Any]:
        make, chat, name = self.fake.make, self.chat_id, STEPS[self.step].name
        if name == "start":
            return make.text(chat, "/start")
        if name == "consent":
            return self._press("Согласен")
        if name == "name":
            # A full name, as the name step wants (no digits): the index spelt in letters.
            syllables = ("ан", "бор", "вел", "гин", "дым", "ерш", "жук", "зол", "иль", "кур")
            return make.text(chat, f"Житель {''.join(syllables[int(d)] for d in str(self.index)).title()}")
        if name == "phone":
            return make.contact(chat, f"+7900{self.index:07d}")
        if name == "sector":
            # Spread over the sectors, hence over the ministries; the catch-all (the ЦУР's triage) is left out.
            return self._press_index(self.index, skip=("Другое",))
        if name == "category":
            return self._press_index(0)
        if name == "text":
            return make.text(chat, TEXT)
        if name in ("text done", "files done"):
            return self._press("Готово")
        if name == "photo":
            return make.photo(chat)
        if name == "address":
            return make.text(chat, f"г. Энск, ул. Садовая, {self.index}")
        return self._press("Отправить")

    def _buttons(self) -> list[dict[str, Any]]:
        for message in reversed(self.fake.sent[self.chat_id]):
            if message.get("deleted"):
                continue
            markup = message.get("reply_markup")
            if isinstance(markup, dict) and markup.get("inline_keyboard"):
                return [button for row in markup["inline_keyboard"] for button in row]
        return []

    def _press(self, label: str) -> dict[str, Any]:
        return self.fake.button_update(self.chat_id, label=label)

    def _press_index(self, index: int, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        choices = [b for b in self._buttons() if not b.get("text", "").startswith(("✖", "◀", "⬅", *skip))]
        if not choices:
            raise LookupError("no buttons to choose from")
        button = choices[index % len(choices)]
        message = next(m for m in reversed(self.fake.sent[self.chat_id])
                       if button in [b for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                                     for b in row])
        return self.fake.make.callback(self.chat_id, button["callback_data"], self.fake._public(message))

    async def take_step(self, telegram: Telegram) -> None:
        """Send the next update, wait for the answer, check it shows what the next step needs."""
        try:
            update = self.update()
        except (AssertionError, LookupError) as exc:
            self.problems.append(f"step {STEPS[self.step].name}: {exc}")
            return
        shown = await self._exchange(telegram, update, STEPS[self.step].name)
        if any(apology in shown for apology in APOLOGIES):
            self.problems.append(f"step {STEPS[self.step].name}: the bot apologised: {shown[:200]!r}")
            return
        if not STEPS[self.step].shown_in(shown):
            if self.recover:
                await self._find_the_way(telegram)
                return
            self.problems.append(f"step {STEPS[self.step].name}: expected {STEPS[self.step].expect[0]!r}, "
                                 f"got {shown[:200]!r}")
            return
        if STEPS[self.step].name == "send":
            found = re.search(r"ЦУР-\d{4}-\d{6}", shown)
            self.number = found.group(0) if found else None
        self.step += 1

    async def _exchange(self, telegram: Telegram, update: dict[str, Any], step: str) -> str:
        """Deliver one update; the texts of the messages that appeared or changed meanwhile."""
        before = {m["message_id"]: m["edited"] for m in self.fake.sent[self.chat_id]}
        await telegram.deliver(update, step)
        self.seen = [m for m in self.fake.sent[self.chat_id]
                     if not m.get("deleted") and before.get(m["message_id"]) != m["edited"]]
        return "\n".join(m.get("text") or m.get("caption") or "" for m in self.seen)

    async def _find_the_way(self, telegram: Telegram) -> None:
        """No answer, or half of one (an instance died while answering). A retried update is answered
        again with its stored replies, so this should not happen; if it does, a person would send
        something to see where things stand: a sticker changes nothing in the dialog, and the bot
        repeats its current question after saying it cannot take stickers."""
        lost = STEPS[self.step].name
        self.lost_replies.append(lost)
        shown = await self._exchange(telegram, self.fake.make.sticker(self.chat_id), "where am I")
        answered = [k for k, step in enumerate(STEPS) if step.shown_in(shown)]
        if answered:
            self.step = answered[-1] + 1
            return
        if lost == "send":
            # No dialog any more: registered, but the number never came. What /my shows.
            shown = await self._exchange(telegram, self.fake.make.text(self.chat_id, "/my"), "/my")
            found = re.search(r"ЦУР-\d{4}-\d{6}", shown)
            if found:
                self.number = found.group(0)
                self.step = len(STEPS)
                return
        self.problems.append(f"step {lost}: no answer, and asking where the dialog stands showed {shown[:200]!r}")

    def confirmations(self) -> list[str]:
        """Numbers the citizen was told, one per message (an edit in place counts once)."""
        return [found.group(1) for m in self.fake.sent[self.chat_id] if not m.get("deleted")
                and (found := re.search(r"Номер: (ЦУР-\d{4}-\d{6})", m.get("text") or ""))]


async def drive(citizens: Sequence[Citizen], telegram: Telegram, rate: float, concurrency: int,
                on_tick: Callable[[int], None] | None = None) -> float:
    """Give citizens their turns: one per tick at ``rate`` per second (0: as fast as answered), never
    more than ``concurrency`` steps in flight. Returns the wall time from the first post to the last answer."""
    waiting: deque[Citizen] = deque()
    fresh = iter(citizens)
    in_flight: set[asyncio.Task[None]] = set()
    interval = 1.0 / rate if rate else 0.0
    started = time.perf_counter()
    next_tick = started
    steps = 0

    def back(citizen: Citizen, _: object) -> None:
        if not citizen.done:
            waiting.append(citizen)

    while True:
        citizen = waiting.popleft() if waiting else next(fresh, None)
        if citizen is None or len(in_flight) >= concurrency:
            if citizen is not None:
                waiting.appendleft(citizen)
            if not in_flight:
                break
            _, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            next_tick = max(next_tick, time.perf_counter())  # a late tick: no catching up in a burst
            continue
        if interval:
            delay = next_tick - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            next_tick += interval
        task = asyncio.create_task(citizen.take_step(telegram))
        task.add_done_callback(lambda t, c=citizen: back(c, t))
        in_flight.add(task)
        steps += 1
        if on_tick is not None:
            on_tick(steps)
    return time.perf_counter() - started


# --- one run ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    label: str
    citizens: int
    updates: int
    seconds: float
    latencies: list[float]
    http_failures: Counter[str]
    problems: list[str]
    handler_errors: float
    log_errors: list[str]
    registered: Registered
    confirmations_wrong: list[str]
    offered: float
    by_step: dict[str, list[float]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def appeals_wrong(self) -> list[str]:
        wrong = [f"citizen {who}: {len(numbers)} appeals" for who, numbers in self.registered.by_citizen.items()
                 if len(numbers) != 1]
        missing = self.citizens + WARM_UP - len(self.registered.by_citizen)
        if missing:
            wrong.append(f"{missing} citizens without an appeal")
        if self.registered.seqs != list(range(1, len(self.registered.seqs) + 1)):
            wrong.append("numbers are not 1..N without gaps")
        return wrong

    @property
    def errors(self) -> int:
        return (sum(self.http_failures.values()) + len(self.problems) + int(self.handler_errors)
                + len(self.log_errors) + len(self.confirmations_wrong))

    def report(self) -> str:
        appeals = sum(len(n) for n in self.registered.by_citizen.values()) - WARM_UP
        pace = f"offered {self.offered:.0f}/s" if self.offered else "flat out"
        lines = [
            f"{self.label} ({pace}): {self.citizens} citizens, {self.updates} updates in {self.seconds:.1f} s "
            f"= {self.rate:.0f} updates/s",
            f"  handling latency: p50 {self.percentile(0.50):.1f} ms, p95 {self.percentile(0.95):.1f} ms, "
            f"p99 {self.percentile(0.99):.1f} ms, max {max(self.latencies, default=0) * 1000:.1f} ms",
            "  p99 by step: " + ", ".join(f"{step} {_p99(times):.0f}" for step, times in sorted(
                self.by_step.items(), key=lambda item: -_p99(item[1]))[:5]) + " ms",
            f"  errors: {self.errors} (HTTP {sum(self.http_failures.values())}, unexpected replies "
            f"{len(self.problems)}, handler errors {self.handler_errors:.0f}, instance log errors "
            f"{len(self.log_errors)}, wrong confirmations {len(self.confirmations_wrong)})",
            f"  appeals registered {appeals} / expected {self.citizens}; "
            f"{'each citizen exactly one, numbers 1..N gap-free' if not self.appeals_wrong else self.appeals_wrong}",
            f"  outbox (ministry cards): {self.registered.outbox_sent} sent, {self.registered.outbox_pending} "
            f"still paced out at 1 message/s per chat, {self.registered.outbox_failed} failed",
        ]
        for problem in [*self.problems[:5], *self.log_errors[:5], *self.confirmations_wrong[:5]]:
            lines.append(f"  ! {problem}")
        for failure, count in self.http_failures.items():
            lines.append(f"  ! {failure}: {count}")
        return "\n".join(lines)


def _p99(seconds: Sequence[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000 if ordered else 0.0


async def run_load(label: str, database_url: str, instance_count: int, citizens_count: int, rate: float,
                   concurrency: int, workdir: Path, first_citizen: int = 0) -> Outcome:
    async with FakeTelegramServer() as fake:
        instances = [Instance(f"{label.replace(' ', '-').replace(',', '')}-{i + 1}", workdir, database_url,
                              fake.api_base) for i in range(instance_count)]
        async with running(instances):
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                telegram = Telegram(session, instances)
                # A few citizens first, not measured: the first requests of a fresh process pay for imports,
                # caches and connections. They are counted in the appeals checked below.
                warm = [Citizen(first_citizen + i, fake) for i in range(WARM_UP)]
                await drive(warm, telegram, 0, WARM_UP)
                telegram.latencies.clear()
                telegram.by_step.clear()
                citizens = [Citizen(first_citizen + WARM_UP + i, fake) for i in range(citizens_count)]
                seconds = await drive(citizens, telegram, rate, concurrency)
            handler_errors = sum([await instance.metric("appeals_handler_errors_total") for instance in instances])
        outcome = await outcome_of(label, database_url, [*warm, *citizens], telegram, seconds, handler_errors,
                                   instances, rate)
    return outcome


async def outcome_of(label: str, database_url: str, citizens: Sequence[Citizen], telegram: Telegram,
                     seconds: float, handler_errors: float, instances: Sequence[Instance], rate: float) -> Outcome:
    problems = [f"citizen {c.index}: {p}" for c in citizens for p in c.problems]
    wrong = []
    for citizen in citizens:
        told = citizen.confirmations()
        if len(told) != 1 or told[0] != citizen.number:
            wrong.append(f"citizen {citizen.index} was told {told}")
    return Outcome(label, len(citizens) - WARM_UP, len(telegram.latencies), seconds, telegram.latencies,
                   telegram.failures, problems, handler_errors,
                   [line for instance in instances for line in instance.log_errors()],
                   await registered(database_url), wrong, rate, dict(telegram.by_step))


# --- the command ----------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=None, help="citizens per run (default 600; smoke 40)")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="offered updates/s (0: flat out only)")
    parser.add_argument("--concurrency", type=int, default=32, help="steps in flight at most, flat out")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both (comma-separated)")
    parser.add_argument("--instances", default="1,2", help="1, 2 or both (comma-separated)")
    parser.add_argument("--postgres", default=postgres_url_from_env(), help="PostgreSQL server (a scratch "
                        "database is created on it); default $TEST_POSTGRES_URL or 127.0.0.1:5432/test")
    parser.add_argument("--smoke", action="store_true", help="a small quick run: 40 citizens, SQLite and "
                        "PostgreSQL (if it answers), one and two instances, at the offered rate only")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    citizens = args.citizens or (40 if args.smoke else 600)
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    counts = [int(c) for c in args.instances.split(",") if c.strip()]
    if "postgres" in kinds and not await postgres_answers(args.postgres):
        print(f"PostgreSQL at {make_url(args.postgres).render_as_string(hide_password=True)} does not answer: "
              "SQLite only")
        kinds = [k for k in kinds if k != "postgres"]
    print(f"{os.cpu_count()} CPUs; each instance is `python -m bot run` in webhook mode in its own process; "
          f"{len(STEPS)} updates per citizen")
    outcomes: list[Outcome] = []
    paces = [args.rate] if args.smoke or not args.rate else [args.rate, 0.0]
    with tempfile.TemporaryDirectory(prefix="appeals-load-") as tmp:
        workdir = Path(tmp)
        for kind in kinds:
            for count in counts:
                for pace in paces:
                    label = f"{'SQLite' if kind == 'sqlite' else 'PostgreSQL'}, {count} instance{'s' * (count > 1)}"
                    tag = f"load{count}{'r' if pace else 'f'}"
                    async with scratch_database(kind, workdir, args.postgres, tag) as url:
                        await add_operators(url)
                        outcome = await run_load(label, url, count, citizens, pace, args.concurrency, workdir)
                    print(outcome.report(), flush=True)
                    outcomes.append(outcome)
    return summarise(outcomes)


def summarise(outcomes: Sequence[Outcome]) -> int:
    failed = [o for o in outcomes if o.errors or o.appeals_wrong]
    for o in outcomes:
        if o.label == "SQLite, 1 instance":
            speed = "met" if o.rate >= TARGET_RATE * 0.97 and o.percentile(0.99) < TARGET_P99_MS else "MISSED"
            if o.offered:
                print(f"target at {o.offered:.0f} offered updates/s (SQLite, one instance): {o.rate:.0f} updates/s, "
                      f"p99 {o.percentile(0.99):.1f} ms < {TARGET_P99_MS:.0f} ms: {speed}")
            else:
                print(f"capacity (SQLite, one instance, flat out): {o.rate:.0f} updates/s "
                      f"({'≥' if o.rate >= TARGET_RATE else '<'} {TARGET_RATE:.0f})")
    print("correctness: " + ("every run without errors, every appeal registered exactly once" if not failed else
                             f"PROBLEMS in {', '.join(o.label for o in failed)}"))
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(main_async(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
