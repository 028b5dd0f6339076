"""Personal data under 152-ФЗ: what is stored about a person, its erasure, and the retention period.

Erasure keeps the appeals for statistics (sector, ministry, dates, status, scores) but removes who
wrote them and everything they or the ministry wrote that may name them, wherever it went: the
appeal's fields and files, the history's reasons, rating comments, the messages queued or sent
about it (found by the appeal number or the person's name in their text), the replies kept for a
repeated update, a draft, the expert-group name, the chat id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.domain.appeals import CLOSED, AppealStatus, move
from bot.domain.appeals import OPEN as OPEN_STATUSES
from bot.services import meeting_agenda, ratings, routing_learning
from storage.expert_repo import ExpertRepo
from storage.models import Appeal, AppealEvent, User
from storage.repositories import Repositories

ERASED = "[удалено]"
# Shorter strings (a two-letter name) would match unrelated messages: the appeal number catches those.
MIN_NEEDLE = 4
RETENTION_BATCH = 500


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def stored_spelling(needles: Iterable[str | None]) -> list[str]:
    """Each string as the JSON columns store it (non-ASCII escaped), for a substring search."""
    spelt = {json.dumps(n.strip())[1:-1] for n in needles if n and len(n.strip()) >= MIN_NEEDLE}
    return sorted(spelt)


async def export(repo: Repositories, user: User) -> dict[str, Any]:
    """Everything about one person, as a JSON-ready dict (152-ФЗ art. 14: the subject's right to know)."""
    appeals = []
    for appeal in await repo.privacy.appeals(user.id):
        await repo.appeals.load_attachments(appeal)
        appeals.append({
            "number": appeal.number, "name": appeal.citizen_name, "phone": appeal.phone,
            "sector": appeal.sector_id, "category": appeal.category_id, "ministry": appeal.ministry_id,
            "text": appeal.text, "address": appeal.address, "latitude": appeal.latitude,
            "longitude": appeal.longitude, "status": appeal.status, "registered_at": _when(appeal.registered_at),
            "deadline_at": _when(appeal.deadline_at), "answered_at": _when(appeal.answered_at),
            "answer": appeal.answer_text,
            "files": [{"kind": a.kind, "name": a.name, "source": a.source, "ref": a.ref, "mime": a.mime}
                      for a in appeal.attachments],
            "history": [{"at": _when(e.at), "what": e.kind, "status": e.status, "reason": e.reason}
                        for e in await repo.appeals.events(appeal.id)],
            "ratings": [{"answer": r.answer_no, "score": r.score, "comment": r.comment, "at": _when(r.at)}
                        for r in await repo.privacy.ratings(appeal.id)],
            "routing_example": await routing_learning.export_appeal(repo.session, appeal.id),
        })
    conversations = [{"state": c.state, "data": c.data}
                     for c in await repo.privacy.conversations(user.channel, user.chat_id)]
    messages = [{"at": _when(m.created_at), "sent_at": _when(m.sent_at), "status": m.status,
                 "text": m.reply.get("text", ""),
                 "files": [f.get("name", "") for f in m.reply.get("attachments", [])]}
                for m in await repo.privacy.messages_to(user.channel, user.chat_id)]
    return {
        "user": {"channel": user.channel, "platform_id": user.platform_id, "chat_id": user.chat_id,
                 "language": user.language, "display_name": user.display_name, "full_name": user.full_name,
                 "role": user.role,
                 "ministry": user.ministry_id, "created_at": _when(user.created_at)},
        "consents": [{"accepted": c.accepted, "operator": c.operator_name, "at": _when(c.at)}
                     for c in await repo.privacy.consents(user.id)],
        "appeals": appeals,
        "groups": [{"group": m.group_id, "role": m.role, "name": m.full_name, "active": m.active,
                    "joined_at": _when(m.joined_at)} for m in await repo.privacy.memberships(user.id)],
        "dissenting_opinions": [{"vote": d.vote_id, "text": d.text, "at": _when(d.at)}
                                for d in await repo.privacy.dissents(user.id)],
        "messages_sent": messages,
        "conversations": conversations,
        "meeting_invitations": await meeting_agenda.guest_export(ExpertRepo(repo.session), user.id),
        "meetings": _participation(await ExpertRepo(repo.session).participation(user.id)),
    }


def _participation(found: dict[str, list[Any]]) -> dict[str, list[dict[str, Any]]]:
    return {
        "answers_to_notices": [{"meeting": a.meeting_id, "answer": a.answer, "at": _when(a.answered_at),
                                "present": a.present} for a in found["attendance"]],
        "arrivals_and_departures": [{"meeting": m.meeting_id, "arrived": m.present, "at": _when(m.at)}
                                    for m in found["presence"]],
        "ballots": [{"vote": b.vote_id, "choice": b.choice, "at": _when(b.cast_at)} for b in found["ballots"]],
    }


async def anonymise(repo: Repositories, appeal: Appeal) -> list[str]:
    """The appeal keeps what statistics need; returns what identified it (number, name, phone), for the
    search of the messages and stored replies that quoted it."""
    identifying = [appeal.number, appeal.citizen_name, appeal.phone]
    appeal.citizen_name = None
    appeal.phone = None
    appeal.address = None
    appeal.latitude = appeal.longitude = None
    appeal.text = ERASED
    if appeal.answer_text is not None:
        appeal.answer_text = ERASED
    await repo.privacy.drop_files(appeal.id)  # the citizen's files and the answer's: both may name them
    await routing_learning.forget_appeal(repo.session, appeal.id)  # the classifier's copy of the text
    await ratings.erase_comments(repo, appeal.id)  # a rating's comment is the citizen's own words
    for event in await repo.appeals.events(appeal.id):
        # Questions, redirect reasons, answers, comments: written about this person by whoever wrote them.
        if event.reason:
            event.reason = ERASED
    return [n for n in identifying if n]


async def _close_staff_dialogs(repo: Repositories, appeal_ids: set[int]) -> None:
    """A staff member half-way through an answer to one of these appeals: the draft goes with them."""
    if not appeal_ids:
        return
    quoting = [c for c in await repo.privacy.active_conversations()
               if (c.data or {}).get("appeal_id") in appeal_ids]
    await repo.privacy.drop_conversations(quoting)


def _redacted(value: Any, names: Sequence[str]) -> Any:
    """The JSON value with each of ``names`` replaced wherever a string holds it."""
    if isinstance(value, str):
        for name in names:
            value = value.replace(name, ERASED)
        return value
    if isinstance(value, list):
        return [_redacted(item, names) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item, names) for key, item in value.items()}
    return value


