"""A meeting that ends in a protocol the chair would sign, through the conversations (console level).

Two items, one member absent, one leaving before the second vote, a tie decided by the presiding member,
a dissenting opinion and a declined one; the agenda approved by the chair, a guest, the protocol sent back
and corrected, approved in the bot and read back with python-docx.
"""

from __future__ import annotations

from argparse import Namespace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import pytest

from bot import cli_groups
from bot.app import App
from bot.config import Settings
from bot.events import Attachment, Reply
from bot.payloads import make
from tests.conftest import Clock
from tests.test_experts_dialog import inbox, invite, latest, press_in_inbox
from tests.utils.chat import Chat

MSK = ZoneInfo("Europe/Moscow")
TEAM = [("chair", "Орлова Анна Сергеевна"), ("secretary", "Зайцева Мария Олеговна"),
        ("member", "Кузнецов Игорь Павлович"), ("member", "Смирнова Ольга Викторовна"),
        ("member", "Волков Денис Андреевич"), ("member", "Морозова Елена Юрьевна")]
FIRST = "Утвердить план работы группы на 2027 год."
SECOND = "Объявить конкурс социальных проектов с 1 февраля 2027 года."


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The whole story happens in one frozen minute: the per-person rate limit would be its business only.
    settings.limits.messages_per_minute = 1000
    return settings


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=MSK).astimezone(UTC)


async def join(app: App) -> list[Chat]:
    team = []
    for n, (role, name) in enumerate(TEAM, 1):
        chat = Chat(app.conversations, user_id=str(4000 + n))
        await chat.send(f"/start {await invite(app, role)}")
        await chat.send(name)
        team.append(chat)
    return team


async def prepare(app: App, chair: Chat, secretary: Chat) -> None:
    """The secretary drafts, edits the preview, the chair sends it back once, then approves it."""
    await secretary.send("/meeting_new")
    await secretary.send("03.12.2026 15:00")
    await secretary.press("Видеоконференция")
    await secretary.send("Зал 2")                                    # not a link
    assert "нужна ссылка" in secretary.text
    await secretary.send("https://telemost.yandex.ru/j/555")
    await secretary.send("О плане работы на 2027 год")
    await secretary.send(FIRST)
    await secretary.send("О конкурсе социальных проектов")
    await secretary.send("Объявить конкурс.")
    await secretary.press("Готово")
    await secretary.press("Следующий вопрос")
    await secretary.press("Готово ➜")
    # The preview lets every field change: the format back to in person, item 2's draft decision, a speaker.
    await secretary.press("Формат")
    await secretary.press("Очно")
    await secretary.send("Дом правительства, зал 2")
    assert "так его увидят члены группы" in secretary.text and "Дом правительства, зал 2" in secretary.text
    await secretary.press("Вопрос 2")
    await secretary.press("Проект решения")
    await secretary.send(SECOND)
    await secretary.press("Вопрос 1")
    await secretary.press("Докладчик")
    await secretary.send("Орлова Анна Сергеевна")
    assert f"Проект решения: {SECOND}" in secretary.text and "Докладчик: Орлова Анна Сергеевна" in secretary.text
    await secretary.press("Добавить вопрос")                          # an item more, then removed again
    await secretary.send("Разное")
    await secretary.send("Принять информацию к сведению.")
    await secretary.press("Готово")
    for _ in range(2):
        await secretary.press("Следующий вопрос")
    await secretary.press("Готово ➜")
    assert "3. Разное" in secretary.text
    await secretary.press("Вопрос 3")
    await secretary.press("Удалить вопрос")
    assert "3. Разное" not in secretary.text and "2. О конкурсе социальных проектов" in secretary.text
    await secretary.press("На утверждение председателю")
    assert not [r for r in await inbox(app, Chat(app.conversations, user_id="4006")) if "Уведомление" in r.text]

    request = await latest(app, chair, "Повестка на утверждение")
    assert FIRST in request.text and SECOND in request.text
    await press_in_inbox(app, chair, "Вернуть с замечанием")
    await chair.send("Добавьте докладчика по второму вопросу.")
    assert "возвращена автору" in chair.text
    returned = await latest(app, secretary, "Председатель вернул повестку")
    assert "Добавьте докладчика по второму вопросу." in returned.text
    await secretary.send("/meeting 1")
    await secretary.press("Изменить повестку")
    await secretary.press("О конкурсе")
    await secretary.press("Докладчик")
    await secretary.send("Кузнецов Игорь Павлович")
    await secretary.send("/meeting 1")
    await secretary.press("Пригласить гостя")
    await secretary.send("Ким Олег Петрович, заместитель министра финансов")
    code = secretary.text.split("/start ")[1].split()[0]
    await secretary.send("/meeting 1")
    await secretary.press("Отправить председателю")
    await press_in_inbox(app, chair, "Утвердить и разослать")
    assert "Повестка утверждена, уведомления отправлены членам группы (6)" in chair.text
    guest = Chat(app.conversations, user_id="4100")
    await guest.send(f"/start {code}")
    assert "приглашённый на заседание №1" in guest.text
    notice = await latest(app, guest, "Вы приглашены на заседание")
    assert SECOND in notice.text and not notice.buttons          # no answer, no vote


