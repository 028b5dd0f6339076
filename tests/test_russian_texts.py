"""Russian as people write it: cases, plural forms, no abbreviations, forms that fit everyone."""

from __future__ import annotations

import re
from pathlib import Path

from bot.app import App
from tests.conftest import Clock
from tests.test_ministry_work import Office, press_on, submit
from tests.utils.chat import Chat

ROOT = Path(__file__).resolve().parent.parent


async def test_the_citizen_reads_proper_russian_through_an_appeal(app: App, clock: Clock, citizen: Chat) -> None:
    await citizen.send("/start")
    assert "органам власти Энской области" in citizen.text
    await citizen.press("Согласен")
    await citizen.send("Петрова Анна")
    await citizen.press("Пропустить")
    await citizen.press("ЖКХ")
    await citizen.press("освещение")
    await citizen.send("Во дворе дома 5 третий день не горят фонари.")
    assert "Символов в тексте: 44" in citizen.text and "симв." not in citizen.text
    await citizen.press("Готово")
    await citizen.press("Пропустить")
    await citizen.send("г. Энск, ул. Садовая, 5")
    assert "Телефон: не указан\n" in citizen.text
    office = Office(app, clock)
    ivan = await office.staff_member("ivan")
    await citizen.press("Отправить")
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Перенаправить"))
    await ivan.press("здравоохранения")
    await ivan.send("Это вопрос поликлиники.")
    await office.deliver()
    assert "перенаправлено в Министерство здравоохранения" in office.last(citizen).text


async def test_the_rating_windows_are_written_in_words(app: App, clock: Clock, citizen: Chat) -> None:
    office = Office(app, clock)
    ivan = await office.staff_member("ivan")
    await submit(citizen)
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Ответить"))
    await ivan.send("Фонари заменены.")
    await ivan.press("Готово")
    await ivan.press("Отправить гражданину")
    await office.deliver()
    await citizen.press_payload(press_on(citizen, office.last(citizen), "1 ⭐"))
    assert "в течение 24 часов" in citizen.text
    await citizen.press("Пропустить")
    assert "в течение 30 дней после ответа" in citizen.text


def test_no_abbreviations_in_the_citizens_and_operators_texts() -> None:
    catalogue = (ROOT / "locales/ru/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    texts = dict(re.findall(r'msgid "([^"]+)"\nmsgstr "((?:[^"\\]|\\.)*)"', catalogue))
    mine = {k: v for k, v in texts.items() if not k.startswith(("meeting", "expert", "group", "vote", "protocol",
                                                                   "attend", "agenda", "materials", "stats.legend"))}
    for word in ("симв.", " дн.", " ч.", "раб. ", "пост.", "отв.", "проср.", "кол. ", "скор. "):
        assert not [k for k, v in mine.items() if word in v], word
