"""Fault: kill -9 an instance in the middle of load, start it again, and check nothing was lost or doubled.

Run from the repository root:
    python bench/fault.py              # SQLite with one instance, PostgreSQL (if it answers) with two
    python bench/fault.py --smoke      # the same, fewer citizens (CI)
    python bench/fault.py --strict     # also fail on what the design does not promise (see below)
    python bench/fault.py --channels-only   # only the channel faults (bench/fault_channels.py)

After the kill, the channel faults of bench/fault_channels.py run (VK restart with 30 s down, the database
locked for 40 s, SIGTERM under load, PostgreSQL backends terminated): each prints lost / duplicated counts.

Instances are ``python -m bot run`` processes in webhook mode, as in bench/load.py; each ministry has an
operator, so every registered appeal sends a card through the outbox. Citizens file appeals through the
webhooks. When a share of the expected updates has been answered, one instance gets SIGKILL (no shutdown,
transactions and HTTP requests cut where they are), and is started again a moment later. Meanwhile the
bench does what Telegram does: an update that was not answered 200 is posted again -- to the other
instance when there are two (a load balancer), else to the same one until it is back.

Checked afterwards, and printed:
- appeals: each citizen has exactly one, the numbers are 1..N without gaps (none lost, none doubled);
- conversations: every citizen finished the dialog. A citizen whose answer never came or came in part
  asks where things stand, as a person would (a sticker: the bot says it cannot take one and repeats
  its question) and goes on from there -- counted, and expected to be none now that a retried update
  is answered again;
- ministry cards: once the outbox has drained (rows claimed by the killed instance wait for their
  lease, 60 s), each appeal's card reached its ministry's operator exactly once;
- confirmations: each citizen was told their number exactly once.

What the design promises and what it does not. An update's effects commit in one transaction with its
key and its replies, so a retried update never acts twice and is answered again with the replies it
got the first time (a kill between the commit and the reply loses nothing; the confirmation is an edit
of the summary in place, so given twice it still shows once): appeals, cards and confirmations are
exactly once, and a failure there exits 1. What remains at-least-once: a card whose send was in flight
at the kill is sent again, and an immediate reply sent just before the kill but not yet answered 200 is
sent again by the retry. These are printed as such; with ``--strict`` they fail the run too.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import aiohttp  # noqa: E402
from load import (  # noqa: E402
    STEPS,
    Citizen,
    Instance,
    Telegram,
    add_operators,
    drive,
    postgres_answers,
    postgres_url_from_env,
    registered,
    running,
    scratch_database,
)
from sqlalchemy import func, select  # noqa: E402

from storage.engine import create_engine  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402
from tests.fakes.telegram_server import FakeTelegramServer  # noqa: E402

NUMBER = re.compile(r"ЦУР-\d{4}-\d{6}")
DRAIN_WITHIN_S = 180.0


@dataclass
class Kill:
    victim: Instance
    after_updates: int
    down_for: float
    killed_at_update: int = 0
    back_in: float = 0.0
    pid: int = 0

    async def run(self, telegram: Telegram) -> None:
        while len(telegram.latencies) < self.after_updates:  # noqa: ASYNC110 -- a count to watch, not an event
            await asyncio.sleep(0.005)
        assert self.victim.process is not None
        self.pid = self.victim.process.pid
        self.killed_at_update = len(telegram.latencies)
        self.victim.kill()
        await asyncio.sleep(self.down_for)
        started = time.monotonic()
        self.victim.start()
        await self.victim.ready()
        self.back_in = time.monotonic() - started


@dataclass
class Findings:
    failures: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def check(self, ok: bool, line: str) -> None:
        self.lines.append(f"  {'OK  ' if ok else 'FAIL'} {line}")
        if not ok:
            self.failures.append(line)

    def gap(self, ok: bool, line: str) -> None:
        self.lines.append(f"  {'OK  ' if ok else 'GAP '} {line}")
        if not ok:
            self.gaps.append(line)


async def outbox_drained(url: str, within: float) -> tuple[bool, float]:
    engine = create_engine(url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < within:
            async with engine.connect() as connection:
                pending = await connection.scalar(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending"))
            if not pending:
                return True, time.monotonic() - started
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()
    return False, time.monotonic() - started


def card_counts(fake: FakeTelegramServer, operators: dict[str, int]) -> Counter[tuple[str, int]]:
    """(appeal number, operator chat) -> messages showing that appeal's card (an edit in place counts once)."""
    counts: Counter[tuple[str, int]] = Counter()
    for chat in operators.values():
        for message in fake.sent[chat]:
            if message.get("deleted"):
                continue
            for number in set(NUMBER.findall(message.get("text") or "")):
                counts[(number, chat)] += 1
    return counts


