"""The citizen's appeal, step by step, as a person would go through it (and stumble)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.app import App, build_app
from bot.events import Attachment
from storage.models import Appeal, AppealAttachment, AppealEvent, Consent
from tests.utils.chat import Chat

TEXT = "Третий день в квартире холодные батареи, температура 15 градусов, дети болеют."


async def count(app: App, model: type, *where: object) -> int:
    async with app.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def reach_summary(chat: Chat, *, sector: str = "ЖКХ", category: str = "Отопление") -> None:
    await chat.send("/start")
    await chat.press("Согласен")
    await chat.send("Иванова Мария Петровна")
    await chat.send("8 (912) 345-67-89")
    await chat.press(sector)
    await chat.press(category)
    await chat.send(TEXT)
    await chat.press("Готово")
    await chat.press("Пропустить")
    await chat.send("г. Энск, ул. Ленина, д. 5, кв. 12")
    assert "Проверьте обращение" in chat.text


async def test_citizen_registers_an_appeal_and_sees_number_ministry_and_deadline(app: App, citizen: Chat) -> None:
    await reach_summary(citizen)
    assert "+79123456789" in citizen.text
    await citizen.press("Отправить")
    number = re.search(r"ЦУР-2026-\d{6}", citizen.text)
    assert number is not None and number.group() == "ЦУР-2026-000001"
    assert "Министерство энергетики и ЖКХ" in citizen.text
    # Registered Monday 23.11.2026; 30 calendar days fall on Wednesday 23.12.2026, a working day.
    assert "до 23.12.2026" in citizen.text
    async with app.sessionmaker() as session:
        appeal = await session.scalar(select(Appeal))
        assert appeal is not None
        assert (appeal.citizen_name, appeal.sector_id, appeal.category_id) == (
            "Иванова Мария Петровна", "housing", "heating")
        assert appeal.deadline_at == datetime(2026, 12, 23, 15, 0, tzinfo=UTC)  # 18:00 Moscow
        kinds = (await session.scalars(select(AppealEvent.kind).order_by(AppealEvent.id))).all()
        assert kinds == ["registered", "routed"]


async def test_several_messages_are_joined_into_one_text_without_a_cut(app: App, citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Петров Пётр")
    await citizen.press("Пропустить")
    await citizen.press("Дороги")
    await citizen.press("Ямы")
    long_part = "Яма на дороге. " * 400  # 6,000 characters: longer than one Telegram message
    await citizen.send(long_part)
    await citizen.send("И ещё одна яма у остановки.")
    await citizen.press("Готово")
    await citizen.press("Пропустить")
    await citizen.share_location(56.1, 47.2)
    await citizen.press("Отправить")
    async with app.sessionmaker() as session:
        appeal = await session.scalar(select(Appeal))
        assert appeal is not None and appeal.text is not None
        assert appeal.text.startswith("Яма на дороге.") and appeal.text.endswith("И ещё одна яма у остановки.")
        assert len(appeal.text) > 6000
        assert (appeal.latitude, appeal.longitude) == (56.1, 47.2)


async def test_declining_consent_stores_nothing_personal_and_explains_how_to_return(app: App, citizen: Chat) -> None:
    await citizen.send("/start")
    await citizen.press("Не согласен")
    assert "/start" in citizen.text
    await citizen.send("Иванов Иван")
    assert "Новое обращение" in citizen.text  # the menu hint, not a name step
    assert await count(app, Appeal) == 0
    assert await count(app, Consent, Consent.accepted.is_(False)) == 1


async def test_bad_name_gets_a_clear_message_and_the_step_waits(citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("123")
    assert "буквы" in citizen.text
    await citizen.send("Я" * 300)
    assert "слишком длинное" in citizen.text
    await citizen.send("Сидоров Сидор")
    assert "телефон" in citizen.text.lower()


async def test_bad_phone_is_refused_and_shared_contact_is_accepted(citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Сидоров Сидор")
    await citizen.send("позвоните мне")
    assert "Не похоже на номер" in citizen.text
    await citizen.share_phone("79001234567")
    assert "направление" in citizen.text.lower()


async def test_too_short_text_is_refused_at_done_and_nothing_is_lost(app: App, citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Сидоров Сидор")
    await citizen.press("Пропустить")
    await citizen.press("ТКО")
    await citizen.press("Вывоз")
    await citizen.send("Мусор")
    await citizen.press("Готово")
    assert "слишком короткий" in citizen.text
    await citizen.send("не вывозят уже неделю, контейнеры переполнены")
    await citizen.press("Готово")
    assert "Приложите" in citizen.text


async def test_over_long_text_is_refused_politely_and_earlier_text_kept(app: App, citizen: Chat) -> None:
    limit = app.settings.limits.text_max_length
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Сидоров Сидор")
    await citizen.press("Пропустить")
    await citizen.press("ТКО")
    await citizen.press("Вывоз")
    await citizen.send(TEXT)
    await citizen.send("x" * limit)
    assert "не добавлено" in citizen.text and str(limit) in citizen.text
    await citizen.press("Готово")
    await citizen.press("Пропустить")
    await citizen.send("ул. Мира, 1")
    assert TEXT in citizen.text


async def test_attachments_are_checked_for_size_type_and_count(app: App, citizen: Chat) -> None:
    limits = app.settings.limits
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Сидоров Сидор")
    await citizen.press("Пропустить")
    await citizen.press("ЖКХ")
    await citizen.press("Дворы")
    await citizen.send(TEXT)
    await citizen.press("Готово")
    huge = Attachment("document", "f1", "console", "акт.pdf", size=(limits.attachment_max_size_mb + 1) * 2**20)
    await citizen.attach(huge)
    assert "больше" in citizen.text and "акт.pdf" in citizen.text
    await citizen.attach(Attachment("document", "f2", "console", "virus.exe", size=100))
    assert "формат не поддерживается" in citizen.text
    for index in range(limits.attachments_max_count):
        await citizen.attach(Attachment("photo", f"p{index}", "console", size=1000))
    await citizen.attach(Attachment("photo", "extra", "console", size=1000))
    assert f"не больше {limits.attachments_max_count}" in citizen.text
    await citizen.press("Готово")
    await citizen.send("двор дома 7 по ул. Садовой")
    assert f"Файлов: {limits.attachments_max_count}" in citizen.text
    await citizen.press("Отправить")
    assert await count(app, AppealAttachment) == limits.attachments_max_count


async def test_photo_with_caption_while_writing_keeps_both(app: App, citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Сидоров Сидор")
    await citizen.press("Пропустить")
    await citizen.press("ЖКХ")
    await citizen.press("Люки")
    await citizen.attach(Attachment("photo", "ph1", "console", size=10), caption="Открытый люк во дворе, опасно детям!")
    await citizen.attach(Attachment("photo", "ph2", "console", size=10))  # the second photo of an album
    await citizen.press("Готово")
    assert "2 из" in citizen.text or "Файлов" in citizen.text or "Приложите" in citizen.text
    await citizen.press("Готово")
    await citizen.send("ул. Садовая, 7")
    assert "Файлов: 2" in citizen.text and "Открытый люк" in citizen.text


async def test_address_is_required_where_the_category_needs_it(citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Сидоров Сидор")
    await citizen.press("Пропустить")
    await citizen.press("Дороги")
    await citizen.press("Ямы")
    await citizen.send(TEXT)
    await citizen.press("Готово")
    await citizen.press("Пропустить")
    assert all("Пропустить" not in b.label for r in citizen.replies for row in r.buttons for b in row)
    await citizen.send("ул")
    assert "слишком короткий" in citizen.text
    await citizen.send("ул. Мира, 1")
    assert "Проверьте обращение" in citizen.text


async def test_edit_a_field_from_the_summary_returns_to_the_summary(citizen: Chat) -> None:
    await reach_summary(citizen)
    await citizen.press("Изменить")
    await citizen.press("Имя")
    await citizen.send("Иванова Мария Ивановна")
    assert "Проверьте обращение" in citizen.text and "Мария Ивановна" in citizen.text
    await citizen.press("Изменить")
    await citizen.press("Направление")
    await citizen.press("Транспорт")
    await citizen.press("Маршруты")
    assert "Транспорт → Маршруты и расписание" in citizen.text


async def test_cancel_leaves_any_step_and_nothing_is_registered(app: App, citizen: Chat) -> None:
    await reach_summary(citizen)
    await citizen.send("/cancel")
    assert "ничего не отправлено" in citizen.text
    await citizen.send("что-то")
    assert "Новое обращение" in citizen.text
    assert await count(app, Appeal) == 0


async def test_second_press_on_send_does_not_register_twice(app: App, citizen: Chat) -> None:
    await reach_summary(citizen)
    send = citizen.find_button("Отправить").payload
    await citizen.press_payload(send)
    await citizen.press_payload(send)
    assert "уже не действует" in citizen.text
    assert await count(app, Appeal) == 1


async def test_a_replayed_update_is_handled_once(app: App, citizen: Chat) -> None:
    await reach_summary(citizen)
    event = citizen._event(payload=citizen.find_button("Отправить").payload)
    first = await citizen.feed(event)
    again = await citizen.feed(event)
    # The effect happens once; the answer (with the number) is given again, in case it was lost.
    assert [r.text for r in again] == [r.text for r in first] and "ЦУР-2026-000001" in again[0].text
    assert await count(app, Appeal) == 1


async def test_forged_and_stale_buttons_are_refused_politely(app: App, citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.press_payload("2:appeal.sector:housing")  # a sector button, but we are at the name step
    assert "уже не действует" in citizen.text and "Как к вам обращаться" in citizen.text
    assert citizen.toasts
    await citizen.press_payload("0:old:format")
    assert "уже не действует" in citizen.text
    await citizen.press_payload("2:followup.open:999")
    assert "не найдено" in citizen.text


async def test_a_citizen_cannot_open_another_citizens_appeal(app: App, citizen: Chat) -> None:
    await reach_summary(citizen)
    await citizen.press("Отправить")
    stranger = Chat(app.conversations, user_id="2002")
    await stranger.send("/start")
    await stranger.press_payload("2:followup.open:1")
    assert "не найдено" in stranger.text and "ЦУР-2026-000001" not in stranger.text


async def test_my_lists_appeals_and_opening_one_shows_history(app: App, citizen: Chat) -> None:
    await reach_summary(citizen)
    await citizen.press("Отправить")
    await citizen.send("/my")
    assert "1 обращение" in citizen.text and "ЖКХ" in citizen.text and "зарегистрировано" in citizen.text
    await citizen.press("ЦУР-2026-000001")
    assert "История" in citizen.text and "направлено в министерство" in citizen.text


async def test_unknown_input_and_unsupported_content_get_a_hint_never_silence(citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Сидоров Сидор")
    await citizen.press("Пропустить")
    await citizen.send("ъъъ ыыы")
    assert "кнопкой" in citizen.text and "направление" in citizen.text.lower()
    await citizen.send(unsupported="sticker")
    assert "не поддерживается" in citizen.text
    await citizen.send("/nonsense")
    assert citizen.text


async def test_restart_in_the_middle_of_a_dialog_continues_where_it_stopped(app: App, settings, clock) -> None:
    first = Chat(app.conversations, user_id="3003")
    await first.send("/new")
    await first.press("Согласен")
    await first.send("Кузнецов Алексей")
    await first.press("Пропустить")
    await first.press("Энергетика")
    await app.close()

    restarted = await build_app(settings, clock=clock)
    try:
        again = Chat(restarted.conversations, user_id="3003")
        await again.send("/start")
        assert "Продолжим" in again.text and "Энергетика" in again.text
        await again.press("Отключения")
        await again.send("Нет света во всём доме с утра, холодильники разморозились.")
        await again.press("Готово")
        await again.press("Пропустить")
        await again.send("пос. Заречный, ул. Полевая, 3")
        await again.press("Отправить")
        assert "ЦУР-2026-000001" in again.text
    finally:
        await restarted.close()


async def test_english_speaker_switches_language_at_any_step(citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("/lang")
    await citizen.press("English")
    assert "Language: English" in citizen.text and "What is your name" in citizen.text
    await citizen.send("Mary Smith")
    await citizen.press("Skip")
    await citizen.press("Housing")
    await citizen.press("Heating")
    await citizen.send("The radiators have been cold for three days.")
    await citizen.press("Done")
    await citizen.press("Skip")
    await citizen.send("5 Lenina street, flat 12")
    await citizen.press("Send")
    assert "Your appeal is registered" in citizen.text and "Ministry of Energy and Housing" in citizen.text


async def test_citizen_in_a_group_chat_is_told_to_write_privately(app: App) -> None:
    group = Chat(app.conversations, user_id="4004", chat_id="-100500", is_group=True)
    await group.send("/new")
    assert "личном чате" in group.text
    await group.send("просто болтовня в группе")
    assert group.replies == []
    assert await count(app, Appeal) == 0


async def test_previous_name_is_offered_for_the_next_appeal(citizen: Chat) -> None:
    await reach_summary(citizen)
    await citizen.press("Отправить")
    await citizen.send("/new")
    await citizen.press("Иванова Мария Петровна")
    assert "телефон" in citizen.text.lower()


async def test_help_explains_the_steps_and_returns_to_the_dialog(citizen: Chat) -> None:
    await citizen.send("/help")
    assert "/new" in citizen.text and "не меньше 20 символов" in citizen.text
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("/help")
    assert "/cancel" in citizen.text and "Как к вам обращаться" in citizen.text