async def test_a_meeting_ends_in_a_protocol_the_chair_would_sign(app: App, clock: Clock) -> None:
    clock.now = msk(1, 10)
    team = await join(app)
    chair, secretary, kuznetsov, smirnova, volkov, morozova = team
    await prepare(app, chair, secretary)

    # After publishing, an item still changes until its vote opens; members are told.
    await secretary.send("/meeting 1")
    await secretary.press("Изменить повестку")
    await secretary.press("О плане работы")
    await secretary.press("Формулировка")
    await secretary.send("О плане работы группы на 2027 год")
    changed = await latest(app, morozova, "Повестка заседания изменена")
    assert "1. О плане работы группы на 2027 год" in changed.text
    guest_notice = await latest(app, Chat(app.conversations, user_id="4100"), "Повестка заседания изменена")
    assert not guest_notice.buttons                                   # the invited person is told too, no answer

    clock.now = msk(3, 15)
    await secretary.send("/meeting 1")
    await secretary.press("Начать заседание")
    for member in (chair, secretary, kuznetsov, smirnova, volkov):      # Морозова is absent
        await press_in_inbox(app, member, "Я на заседании")

    # Item 1: 3 «за» of 5 present — adopted; Смирнова against, she states a dissenting opinion.
    clock.now = msk(3, 15, 10)
    await chair.send("/meeting 1")
    await chair.press("Открыть голосование")
    await chair.press("О плане работы")
    await chair.press("До закрытия")
    ballot = await latest(app, kuznetsov, "🗳 Голосование")
    assert f"Проект решения: {FIRST}" in ballot.text                   # members vote on that wording
    for member, label in ((chair, "За"), (secretary, "За"), (kuznetsov, "За"), (smirnova, "Против"),
                          (volkov, "Воздержался")):
        await press_in_inbox(app, member, label)
    await chair.send("/meeting 1")
    await chair.press("Закрыть голосование")
    result = await latest(app, morozova, "Итоги голосования")
    assert "Решение принимается большинством голосов присутствующих: нужно 3 из 5, «за» — 3" in result.text
    assert not result.buttons                                          # not against: no dissent offered
    offer = await latest(app, smirnova, "Итоги голосования")
    assert [b.label for b in offer.buttons[0]] == ["✍ Особое мнение", "Без особого мнения"]
    await press_in_inbox(app, smirnova, "Особое мнение")
    await smirnova.send("План не учитывает нужды сельских районов.")

    # Волков leaves at 15:40, before the second vote: no ballot, and a forged press is refused.
    clock.now = msk(3, 15, 40)
    leave = [b for r in volkov.transcript for row in r.buttons for b in row if "Покинуть заседание" in b.label]
    await volkov.press_payload(leave[-1].payload)             # the button under "you are marked present"
    assert "покинувший заседание" in volkov.text

    # Item 2: present 4; 1 «за» (the chair), 1 «против», 2 abstain — a tie among those who voted.
    clock.now = msk(3, 15, 50)
    await chair.send("/meeting 1")
    await chair.press("Открыть голосование")
    await chair.press("О конкурсе")
    await chair.press("До закрытия")
    assert "бюллетени у 4 присутствующих" in chair.text
    second_vote = [r for r in await inbox(app, chair) if "🗳 Голосование" in r.text][-1].buttons[0][0].payload
    await volkov.press_payload(second_vote.replace(":f", ":a"))
    assert "Вы не можете голосовать" in volkov.text
    for member, label in ((chair, "За"), (kuznetsov, "Против"), (secretary, "Воздержался"),
                          (smirnova, "Воздержался")):
        await press_in_inbox(app, member, label)
    await chair.send("/meeting 1")
    await chair.press("Закрыть голосование")
    tie = await latest(app, volkov, "Вопрос 2")
    assert "нужно 3 из 4, «за» — 1" in tie.text
    assert "решающим стал голос председательствующего (Орлова Анна Сергеевна, «за»)" in tie.text
    await press_in_inbox(app, kuznetsov, "Без особого мнения")
    assert "без особого мнения" in kuznetsov.text
    await press_in_inbox(app, kuznetsov, "Особое мнение")               # offered once; the protocol did not wait

    # Both offers answered: the protocol is drafted at once, not after the dissent window.
    clock.now = msk(3, 16, 30)
    await secretary.send("/meeting 1")
    await secretary.press("Завершить заседание")
    assert "Проект протокола отправлен на подпись" in secretary.text

    # The chair sends it back; the secretary corrects a speaker and sends it again.
    await press_in_inbox(app, chair, "Вернуть на доработку")
    await chair.send("Докладчик по второму вопросу — Смирнова.")
    back = await latest(app, secretary, "возвращён на доработку")
    assert "Докладчик по второму вопросу — Смирнова." in back.text
    await press_in_inbox(app, secretary, "Исправить протокол")
    await secretary.press_payload(secretary.replies[-1].buttons[1][0].payload)    # item 2's speaker
    await secretary.send("Смирнова Ольга Викторовна")
    await press_in_inbox(app, secretary, "Исправить протокол")
    await secretary.press("Отправить на утверждение")
    assert "отправлен на утверждение" in secretary.text

    clock.now = msk(4, 14, 3)
    await press_in_inbox(app, chair, "Подписать протокол")
    clock.now = msk(4, 14, 20)
    await press_in_inbox(app, secretary, "Подписать протокол")
    assert "подписан и разослан" in secretary.text

    sent = await latest(app, morozova, "Протокол № 1")
    guest_copy = await latest(app, Chat(app.conversations, user_id="4100"), "Протокол № 1")
    assert guest_copy.attachments[0].ref == sent.attachments[0].ref   # the invited person gets the copy
    check_document(sent)

    await secretary.send("/meeting 1")
    await secretary.press("Сводка для сайта")
    summary = secretary.text
    for expected in ("03.12.2026", "1. О плане работы группы на 2027 год", f"Решили: {FIRST}",
                     "2. О конкурсе социальных проектов", f"Решили: {SECOND}"):
        assert expected in summary, expected
    assert not any(name.split()[0] in summary for _, name in TEAM)      # no names on the website


