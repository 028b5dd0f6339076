"""What a citizen writes after registration: a reply to the ministry's question, a word about an answer.

A clarification is often sent as several messages (the text, then a photo, then "and the second
entrance too"): messages within ``JOIN_WINDOW`` of the last one join the same reply, which
reaches the ministry once, as one message with every file, when the window has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.appeals import ANSWERED, OPEN, AppealStatus, move
from bot.domain.errors import Refusal
from bot.events import Attachment
from storage.models import Appeal, AppealAttachment, AppealEvent, OutboxMessage, User
from storage.repositories import Repositories

JOIN_WINDOW = timedelta(minutes=2)
# How far back /my and the "which appeal?" question look for answers the citizen may still rate.
RECENT_ANSWERS = 5


async def awaiting_clarification(repo: Repositories, citizen: User) -> Sequence[Appeal]:
    """The citizen's appeals whose ministry waits for a clarification, oldest question first."""
    return await repo.appeals.of_citizen_in(citizen.id, [AppealStatus.CLARIFICATION_REQUESTED])


async def recently_answered(repo: Repositories, citizen: User, since: datetime) -> Sequence[Appeal]:
    """Answers given since ``since``, newest first: a message now is likely about one of them."""
    return await repo.appeals.answered_since(citizen.id, ANSWERED, since, RECENT_ANSWERS)


@dataclass(frozen=True)
class Joined:
    """A part added to an open clarification reply: the appeal, the whole reply so far, its files."""

    appeal: Appeal
    event: AppealEvent
    text: str
    files: int


async def join_clarification(repo: Repositories, appeal_id: int, event_id: int, citizen: User, text: str,
                             files: Sequence[Attachment]) -> Joined | None:
    """Add a message to the reply recorded by event ``event_id``; None when that reply is not there any more."""
    appeal = await repo.appeals.get_for_update(appeal_id)
    event = await repo.appeals.event(event_id)
    if appeal is None or appeal.citizen_id != citizen.id or event is None or event.appeal_id != appeal.id \
            or event.kind != "clarified":
        return None
    if text:
        event.reason = f"{event.reason}\n\n{text}" if event.reason else text
    details = dict(event.details or {})
    details["files"] = int(details.get("files", 0)) + len(files)
    event.details = details
    for file in files:
        await repo.appeals.add_attachment(AppealAttachment(
            appeal_id=appeal.id, source="clarification", kind=file.kind, ref=file.ref, channel=file.channel,
            name=file.name, size=file.size, mime=file.mime))
    await repo.flush()
    return Joined(appeal, event, event.reason or "", int(details["files"]))


async def clarification_files(repo: Repositories, appeal_id: int, count: int) -> list[Attachment]:
    """The last ``count`` files the citizen sent with clarifications (those of the reply being joined)."""
    if count <= 0:
        return []
    rows = await repo.appeals.last_attachments(appeal_id, "clarification", count)
    return [Attachment(kind=a.kind, ref=a.ref, channel=a.channel, name=a.name, size=a.size, mime=a.mime)  # type: ignore[arg-type]
            for a in rows]


WITHDRAWABLE = OPEN


async def withdraw(repo: Repositories, citizen: User, appeal_id: int, now: datetime) -> Appeal:
    """The citizen takes the appeal back (59-ФЗ art. 11 p. 7 lets them): it leaves every queue. Refused (the
    button is out of date) when it is not theirs or not open any more."""
    appeal = await repo.appeals.get_for_update(appeal_id)
    if appeal is None or appeal.citizen_id != citizen.id or appeal.status not in WITHDRAWABLE:
        raise Refusal("error.stale_button")
    previous = appeal.status
    move(appeal, AppealStatus.WITHDRAWN)
    appeal.next_reminder_at = None
    await repo.appeals.add_event(AppealEvent(appeal_id=appeal.id, actor_id=citizen.id, kind="withdrawn",
                                             status=appeal.status, at=now, details={"previous": previous}))
    return appeal


async def pending_notices(repo: Repositories, key_prefix: str) -> Sequence[OutboxMessage]:
    """Outbox rows not sent yet whose key begins with ``key_prefix`` (a reply still being joined)."""
    return await repo.outbox.unsent_with_prefix(key_prefix)


async def drop_pending_notices(repo: Repositories, key_prefix: str) -> None:
    """Unsend the notices of a reply still being joined: the joined reply replaces them."""
    for row in await pending_notices(repo, key_prefix):
        await repo.outbox.drop(row)
