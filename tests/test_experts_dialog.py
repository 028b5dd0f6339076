"""The expert group through the conversations, as its people would go through a meeting.

Messages to other people go through the outbox; a member's "inbox" here is the outbox rows for their chat,
and pressing a button there feeds its payload back like the messenger would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import docx
from sqlalchemy import select

from bot.app import App
from bot.events import Attachment, Reply
from bot.payloads import make
from bot.services import staff
from storage.expert_models import Vote
from storage.models import OutboxMessage
from storage.repositories import Repositories
from tests.conftest import Clock
from tests.utils.chat import Chat

MSK = ZoneInfo("Europe/Moscow")
TEAM = [("chair", "Орлова Анна Сергеевна"), ("deputy", "Белов Пётр Ильич"),
        ("secretary", "Зайцева Мария Олеговна"), ("member", "Кузнецов Игорь Павлович"),
        ("member", "Смирнова Ольга Викторовна"), ("member", "Волков Денис Андреевич"),
        ("member", "Морозова Елена Юрьевна"), ("member", "Новиков Артём Сергеевич"),
        ("member", "Фёдорова Дарья Ильинична"), ("member", "Егоров Максим Олегович")]


def msk(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK).astimezone(UTC)


async def invite(app: App, role: str, group: str = "nsi") -> str:
    async with app.sessionmaker() as session, session.begin():
        return (await staff.create_invite(Repositories(session), app.settings, role, None, datetime.now(UTC),
                                          group_id=group)).code


async def join_team(app: App) -> list[Chat]:
    """Ten people redeem their invites (/start CODE, as from the deep link) and give their names."""
    team = []
    for n, (role, name) in enumerate(TEAM, 1):
        chat = Chat(app.conversations, user_id=str(2000 + n))
        await chat.send(f"/start {await invite(app, role)}")
        assert "Вы включены в состав: Региональная экспертная группа НСИ" in chat.text
        await chat.send(name)
        assert "имя сохранено" in chat.text
        team.append(chat)
    return team


async def inbox(app: App, chat: Chat) -> list[Reply]:
    async with app.sessionmaker() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat.user_id)
                                     .order_by(OutboxMessage.id))
        return [Reply.from_dict(row.reply) for row in rows]


async def latest(app: App, chat: Chat, containing: str) -> Reply:
    found = [reply for reply in await inbox(app, chat) if containing in reply.text]
    assert found, f"{chat.user_id} got no message with {containing!r}"
    return found[-1]


async def press_in_inbox(app: App, chat: Chat, label: str) -> None:
    """Press ``label`` on the latest message in the chat's inbox that has it."""
    for reply in reversed(await inbox(app, chat)):
        for row in reply.buttons:
            for button in row:
                if label.casefold() in button.label.casefold():
                    await chat.press_payload(button.payload)
                    return
    raise AssertionError(f"{chat.user_id} has no button {label!r}")


async def schedule_in_person(secretary: Chat) -> None:
    await secretary.send("/meeting_new")
    assert "Когда заседание?" in secretary.text
    await secretary.send("завтра после обеда")
    assert "Не понял дату" in secretary.text
    await secretary.send("20.11.2026 15:00")
    assert "уже прошло" in secretary.text
    await secretary.send("05.12.2026 11:00")     # a Saturday
    assert "нерабочий день по производственному календарю" in secretary.text
    await secretary.press("Изменить дату")
    await secretary.send("03.12.2026 15:00")     # Thursday, eight working days ahead: no warning
    await secretary.press("Очно")
    assert "Где пройдёт заседание?" in secretary.text
    await secretary.send("Дом правительства, зал 2")
    await secretary.press_payload(make("meeting.agenda_done"))   # no Done button yet; a forged press is refused
    assert "нет ни одного вопроса" in secretary.text
    await secretary.send("О плане работы на 2027 год")
    assert "проект решения по вопросу 1" in secretary.text
    await secretary.send("Утвердить план работы группы на 2027 год.")
    await secretary.send("О конкурсе социальных проектов")
    await secretary.send("Объявить конкурс социальных проектов.")
    assert "Вопрос 2 добавлен" in secretary.text
    await secretary.press("Готово")
    assert "Материалы к вопросу 1 «О плане работы на 2027 год»" in secretary.text
    await secretary.attach(Attachment("document", "tg-file-1", "console", "План работы.pdf", 120_000,
                                      "application/pdf"))
    assert "Добавлено файлов: 1" in secretary.text
    await secretary.press("Следующий вопрос")
    await secretary.press("Готово ➜")
    assert "так его увидят члены группы" in secretary.text and "Файлов материалов: 1" in secretary.text
    await secretary.press("На утверждение председателю")
    assert "отправлено председателю на утверждение" in secretary.text


