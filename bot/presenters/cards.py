"""The appeal card a ministry sees: its text, its action buttons, its files; queued to each recipient."""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.domain.appeals import OPEN
from bot.events import Attachment, Button, Reply
from bot.payloads import make
from bot.presenters.names import Names
from bot.services.audience import about_appeal
from bot.services.outbox import notify
from bot.services.recipients import recipients
from storage.models import Appeal, User
from storage.repositories import Repositories

CARD_TEXT_PREVIEW = 2500


def short_name(user: User | None) -> str | None:
    """How a card names a member of staff: "Иванов И. И." from the full name given at joining."""
    if user is None:
        return None
    words = (user.full_name or "").split()
    if len(words) < 2:
        return user.display_name or f"#{user.id}"
    return " ".join([words[0], *(f"{w[0].upper()}." for w in words[1:3])])


def open_button(names: Names, appeal_id: int) -> list[list[Button]]:
    """The one button of a notice about an appeal: open its card."""
    return [[Button(names.t("card.open"), make("operator.card", "open", appeal_id))]]


def action_buttons(names: Names, appeal: Appeal, supervisor: bool = False) -> list[list[Button]]:
    rows = _open_actions(names, appeal, supervisor) if appeal.status in OPEN else []
    if len(appeal.text or "") > CARD_TEXT_PREVIEW:
        # The card shows the beginning; this leads to the rest (never back to another cut view).
        rows.append([Button(names.t("card.full_text"), make("operator.card", "text", appeal.id))])
    return rows


def _open_actions(names: Names, appeal: Appeal, supervisor: bool) -> list[list[Button]]:
    t = names.t
    rows = []
    if appeal.assignee_id is None:
        rows.append([Button(t("card.take"), make("operator.card", "take", appeal.id))])
    rows.append([Button(t("card.answer"), make("operator.card", "ans", appeal.id)),
                 Button(t("card.clarify"), make("operator.card", "clar", appeal.id))])
    second = [Button(t("card.redirect"), make("operator.card", "redir", appeal.id))]
    if not appeal.extended:
        second.append(Button(t("card.extend"), make("operator.card", "ext", appeal.id)))
    rows.append(second)
    if supervisor:
        rows.append([Button(t("card.reassign"), make("operator.card", "reas", appeal.id))])
    return rows


def card_text(names: Names, appeal: Appeal, assignee: str | None, redirected_to: str | None = None) -> str:
    t = names.t
    text = appeal.text or ""
    if len(text) > CARD_TEXT_PREVIEW:
        text = text[:CARD_TEXT_PREVIEW] + t("card.text_cut")
    place = appeal.address or ""
    if appeal.latitude is not None and appeal.longitude is not None:
        place = t("summary.location", lat=f"{appeal.latitude:.5f}", lon=f"{appeal.longitude:.5f}")
    status = names.status(appeal.status)
    if redirected_to is not None:
        status = t("card.redirected_to", ministry=names.ministry(redirected_to))
    lines = [t("card.body", number=appeal.number, sector=names.sector(appeal.sector_id),
               category=names.category(appeal.sector_id, appeal.category_id),
               registered=names.datetime(appeal.registered_at), deadline=names.date(appeal.deadline_at),
               place=place or t("summary.none"), files=len(appeal_files(appeal)) + len(appeal_files(
                   appeal, "clarification")), answer_files=len(appeal_files(appeal, "answer")), text=text,
               status=status, assignee=assignee or t("card.nobody"), name=appeal.citizen_name or t("card.no_name"),
               phone=appeal.phone or t("card.no_phone"))]
    if appeal.reopen_count:
        lines.insert(0, t("card.repeat", count=appeal.reopen_count))
    if appeal.extended:
        lines.append(t("card.extended"))
    return "\n".join(lines)


def appeal_files(appeal: Appeal, source: str = "appeal") -> list[Attachment]:
    return [Attachment(kind=a.kind, ref=a.ref, channel=a.channel, name=a.name, size=a.size, mime=a.mime)  # type: ignore[arg-type]
            for a in appeal.attachments if a.source == source]


def card(names: Names, appeal: Appeal, assignee: str | None, *, redirected_to: str | None = None,
         with_files: bool = False) -> Reply:
    """The card's current version for one recipient; a card about a redirected appeal has no buttons."""
    buttons = [] if redirected_to else action_buttons(names, appeal)
    return Reply(text=card_text(names, appeal, assignee, redirected_to), buttons=buttons,
                 attachments=appeal_files(appeal) if with_files else [])


async def publish_card(repo: Repositories, settings: Settings, appeal: Appeal, now: datetime, *,
                       ministry_id: str | None = None, redirected_to: str | None = None,
                       with_files: bool = False, fresh: bool = False) -> None:
    """Queue the card's current version to every recipient of the ministry; later versions edit it.

    ``fresh``: a new message rather than an edit of one far up the chat (an appeal handed back)."""
    await repo.appeals.load_attachments(appeal)
    version = len(await repo.appeals.events(appeal.id))
    assignee = short_name(await repo.users.get(appeal.assignee_id)) if appeal.assignee_id is not None else None
    target = ministry_id or appeal.ministry_id
    for recipient in await recipients(repo, settings, target):
        reply = card(Names(settings, recipient.language), appeal, assignee, redirected_to=redirected_to,
                     with_files=with_files)
        await notify(repo, recipient.channel, recipient.chat_id, reply, now=now,
                     dedup_key=f"card:{appeal.id}:{version}:{recipient.channel}:{recipient.chat_id}",
                     card_key=f"card:{appeal.id}", audience=about_appeal(appeal.id, target), fresh=fresh)