async def scenario(kind: str, instance_count: int, citizens_count: int, postgres: str, kill_share: float,
                   concurrency: int) -> Findings:
    label = f"{'SQLite' if kind == 'sqlite' else 'PostgreSQL'}, {instance_count} instance{'s' * (instance_count > 1)}"
    findings = Findings()
    with tempfile.TemporaryDirectory(prefix="appeals-fault-") as tmp:
        workdir = Path(tmp)
        async with scratch_database(kind, workdir, postgres, f"fault{instance_count}") as url, \
                FakeTelegramServer() as fake:
            operators = await add_operators(url)
            instances = [Instance(f"fault-{kind}-{i + 1}", workdir, url, fake.api_base)
                         for i in range(instance_count)]
            async with running(instances):
                async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                    telegram = Telegram(session, instances, retry_pause=0.05, give_up_after=120)
                    citizens = [Citizen(i, fake, recover=True) for i in range(citizens_count)]
                    kill = Kill(instances[0], int(kill_share * citizens_count * len(STEPS)), down_for=0.5)
                    killer = asyncio.create_task(kill.run(telegram))
                    await drive(citizens, telegram, 0, concurrency)
                    await killer
                drained, drain_s = await outbox_drained(url, DRAIN_WITHIN_S)
            result = await registered(url)
            ministry_of = await _ministry_of(url)
            log_errors = [line for instance in instances for line in instance.log_errors()]
            cards = card_counts(fake, operators)

    findings.lines.append(
        f"fault ({label}, {citizens_count} citizens): SIGKILL to instance {kill.victim.name} (pid {kill.pid}) after "
        f"{kill.killed_at_update} of {citizens_count * len(STEPS)} updates; started again, answering "
        f"{kill.back_in:.1f} s later; {sum(telegram.failures.values())} posts failed meanwhile and were posted "
        f"again ({dict(telegram.failures)})")
    numbers = [n for ns in result.by_citizen.values() for n in ns]
    findings.check(len(result.by_citizen) == citizens_count and all(len(n) == 1 for n in result.by_citizen.values())
                   and result.seqs == list(range(1, citizens_count + 1)),
                   f"appeals: {len(numbers)} registered for {citizens_count} citizens, each citizen exactly one, "
                   f"numbers 1..N gap-free: {result.seqs == list(range(1, len(result.seqs) + 1))}")
    stuck = [f"citizen {c.index}: {c.problems}" for c in citizens if c.problems or c.step < len(STEPS)]
    asked_again = [c for c in citizens if c.lost_replies]
    findings.check(not stuck, f"conversations: {citizens_count - len(stuck)}/{citizens_count} finished the dialog "
                              f"after the restart ({len(asked_again)} had to ask again after an answer was lost: "
                              f"{Counter(s for c in asked_again for s in c.lost_replies)})"
                   + (f"; stuck: {stuck[:3]}" if stuck else ""))
    expected_cards = {(number, operators[ministry]) for ministry, number in ministry_of}
    missing = [key for key in expected_cards if cards[key] == 0]
    doubled = [key for key in expected_cards if cards[key] > 1]
    findings.check(drained and not missing,
                   f"ministry cards: {len(expected_cards) - len(missing)}/{len(expected_cards)} delivered to the "
                   f"ministry's operator (outbox drained: {drained}, in {drain_s:.0f} s)")
    findings.gap(not doubled, f"ministry cards delivered more than once: {len(doubled)} "
                              "(a send in flight at the kill is repeated: the outbox is at-least-once)")
    told = {c.index: c.confirmations() for c in citizens}
    once = sum(1 for c in citizens if len(told[c.index]) == 1 and told[c.index][0] in result.by_citizen.get(
        str(c.chat_id), []))
    lost = [c.index for c in citizens if not told[c.index]]
    twice = [c.index for c in citizens if len(told[c.index]) > 1]
    findings.check(not lost, f"confirmations: {once}/{citizens_count} citizens told their number exactly once, "
                             f"{len(lost)} never told {lost[:5]}")
    findings.gap(not twice, f"confirmations shown twice: {len(twice)} {twice[:5]} (a reply sent just before the "
                            "kill is given again to Telegram's retry)")
    findings.lines.append(f"  instance log errors: {len(log_errors)}" + (f" (first: {log_errors[0][:160]})"
                                                                           if log_errors else ""))
    return findings


async def _ministry_of(url: str) -> list[tuple[str, str]]:
    from storage.models import Appeal

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [(m, n) for m, n in (await connection.execute(select(Appeal.ministry_id, Appeal.number))).all()]
    finally:
        await engine.dispose()


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=None, help="citizens per scenario (default 120; smoke 40)")
    parser.add_argument("--kill-at", type=float, default=0.4, help="share of the updates answered before the kill")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--postgres", default=postgres_url_from_env())
    parser.add_argument("--smoke", action="store_true", help="a quick run for CI")
    parser.add_argument("--strict", action="store_true", help="also fail on repeated cards and replies")
    parser.add_argument("--channels-only", action="store_true", help="only the faults at the channels")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    citizens = args.citizens or (40 if args.smoke else 120)
    scenarios = [("sqlite", 1)]
    if await postgres_answers(args.postgres):
        scenarios.append(("postgres", 2))
    else:
        print("PostgreSQL does not answer: SQLite only")
    status = 0
    for kind, count in [] if args.channels_only else scenarios:
        findings = await scenario(kind, count, citizens, args.postgres, args.kill_at, args.concurrency)
        print("\n".join(findings.lines), flush=True)
        if findings.failures or (args.strict and findings.gaps):
            status = 1
    from fault_channels import channel_faults, count_lines

    outcomes = await channel_faults(args.smoke, args.postgres if ("postgres", 2) in scenarios else None,
                                    args.citizens)
    print("\n".join(count_lines(outcomes)), flush=True)
    if not all(outcome.ok for outcome in outcomes):
        status = 1
    print("fault: " + ("every promise kept" if status == 0 else "PROBLEMS (see FAIL above)"))
    return status


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(main_async(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
