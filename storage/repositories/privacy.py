"""Everything stored about one person, found and erased (bot/services/privacy.py decides what and when)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Text, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.expert_models import Dissent, GroupMember
from storage.models import Appeal, AppealAttachment, Consent, Conversation, OutboxMessage, ProcessedUpdate
from storage.rating_models import AppealRating


class PrivacyRepo:
    """Everything stored about one person, and its erasure."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def consents(self, user_id: int) -> Sequence[Consent]:
        query = select(Consent).where(Consent.user_id == user_id).order_by(Consent.id)
        return (await self.session.scalars(query)).all()

    async def appeals(self, user_id: int) -> Sequence[Appeal]:
        return (await self.session.scalars(
            select(Appeal).where(Appeal.citizen_id == user_id).order_by(Appeal.id))).all()

    async def conversations(self, channel: str, chat_id: str) -> Sequence[Conversation]:
        # autoescape: a chat id with "%" or "_" (a forged one) must not match other people's dialogs.
        return (await self.session.scalars(select(Conversation).where(
            Conversation.channel == channel,
            (Conversation.chat_id == chat_id) | Conversation.chat_id.endswith(f"/{chat_id}", autoescape=True)))).all()

    async def active_conversations(self) -> Sequence[Conversation]:
        """Dialogs under way (a staff member's answer being written may quote an appeal)."""
        return (await self.session.scalars(select(Conversation).where(Conversation.state != ""))).all()

    async def stale_conversations(self, before: datetime, limit: int) -> Sequence[Conversation]:
        return (await self.session.scalars(select(Conversation).where(
            Conversation.updated_at < before, Conversation.state != "").limit(limit))).all()

    async def drop_conversations(self, conversations: Sequence[Conversation]) -> None:
        for conversation in conversations:
            await self.session.delete(conversation)

    async def drop_files(self, appeal_id: int, sources: Sequence[str] | None = None) -> None:
        query = delete(AppealAttachment).where(AppealAttachment.appeal_id == appeal_id)
        if sources is not None:
            query = query.where(AppealAttachment.source.in_(list(sources)))
        await self.session.execute(query)

    async def messages_to(self, channel: str, chat_id: str) -> Sequence[OutboxMessage]:
        return (await self.session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id))).all()

    async def scrub_messages(self, needles: Sequence[str], since: datetime | None = None) -> None:
        """Messages about a person to anyone (a needle in the text): the text goes, unsent ones are not sent.
        ``needles`` are spelt as the JSON column stores them."""
        if not needles:
            return
        target = or_(*[cast(OutboxMessage.reply, Text).contains(n, autoescape=True) for n in needles])
        if since is not None:
            target = target & (OutboxMessage.created_at >= since)
        await self.session.execute(update(OutboxMessage).where(target, OutboxMessage.status == "pending")
                                   .values(status="failed", last_error="erased"))
        await self.session.execute(update(OutboxMessage).where(target).values(reply={"text": ""}))

    async def messages_mentioning(self, needles: Sequence[str]) -> Sequence[OutboxMessage]:
        if not needles:
            return []
        return (await self.session.scalars(select(OutboxMessage).where(
            or_(*[cast(OutboxMessage.reply, Text).contains(n, autoescape=True) for n in needles]))
            .execution_options(populate_existing=True))).all()

    async def stored_replies_mentioning(self, needles: Sequence[str]) -> Sequence[ProcessedUpdate]:
        if not needles:
            return []
        return (await self.session.scalars(select(ProcessedUpdate).where(
            or_(*[cast(ProcessedUpdate.replies, Text).contains(n, autoescape=True) for n in needles]))
            .execution_options(populate_existing=True))).all()

    async def erase_chat(self, channel: str, chat_id: str, erased_chat: str) -> None:
        """Messages to the person: none is sent any more, none keeps its text or the chat id."""
        to_person = (OutboxMessage.channel == channel) & (OutboxMessage.chat_id == chat_id)
        await self.session.execute(update(OutboxMessage).where(to_person, OutboxMessage.status == "pending")
                                   .values(status="failed", last_error="erased"))
        await self.session.execute(update(OutboxMessage).where(to_person)
                                   .values(reply={"text": ""}, chat_id=erased_chat))

    async def forget_delivered(self, before: datetime) -> None:
        """Messages delivered (or given up) long ago keep no text; the platform's message id stays for edits."""
        await self.session.execute(update(OutboxMessage).where(
            OutboxMessage.status != "pending", OutboxMessage.created_at < before,
            cast(OutboxMessage.reply, Text) != '{"text": ""}').values(reply={"text": ""}))

    async def scrub_stored_replies(self, user_ref: str | None, needles: Sequence[str]) -> None:
        """Replies kept for a repeated update: the person's own, and anyone's that mention them."""
        conditions = [cast(ProcessedUpdate.replies, Text).contains(n, autoescape=True) for n in needles]
        if user_ref is not None:
            conditions.append(ProcessedUpdate.user_ref == user_ref)
        if conditions:
            await self.session.execute(update(ProcessedUpdate).where(or_(*conditions))
                                       .values(replies=None, user_ref=None))

    async def prune_updates(self, before: datetime) -> int:
        result = await self.session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < before))
        return int(getattr(result, "rowcount", 0) or 0)

    async def ratings(self, appeal_id: int) -> Sequence[AppealRating]:
        return (await self.session.scalars(select(AppealRating).where(AppealRating.appeal_id == appeal_id)
                                           .order_by(AppealRating.answer_no))).all()

    async def memberships(self, user_id: int) -> Sequence[GroupMember]:
        return (await self.session.scalars(select(GroupMember).where(GroupMember.user_id == user_id)
                                           .order_by(GroupMember.id))).all()

    async def dissents(self, user_id: int) -> Sequence[Dissent]:
        return (await self.session.scalars(select(Dissent).where(Dissent.user_id == user_id)
                                           .order_by(Dissent.id))).all()

    async def expired_closed(self, statuses: Sequence[str], before: datetime, limit: int) -> Sequence[Appeal]:
        return (await self.session.scalars(
            select(Appeal).where(Appeal.status.in_(list(statuses)), Appeal.answered_at < before,
                                 Appeal.citizen_name.is_not(None)).order_by(Appeal.id).limit(limit))).all()