def check_document(sent: Reply) -> None:
    document = docx.Document(sent.attachments[0].ref)
    text = "\n".join(p.text for p in document.paragraphs)
    table = "\n".join(cell.text for row in document.tables[0].rows for cell in row.cells)
    for expected in ("ПРОТОКОЛ № 1", "Дата и время: 03.12.2026 15:00", "Место проведения: Дом правительства, зал 2",
                     "Председательствующий: Орлова Анна Сергеевна (председатель)", "Секретарь: Зайцева Мария Олеговна",
                     "Присутствовали (5 из 6): Орлова Анна Сергеевна, Зайцева Мария Олеговна, Кузнецов Игорь Павлович, "
                     "Смирнова Ольга Викторовна, Волков Денис Андреевич",
                     "Отсутствовали: Морозова Елена Юрьевна",
                     "Приглашённые: Ким Олег Петрович (заместитель министра финансов)",
                     "1. О плане работы группы на 2027 год", "2. О конкурсе социальных проектов",
                     "1. СЛУШАЛИ: О плане работы группы на 2027 год (докладчик: Орлова Анна Сергеевна)",
                     f"РЕШИЛИ: {FIRST}", "«Против» — 1: Смирнова Ольга Викторовна",
                     "«Воздержались» — 1: Волков Денис Андреевич",
                     "2. СЛУШАЛИ: О конкурсе социальных проектов (докладчик: Смирнова Ольга Викторовна)",
                     "При рассмотрении вопроса присутствовали 4 из 6 "
                     "(покинул(а) заседание Волков Денис Андреевич в 15:40)",
                     f"РЕШИЛИ: {SECOND}", "«За» — 1: Орлова Анна Сергеевна",
                     "«Воздержались» — 2: Зайцева Мария Олеговна, Смирнова Ольга Викторовна",
                     "При равенстве голосов решающим стал голос председательствующего («за»)",
                     "Вопрос 1. Особое мнение (Смирнова Ольга Викторовна): План не учитывает нужды сельских районов."):
        assert expected in text, expected
    # Attendance agrees with the votes: the absent member voted on nothing, the one who left not on item 2.
    voting = text[text.index("ГОЛОСОВАЛИ"):text.index("Приложение")]
    assert "Морозова" not in voting
    second = voting[voting.index("2. СЛУШАЛИ"):]
    assert "Волков" not in second[second.index("ГОЛОСОВАЛИ"):]
    assert "Кузнецов Игорь Павлович) приложено" not in text               # the declined dissent is not there
    assert "Утверждён в системе: Орлова А. С., 04.12.2026 14:03" in table
    assert "Утверждён в системе: Зайцева М. О., 04.12.2026 14:20" in table
    assert "подписан" not in (text + table).lower() and "___" not in text + table
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(x.mm) for x in (section.left_margin, section.right_margin, section.top_margin,
                                  section.bottom_margin)] == [20, 10, 20, 20]


