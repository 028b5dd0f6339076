"""Scheduled scans: "what is due now?", one module per kind of timed work.

A scan asks the services what is owed (``bot.services``: due reminders, digests, unrated answers,
expired data), words it with the presenters (``bot.presenters``) and queues it in the outbox, in the
transaction the scheduler opened. ``bot.scheduler`` only wires jobs to scans. Scans never import the
handlers or the channels (tools/check_layers.py).

- ``deadlines``: deadline reminders to staff, the citizen's overdue notice, the supervisors' digest;
- ``ratings``: the one reminder to rate an answer;
- ``privacy``: retention of personal data;
- ``routing``: retraining the routing classifier on the region's examples;
- ``meetings``: the expert groups' materials, reminders, quorum alerts, votes and protocols;
- ``reports``: the weekly digest to supervisors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.config import Settings
from bot.services.calendar import ProductionCalendar
from storage.repositories import Repositories

# A scan in the scheduler's transaction: (repositories, settings, calendar, now) -> rows handled.
Scan = Callable[[Repositories, Settings, ProductionCalendar, datetime], Awaitable[int]]
# A scan that opens its own transactions: (sessionmaker, settings, calendar, now) -> rows handled.
SessionScan = Callable[..., Awaitable[int]]
