"""In Telegram a button on an older message does what its payload says, whatever came after it."""

from __future__ import annotations

from tests.test_ministry_work_telegram import (  # noqa: F401  (fixtures)
    FIRST,
    Office,
    citizen,
    file_appeal,
    office,
    server,
    settings,
)
from tests.utils.telegram_chat import TelegramUser


async def test_buttons_on_older_messages_still_work_by_their_payload(office: Office, citizen: TelegramUser) -> None:  # noqa: F811
    ivan = await office.operator("Иван Кузнецов")
    await file_appeal(citizen)
    await office.deliver()
    card = ivan.last(FIRST)
    await ivan.send("/queue")  # newer messages below the card
    await ivan.send("/help")
    await ivan.press_payload(f"2:operator.card:take:{(await office.appeal()).id}", message_id=card["message_id"])
    assert "теперь у вас в работе" in ivan.text
    await ivan.press_payload(f"2:operator.card:ans:{(await office.appeal()).id}", message_id=card["message_id"])
    await ivan.send("Фонари заменены.")
    await ivan.press("Готово")
    await ivan.press("Отправить гражданину")
    await office.deliver()
    rating = citizen.messages[-1]
    assert citizen.labels(rating)[0] == "1 ⭐"
    # The citizen does other things; days later the rating buttons of the old message are pressed.
    await citizen.send("/my")
    await citizen.send("/help")
    await citizen.press_payload(citizen.payloads(rating)[3], message_id=rating["message_id"])
    assert "Ваша оценка ответа на обращение" in citizen.text and "4 ⭐" in citizen.text
    assert (await office.appeal()).status == "rated"