async def test_materials_from_the_meeting_view_and_bad_input(app: App, clock: Clock) -> None:
    clock.now = msk(1, 10)
    team = await join(app)
    chair, secretary, member = team[0], team[1], team[5]
    await prepare(app, chair, secretary)
    await member.send("/meeting 1")
    assert "Материалы" not in [b.label for r in member.replies for row in r.buttons for b in row]
    await member.press_payload(make("minutes.files", 1))
    assert "пока нет материалов" in member.text
    await secretary.send("/meeting 1")
    await secretary.press("Материалы")
    await secretary.attach(Attachment("document", "file-9", "console", "Справка.pdf", 1000, "application/pdf"))
    await member.send("/meeting 1")
    await member.press("Материалы")
    assert member.replies[-1].attachments[0].name == "Справка.pdf"
    await member.press_payload(make("agenda.approve", 1))                         # not the chair
    assert "утверждает председатель" in member.text
    await member.press_payload(make("agenda.edit", 1))
    assert "только председатель, заместитель председателя или секретарь" in member.text


async def test_public_summary_is_exported_from_the_command_line(app: App, clock: Clock, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    clock.now = msk(1, 10)
    team = await join(app)
    chair, secretary = team[0], team[1]
    await prepare(app, chair, secretary)
    out = tmp_path / "site.txt"
    assert await cli_groups.summary_command(Namespace(meeting=1, out=str(out), language="ru"), app) == 1
    assert "not a finished meeting" in capsys.readouterr().err     # a meeting not held yet has no summary
    clock.now = msk(3, 15)
    await secretary.send("/meeting 1")
    await secretary.press("Начать заседание")
    for member in team[:3]:
        await press_in_inbox(app, member, "Я на заседании")
    await chair.send("/meeting 1")
    await chair.press("Открыть голосование")
    await chair.press("О плане работы")
    await chair.press("До закрытия")
    for member in team[:3]:
        await press_in_inbox(app, member, "👍 За")
    await secretary.send("/meeting 1")
    await secretary.press("Завершить заседание")
    assert await cli_groups.summary_command(Namespace(meeting=1, out=str(out), language="ru"), app) == 0
    text = out.read_text(encoding="utf-8")
    assert "Заседание 03.12.2026, форма проведения: очная" in text and f"Решили: {FIRST}" in text
    assert "2. О конкурсе социальных проектов\nГолосование не проводилось." in text
