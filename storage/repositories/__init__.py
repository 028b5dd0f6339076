"""Repositories: the only place with queries. They flush, never commit: the caller owns the transaction.

One module per family (appeals, users and staff, outbox, updates and dialogs, privacy); every name is
importable from ``storage.repositories`` as before.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories._sql import _dialect, _insert, _insert_for
from storage.repositories.appeals import AppealRepo
from storage.repositories.outbox import OutboxRepo
from storage.repositories.privacy import PrivacyRepo
from storage.repositories.report_requests import ReportRequestRepo
from storage.repositories.updates import ConversationRepo, LockRepo, NoticeRepo, UpdateRepo
from storage.repositories.users import StaffRepo, UserRepo

__all__ = [
    "AppealRepo", "ConversationRepo", "LockRepo", "NoticeRepo", "OutboxRepo", "PrivacyRepo", "Repositories",
    "StaffRepo", "UpdateRepo", "UserRepo", "_dialect", "_insert", "_insert_for",
]


class Repositories:
    """The repositories over one session: what a service receives."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepo(session)
        self.conversations = ConversationRepo(session)
        self.updates = UpdateRepo(session)
        self.appeals = AppealRepo(session)
        self.outbox = OutboxRepo(session)
        self.staff = StaffRepo(session)
        self.notices = NoticeRepo(session)
        self.privacy = PrivacyRepo(session)
        self.locks = LockRepo(session)
        self.report_requests = ReportRequestRepo(session)

    async def flush(self) -> None:
        await self.session.flush()