async def approve_agenda(app: App, chair: Chat) -> None:
    await press_in_inbox(app, chair, "Утвердить и разослать")
    assert "Повестка утверждена, уведомления отправлены членам группы (10)" in chair.text


async def test_a_meeting_from_the_notice_to_the_signed_protocol(app: App, clock: Clock) -> None:
    team = await join_team(app)
    chair, deputy, secretary, kuznetsov, smirnova = team[:5]
    await schedule_in_person(secretary)
    await approve_agenda(app, team[0])

    # The notice carries date, time, place and agenda in the message itself.
    notice = await latest(app, team[9], "Уведомление о заседании")
    for expected in ("03.12.2026 в 15:00", "Дом правительства, зал 2", "1. О плане работы на 2027 год",
                     "2. О конкурсе социальных проектов"):
        assert expected in notice.text
    for n in range(6):
        await press_in_inbox(app, team[n], "Буду")
    for n in (6, 7):
        await press_in_inbox(app, team[n], "Не смогу")
    await press_in_inbox(app, team[8], "Не уверен")
    await team[8].press("Буду")                  # changed the answer on the same message
    assert "Ваш ответ: буду" in team[8].text and team[8].replies[0].replace

    await chair.send("/meeting 1")
    assert "Прогноз кворума: кворум будет" in chair.text and "Будут (7)" in chair.text
    assert "Не смогут (2): Морозова Елена Юрьевна, Новиков Артём Сергеевич" in chair.text
    await team[9].send("/meeting 1")             # a member sees the card and can answer, not the forecast
    assert "Прогноз" not in team[9].text and "ещё не ответили" in team[9].text
    outsider = Chat(app.conversations, user_id="3001")
    await outsider.send("/meeting 1")
    assert "не состоите" in outsider.text

    # The meeting day. Members check in; the secretary marks herself.
    clock.now = msk(2026, 12, 3, 14, 55)
    await secretary.send("/meeting 1")
    await secretary.press("Начать заседание")
    assert "Присутствуют 0 из 10, для кворума нужно 4: кворума нет" in secretary.text
    for member in (chair, deputy, kuznetsov):
        await press_in_inbox(app, member, "Я на заседании")
        assert "Отмечено: присутствует" in member.text
    await press_in_inbox(app, kuznetsov, "Я на заседании")
    assert "уже отмечены" in kuznetsov.text                  # a repeated press changes nothing

    await chair.send("/meeting 1")
    await chair.press("Открыть голосование")
    await chair.press("О плане работы")
    await chair.press("До закрытия")
    assert "Нет кворума: присутствуют 3, нужно 4" in chair.text

    await press_in_inbox(app, smirnova, "Я на заседании")
    await secretary.press("Присутствие")
    await secretary.press("Зайцева")
    assert "Присутствуют 5 из 10, для кворума нужно 4: кворум есть" in secretary.text

    await chair.press("Открыть голосование")
    await chair.press("О плане работы")
    await chair.press("До закрытия")
    assert "открыто, бюллетени у 5 присутствующих" in chair.text
    async with app.sessionmaker() as session:
        vote_id = (await session.scalar(select(Vote.id)))
    assert len([r for r in await inbox(app, team[9]) if "🗳 Голосование" in r.text]) == 0  # absent: no ballot

    await team[9].press_payload(make("meeting.ballot", vote_id, "f"))          # absent, pressing a forged ballot
    assert "Вы не можете голосовать" in team[9].text
    await outsider.press_payload(make("meeting.ballot", vote_id, "f"))
    assert "Вы не можете голосовать" in outsider.text
    for member, label in ((chair, "За"), (deputy, "За"), (secretary, "За"), (kuznetsov, "Против"),
                          (smirnova, "Против")):
        await press_in_inbox(app, member, label)
        assert "Ваш голос" in member.text
    await smirnova.press("За")                   # changed before the close
    assert "Ваш голос: за" in smirnova.text

    await deputy.press_payload(make("meeting.vote_close", vote_id))             # not the presiding member
    assert "председательствующий" in deputy.text
    await chair.send("/meeting 1")
    await chair.press("Закрыть голосование")
    assert "за 4, против 1, воздержались 0. Решение принято." in chair.text
    await kuznetsov.press("За")
    assert "Голосование уже закрыто" in kuznetsov.text

    result = await latest(app, team[7], "Итоги голосования")       # everyone, present or not, gets the result
    assert "За — 4: Орлова Анна Сергеевна, Белов Пётр Ильич, Зайцева Мария Олеговна, Смирнова Ольга Викторовна" \
        in result.text
    assert "Против — 1: Кузнецов Игорь Павлович" in result.text and "Решение принято." in result.text
    await chair.press_payload(make("meeting.dissent", vote_id))
    assert "голосовавший «против»" in chair.text
    await press_in_inbox(app, kuznetsov, "Особое мнение")
    await kuznetsov.send("План не учитывает нужды сельских районов.")
    assert "Особое мнение сохранено" in kuznetsov.text

    await secretary.send("/meeting 1")
    await secretary.press("Завершить заседание")
    assert "Проект протокола отправлен на подпись" in secretary.text

    approval = await latest(app, chair, "Проект протокола")
    document = approval.attachments[0]
    assert (document.kind, document.channel, document.name) == ("document", "local",
                                                                "Протокол № 1 от 03.12.2026.docx")
    await kuznetsov.press_payload(approval.buttons[0][0].payload)      # not a signer
    assert "подписывают председательствующий и секретарь" in kuznetsov.text
    await press_in_inbox(app, chair, "Подписать протокол")
    assert "ждём вторую подпись" in chair.text
    await press_in_inbox(app, secretary, "Подписать протокол")
    assert "подписан и разослан" in secretary.text

    sent = await latest(app, team[6], "Протокол № 1")
    text = "\n".join(p.text for p in docx.Document(sent.attachments[0].ref).paragraphs)
    for expected in ("ПРОТОКОЛ № 1", "Председательствующий: Орлова Анна Сергеевна (председатель)",
                     "Секретарь: Зайцева Мария Олеговна", "Присутствовали (5 из 10)",
                     "Кворум имеется (необходимо не менее 4, присутствует 5)",
                     "«Против» — 1: Кузнецов Игорь Павлович",
                     "РЕШИЛИ: Утвердить план работы группы на 2027 год.",
                     "Вопрос 1. Особое мнение (Кузнецов Игорь Павлович): План не учитывает нужды сельских районов.",
                     "2. СЛУШАЛИ: О конкурсе социальных проектов", "Голосование не проводилось."):
        assert expected in text, expected


