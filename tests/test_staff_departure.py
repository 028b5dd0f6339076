"""Staff who leave receive nothing: revoked or moved operators, removed group members, unstaffed ministries."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot import cli_staff
from bot.app import App
from bot.events import Reply
from bot.scheduler import build_scheduler
from bot.services import meetings
from bot.services.followups import JOIN_WINDOW
from bot.services.meetings import Office as GroupOffice
from bot.services.outbox import notify_user
from storage.expert_repo import ExpertRepo
from storage.models import OutboxMessage, User
from storage.repositories import Repositories
from tests.conftest import Clock
from tests.test_ministry_work import Office, press_on, submit
from tests.utils.chat import Chat


@pytest.fixture
def office(app: App, clock: Clock) -> Office:
    return Office(app, clock)


async def outbox_rows(app: App, chat_id: str) -> list[OutboxMessage]:
    async with app.sessionmaker() as session:
        return list((await session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id))).all())


async def admin(app: App, command: str, user: str, **options: str) -> int:
    handler = {"revoke": cli_staff.revoke_command, "move": cli_staff.move_command}[command]
    return await handler(argparse.Namespace(user=user, **options), app)


async def history(office: Office, viewer: Chat) -> str:
    await viewer.send("/appeal ЦУР-2026-000001")
    return viewer.text


async def test_a_revoked_operator_gets_nothing_more_and_the_appeal_goes_back_to_the_ministry(
        office: Office, citizen: Chat, capsys: pytest.CaptureFixture[str]) -> None:
    ivan = await office.staff_member("ivan")
    olga = await office.staff_member("olga")
    await submit(citizen)
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Взять"))
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Уточнить"))
    await ivan.send("Уточните, пожалуйста, номер подъезда.")
    await ivan.press("Отправить гражданину")
    await office.deliver()
    await citizen.press_payload(press_on(citizen, office.last(citizen), "Ответить"))
    await citizen.send("Второй подъезд, квартира 17, телефон 8 900 123-45-67.")
    ivan_before = len(office.inbox(ivan))
    olga_before = len(office.inbox(olga))

    assert await admin(office.app, "revoke", "console:ivan") == 0  # before the reply went out
    assert "handed back to the ministry: 1 (ЦУР-2026-000001)" in capsys.readouterr().out
    office.clock.now += JOIN_WINDOW  # the joined reply would be due now
    await office.deliver()

    assert len(office.inbox(ivan)) == ivan_before, "the revoked operator received the citizen's reply"
    assert "квартира 17" not in office.sender.texts(ivan.user_id)
    cancelled = [r for r in await outbox_rows(office.app, "ivan") if r.status == "cancelled"]
    assert cancelled and all(r.last_error.startswith("audience:") for r in cancelled)
    # A fresh card (a new message, not an edit far up the chat) offers the appeal to the ministry again.
    fresh = office.inbox(olga)[olga_before:]
    assert len(fresh) == 1 and "ЦУР-2026-000001" in fresh[0].text
    assert any("Взять" in b.label for row in fresh[0].buttons for b in row)
    appeal = await office.appeal()
    assert appeal.assignee_id is None and appeal.status == "registered"
    # The reply that was on its way to him is not lost: the ministry reads it in the history.
    seen = await history(office, olga)
    assert "возвращено в министерство" in seen and "квартира 17" in seen
    await ivan.send("/queue")
    assert "для сотрудников" in ivan.text


async def test_moving_an_operator_hands_back_the_old_ministrys_appeals_and_supervisors_see_them(
        office: Office, citizen: Chat, capsys: pytest.CaptureFixture[str]) -> None:
    ivan = await office.staff_member("ivan")
    boss = await office.staff_member("boss", role="supervisor", ministry=None)
    await submit(citizen)
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Взять"))
    boss_before = len(office.inbox(boss))

    assert await admin(office.app, "move", "console:ivan", ministry="space") == 2
    assert "unknown ministry 'space'" in capsys.readouterr().err
    assert await admin(office.app, "move", "console:ivan", ministry="health") == 0
    await office.deliver()

    async with office.app.sessionmaker() as session:
        moved = await Repositories(session).users.find("console", "ivan")
    assert moved is not None and moved.role == "operator" and moved.ministry_id == "health"
    # Nobody is left in energy_housing: the supervisor gets the card, with Take.
    fresh = office.inbox(boss)[boss_before:]
    assert len(fresh) == 1 and "ЦУР-2026-000001" in fresh[0].text
    assert any("Взять" in b.label for row in fresh[0].buttons for b in row)
    await ivan.press_payload(press_on(ivan, office.inbox(ivan)[-1], "Ответить"))
    assert "Напишите ответ" not in ivan.text  # the old ministry's buttons no longer work for him


async def test_every_staff_message_is_checked_again_when_sent(office: Office, citizen: Chat) -> None:
    """Another instance (or a direct change) took the role away after the card was queued: it is not sent."""
    ivan = await office.staff_member("ivan")
    olga = await office.staff_member("olga")
    await submit(citizen)  # cards queued for both, not yet sent
    async with office.app.sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.platform_id == "ivan").values(role="citizen", ministry_id=None))
    await office.deliver()
    assert office.inbox(ivan) == []
    assert "ЦУР-2026-000001" in office.last(olga).text
    dropped = [r for r in await outbox_rows(office.app, "ivan") if r.dedup_key.startswith("card:")]
    assert [r.status for r in dropped] == ["dropped"]
    assert dropped[0].last_error and "not of energy_housing" in dropped[0].last_error
    assert office.outbox.stats["dropped"] == 1


async def test_a_reminder_queued_for_quiet_hours_does_not_reach_an_operator_moved_meanwhile(
        app: App, office: Office, citizen: Chat, clock: Clock) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Взять"))
    await office.deliver()
    before = len(office.inbox(ivan))
    async with app.sessionmaker() as session, session.begin():
        appeal = await Repositories(session).appeals.by_number("ЦУР-2026-000001")
        assert appeal is not None
        appeal.next_reminder_at = clock.now
    await build_scheduler(app, clock).run("deadline-reminders")
    assert [r.status for r in await outbox_rows(app, "ivan") if r.dedup_key.startswith("remind:")] == ["pending"]
    async with app.sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.platform_id == "ivan").values(ministry_id="health"))
    clock.now += timedelta(days=1)
    await office.deliver()
    assert len(office.inbox(ivan)) == before
    assert [r.status for r in await outbox_rows(app, "ivan") if r.dedup_key.startswith("remind:")] == ["dropped"]


async def test_an_appeal_to_a_ministry_without_operators_reaches_the_supervisors_and_the_digest_names_it(
        app: App, office: Office, citizen: Chat, clock: Clock) -> None:
    ivan = await office.staff_member("ivan")  # energy_housing is staffed; health is not
    boss = await office.staff_member("boss", role="supervisor", ministry=None)
    await submit(citizen, sector="Здравоохранение", category="Прочие")
    await office.deliver()
    card = office.last(boss)
    assert "ЦУР-2026-000001" in card.text and any("Взять" in b.label for row in card.buttons for b in row)
    assert office.inbox(ivan) == []
    await build_scheduler(app, clock).run("overdue-digests")  # Monday, 10:00: working hours
    await office.deliver()
    digest = office.last(boss).text
    assert "без операторов" in digest and "Министерство здравоохранения: 1 открытое обращение" in digest
    assert "Министерство энергетики" not in digest.split("без операторов")[1]


async def test_a_member_removed_from_the_group_gets_no_notice_vote_or_protocol(
        app: App, office: Office, clock: Clock) -> None:
    anna, boris = Chat(app.conversations, user_id="anna"), Chat(app.conversations, user_id="boris")
    for chat in (anna, boris):
        await chat.send("/start")
    async with app.sessionmaker() as session, session.begin():
        repo = Repositories(session)
        group_office = GroupOffice(repo, app.settings, app.calendar, clock.now)
        people = {p: await repo.users.find("console", p) for p in ("anna", "boris")}
        for user in people.values():
            assert user is not None
            await meetings.join(group_office, user, "nsi", "member", "Член группы")
            await group_office.tell(user, meetings_notice(), f"test:{user.id}", group="nsi")
    async with app.sessionmaker() as session, session.begin():
        repo = Repositories(session)
        assert await meetings.remove_member(GroupOffice(repo, app.settings, app.calendar, clock.now), "nsi",
                                            people["boris"].id)  # type: ignore[union-attr]
    await office.deliver()
    assert "Заседание" in office.sender.texts("anna") and office.sender.inbox["boris"] == []
    assert [r.status for r in await outbox_rows(app, "boris") if r.dedup_key.startswith("test:")] == ["cancelled"]
    # Removed after the row was queued and without the cancel (another instance): dropped when sent.
    async with app.sessionmaker() as session, session.begin():
        repo = Repositories(session)
        anna_user = await repo.users.find("console", "anna")
        assert anna_user is not None
        await notify_user(repo, anna_user, meetings_notice(), dedup_key="test:again", now=clock.now,
                          audience={"group": "nsi"})
        member = await ExpertRepo(session).membership("nsi", anna_user.id)
        assert member is not None
        member.active = False
    before = len(office.sender.inbox["anna"])
    await office.deliver()
    assert len(office.sender.inbox["anna"]) == before


def meetings_notice() -> Reply:
    return Reply(text="Заседание группы 1 декабря")


async def test_a_handed_back_card_taken_before_it_went_out_still_comes_as_a_new_message(
        office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    olga = await office.staff_member("olga")
    await submit(citizen)
    await office.deliver()
    old_card = office.last(olga)
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Взять"))
    await office.deliver()
    before = len(office.inbox(olga))
    assert await admin(office.app, "revoke", "console:ivan") == 0
    await olga.press_payload(press_on(olga, old_card, "Взять"))  # from the old card, before the new one came
    assert "теперь у вас" in olga.text
    await office.deliver()
    fresh = office.inbox(olga)[before:]
    assert len(fresh) == 1 and "Сотрудник olga" in fresh[0].text
    assert not any("Взять" in b.label for row in fresh[0].buttons for b in row)
