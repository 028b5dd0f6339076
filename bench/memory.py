"""Memory: the resident size of one instance with 10,000 citizens in the middle of a dialog.

Run from the repository root:  python bench/memory.py [--citizens 10000] [--db sqlite|postgres]

One instance as deployed (``python -m bot run``, webhook mode, see bench/load.py) takes, for every
citizen, /start, the consent and the name -- each through its webhook, as Telegram would post them --
and stops there: the bot has asked for the phone and shows the share-phone keyboard. Dialog states
live in the database; what the process keeps per chat (the channel's note of which request keyboard
is on screen, caches, connection pools) is what this measures. RSS is read from /proc when the
process has started and warmed up, after every 2,000 citizens, and at the end; the peak is VmHWM.
Target: under 200 MB with 10,000 citizens half-way. Exit status 1 if it is missed or a dialog failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
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
    running,
    scratch_database,
)
from sqlalchemy import func, select  # noqa: E402

from storage.engine import create_engine  # noqa: E402
from storage.models import Conversation  # noqa: E402
from tests.fakes.telegram_server import FakeTelegramServer  # noqa: E402

TARGET_MB = 200.0
HALF_WAY = [step.name for step in STEPS].index("phone")  # asked for the phone, keyboard on screen
BATCH = 2_000


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


async def dialogs_waiting_for_the_phone(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(
                select(func.count()).select_from(Conversation).where(Conversation.state == "phone")) or 0)
    finally:
        await engine.dispose()


async def measure(kind: str, citizens: int, postgres: str, concurrency: int) -> int:
    with tempfile.TemporaryDirectory(prefix="appeals-memory-") as tmp:
        workdir = Path(tmp)
        async with scratch_database(kind, workdir, postgres, "memory") as url, FakeTelegramServer() as fake:
            await add_operators(url)
            instance = Instance("memory", workdir, url, fake.api_base)
            async with running([instance]):
                assert instance.process is not None
                pid = instance.process.pid
                connector = aiohttp.TCPConnector(limit=0)
                async with aiohttp.ClientSession(connector=connector) as session:
                    telegram = Telegram(session, [instance])
                    # Two whole appeals first: every code path imported and warmed, as in a running bot.
                    await drive([Citizen(i, fake) for i in range(2)], telegram, 0, 2)
                    start_rss, _ = memory_mb(pid)
                    print(f"{kind}: after start-up and two whole appeals: RSS {start_rss:.1f} MB", flush=True)
                    failed = 0
                    for first in range(0, citizens, BATCH):
                        batch = [Citizen(2 + first + i, fake, stop_before=HALF_WAY)
                                 for i in range(min(BATCH, citizens - first))]
                        await drive(batch, telegram, 0, concurrency)
                        failed += sum(1 for c in batch if c.problems)
                        rss, _ = memory_mb(pid)
                        print(f"  {first + len(batch):>6} citizens half-way: RSS {rss:.1f} MB", flush=True)
                    rss, peak = memory_mb(pid)
            waiting = await dialogs_waiting_for_the_phone(url)
    per_citizen_kb = (rss - start_rss) * 1024 / citizens if citizens else 0.0
    verdict = "met" if peak < TARGET_MB and not failed else "MISSED"
    print(f"{kind}: {citizens} citizens in the middle of a dialog ({waiting} dialogs in the database waiting "
          f"for the phone, {failed} failed): RSS {rss:.1f} MB (peak {peak:.1f} MB), "
          f"{per_citizen_kb:.2f} KB per citizen over the {start_rss:.1f} MB at start; target < {TARGET_MB:.0f} MB: "
          f"{verdict}")
    return 0 if verdict == "met" and waiting == citizens else 1


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres", default=postgres_url_from_env())
    parser.add_argument("--concurrency", type=int, default=32)
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    if args.db == "postgres" and not await postgres_answers(args.postgres):
        print("PostgreSQL does not answer; nothing measured")
        return 1
    return await measure(args.db, args.citizens, args.postgres, args.concurrency)


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(main_async(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