async def test_rescheduling_and_cancelling_notify_everyone(app: App, clock: Clock) -> None:
    team = await join_team(app)
    secretary = team[2]
    await schedule_in_person(secretary)
    await approve_agenda(app, team[0])
    await press_in_inbox(app, team[4], "Буду")
    await secretary.send("/meeting 1")
    await secretary.press("Перенести")
    await secretary.send("10.12.2026 11:00")
    assert "перенесено на 10.12.2026 11:00" in secretary.text
    moved = await latest(app, team[4], "перенесено")
    assert "было: 03.12.2026 15:00" in moved.text and "10.12.2026 в 11:00" in moved.text
    await team[4].send("/meeting 1")
    assert "ещё не ответили" in team[4].text     # a "yes" was for the old date
    await team[4].press("Не уверен")
    assert "Ваш ответ: не уверен" in team[4].text

    await secretary.send("/meeting 1")
    await secretary.press("Отменить заседание")
    await secretary.press("Да, отменить")
    assert "Заседание №1 отменено" in secretary.text
    assert len([r for m in team for r in await inbox(app, m) if "Заседание отменено" in r.text]) == 10
    await press_in_inbox(app, team[5], "Буду")   # a button of the old notice
    assert "больше не принимаются" in team[5].text


async def test_only_chair_deputy_or_secretary_schedule(app: App) -> None:
    team = await join_team(app)
    await team[5].send("/meeting_new")
    assert "только председатель, заместитель председателя или секретарь" in team[5].text
    outsider = Chat(app.conversations, user_id="3001")
    await outsider.send("/meetings")
    assert "не состоите" in outsider.text
    await team[0].send("/meetings")              # the chair may start one from the list
    await team[0].press("Назначить заседание")
    assert "Когда заседание?" in team[0].text


async def test_an_absentee_vote_through_the_dialog(app: App) -> None:
    team = await join_team(app)
    secretary = team[2]
    await secretary.send("/meeting_new")
    await secretary.send("10.12.2026 18:00")
    await secretary.press("Заочное голосование")
    assert "Напишите первый вопрос" in secretary.text      # no place to ask for
    await secretary.send("Об утверждении положения о конкурсе")
    await secretary.send("Утвердить положение о конкурсе.")
    await secretary.press("Готово")
    await secretary.press("Готово ➜")
    await secretary.press("На утверждение председателю")
    assert "Заочное голосование №1 отправлено председателю" in secretary.text
    assert not [r for r in await inbox(app, team[6]) if "Голосование" in r.text]   # nothing before approval
    await press_in_inbox(app, team[0], "Утвердить и разослать")
    notice = await latest(app, team[6], "Объявлено заочное голосование")   # a vote, not a meeting
    assert "Уведомление о заседании" not in notice.text and not notice.buttons
    ballot = await latest(app, team[6], "🗳 Голосование")
    assert "Об утверждении положения о конкурсе" in ballot.text and "до 10.12.2026 18:00" in ballot.text
    await press_in_inbox(app, team[6], "Воздержался")
    assert "Ваш голос: воздержался" in team[6].text