async def _redact_names(repo: Repositories, names: Iterable[str | None]) -> None:
    """A message or stored reply that only names the person (a member list, a protocol, another citizen's
    message that happens to hold the same words) keeps its text with the name replaced: it is someone
    else's message, and an unsent one still goes."""
    plain = sorted({n.strip() for n in names if n and len(n.strip()) >= MIN_NEEDLE}, key=len, reverse=True)
    spelt = stored_spelling(plain)
    for message in await repo.privacy.messages_mentioning(spelt):
        message.reply = _redacted(message.reply, plain)
    for stored in await repo.privacy.stored_replies_mentioning(spelt):
        stored.replies = _redacted(stored.replies, plain)


async def erase(repo: Repositories, user: User) -> int:
    """Erase a person: their appeals stay, anonymised; the account no longer links to them. Returns appeals."""
    appeals = await repo.privacy.appeals(user.id)
    numbers: list[str] = []
    names: list[str | None] = [user.display_name, user.full_name]
    for appeal in appeals:
        numbers.append(appeal.number)
        names += await anonymise(repo, appeal)
    own = await repo.privacy.conversations(user.channel, user.chat_id)
    for conversation in own:
        draft = (conversation.data or {}).get("draft") or {}
        names += [draft.get("name"), draft.get("phone")]
    await repo.privacy.drop_conversations(own)
    await _close_staff_dialogs(repo, {a.id for a in appeals})
    for membership in await repo.privacy.memberships(user.id):
        names.append(membership.full_name)
        membership.full_name = ""
        membership.active = False
    for dissent in await repo.privacy.dissents(user.id):
        dissent.text = ERASED
    await meeting_agenda.guest_erase(ExpertRepo(repo.session), user.id, ERASED)
    # Messages about the person's appeals (cards, notices, answers) are theirs through and through: their
    # text goes and unsent ones are not sent. Elsewhere only the name (or phone) is taken out.
    spelt_numbers = stored_spelling(numbers)
    await repo.privacy.scrub_messages(spelt_numbers)
    erased_id = f"erased-{user.id}"
    await repo.privacy.erase_chat(user.channel, user.chat_id, erased_id)
    await repo.privacy.scrub_stored_replies(f"{user.channel}:{user.platform_id}", spelt_numbers)
    await repo.flush()
    await _redact_names(repo, [n for n in names if n not in numbers])
    user.display_name = user.full_name = None
    user.consent_given = False
    user.unreachable_reason = None
    # Writing again later makes a new, empty account: the platform id itself is personal data.
    user.platform_id = user.chat_id = erased_id
    await repo.flush()
    return len(appeals)


async def apply_retention(repo: Repositories, settings: Settings, now: datetime,
                          batch: int = RETENTION_BATCH) -> int:
    """Closed appeals older than the retention period lose their personal data (152-ФЗ art. 5 p. 7);
    replies kept for repeated updates, and the text of messages delivered, go after a few days."""
    keep_updates = now - timedelta(days=settings.privacy.update_replies_days)
    await repo.privacy.prune_updates(keep_updates)
    await repo.privacy.forget_delivered(keep_updates)
    before = now - timedelta(days=settings.privacy.retention_days)
    # A draft untouched for the whole retention period was abandoned: it goes as well.
    await repo.privacy.drop_conversations(await repo.privacy.stale_conversations(before, batch))
    expired = await repo.privacy.expired_closed(tuple(CLOSED), before, batch)
    numbers = []
    for appeal in expired:
        numbers.append(appeal.number)
        await anonymise(repo, appeal)
    await _close_staff_dialogs(repo, {a.id for a in expired})
    # Older texts are gone already (forget_delivered); the recent ones quote an old appeal by its number.
    spelt = stored_spelling(numbers)
    await repo.privacy.scrub_messages(spelt, since=keep_updates)
    await repo.privacy.scrub_stored_replies(None, spelt)
    return len(expired)


async def withdraw_appeals(repo: Repositories, user: User, now: datetime) -> list[Appeal]:
    """Consent withdrawn (152-ФЗ art. 9 p. 2): the person's open appeals cannot be worked on any more."""
    withdrawn = []
    for listed in await repo.privacy.appeals(user.id):
        appeal = await repo.appeals.get_for_update(listed.id) if listed.status in OPEN_STATUSES else None
        if appeal is None or appeal.status not in OPEN_STATUSES:
            continue
        move(appeal, AppealStatus.WITHDRAWN)
        appeal.next_reminder_at = None
        await repo.appeals.add_event(AppealEvent(appeal_id=appeal.id, actor_id=user.id, kind="withdrawn",
                                                 status=appeal.status, at=now))
        withdrawn.append(appeal)
    return withdrawn


async def open_appeals(repo: Repositories, user: User) -> list[Appeal]:
    """The person's appeals still open: what withdrawing consent would withdraw."""
    return [a for a in await repo.privacy.appeals(user.id) if a.status in OPEN_STATUSES]
