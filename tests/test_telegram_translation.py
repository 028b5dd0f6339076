"""Telegram updates -> neutral events, neutral replies -> Bot API requests: the channel's two translations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageText, SendDocument, SendMediaGroup, SendMessage, SendPhoto
from aiogram.types import FSInputFile, InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update

from bot.channels.telegram import (
    TEXT_LIMIT,
    first_toast,
    merge_album,
    render,
    render_edit,
    split_text,
    to_delivery_error,
    to_incoming,
    utf16_len,
)
from bot.events import Attachment, Button, DeliveryError, Incoming, Location, Reply, RetryLater, Unreachable
from tests.fakes.telegram_server import UpdateFactory

make = UpdateFactory()
CHAT = 4242


def incoming(data: dict[str, Any]) -> Incoming:
    event = to_incoming(Update.model_validate(data))
    assert event is not None
    return event


# --- updates -> Incoming ---


def test_text_message_becomes_an_event_keyed_by_update_id() -> None:
    data = make.text(CHAT, "Во дворе не горит фонарь")
    event = incoming(data)
    assert event == Incoming(
        channel="telegram", chat_id=str(CHAT), user_id=str(CHAT), update_key=f"telegram:{data['update_id']}",
        text="Во дворе не горит фонарь", user_name="Иван Петров", language="ru",
    )


def test_start_command_with_a_code_stays_text() -> None:
    assert incoming(make.text(CHAT, "/start invite-7Hq2")).text == "/start invite-7Hq2"


def test_caption_of_a_photo_is_the_text_and_the_largest_size_is_kept() -> None:
    event = incoming(make.photo(CHAT, caption="Яма у подъезда", file_id="big-photo"))
    assert event.text == "Яма у подъезда"
    assert event.attachments == (Attachment(kind="photo", ref="big-photo", channel="telegram", size=180000),)


def test_largest_photo_is_chosen_whatever_the_order() -> None:
    data = make.photo(CHAT, file_id="big")
    data["message"]["photo"].reverse()
    assert incoming(data).attachments[0].ref == "big"


def test_document_keeps_name_size_and_type() -> None:
    event = incoming(make.document(CHAT, file_name="акт.pdf", file_size=12345, caption="Акт осмотра"))
    (doc,) = event.attachments
    assert (doc.kind, doc.name, doc.size, doc.mime, doc.channel) == (
        "document", "акт.pdf", 12345, "application/pdf", "telegram")
    assert doc.ref.startswith("doc-") and event.text == "Акт осмотра"


def test_location_is_passed_on() -> None:
    assert incoming(make.location(CHAT, 56.85, 53.2)).location == Location(56.85, 53.2)


def test_own_contact_gives_the_phone() -> None:
    event = incoming(make.contact(CHAT, "+79001112233"))
    assert (event.phone, event.unsupported) == ("+79001112233", None)


def test_contact_of_someone_else_is_not_taken_as_the_users_phone() -> None:
    event = incoming(make.contact(CHAT, "+79005556677", contact_user_id=999))
    assert event.phone is None
    assert event.unsupported == "contact"


@pytest.mark.parametrize("build, kind", [(make.sticker, "sticker"), (make.voice, "voice")])
def test_sticker_and_voice_are_unsupported(build: Any, kind: str) -> None:
    event = incoming(build(CHAT))
    assert (event.unsupported, event.text, event.attachments) == (kind, "", ())


def test_service_messages_are_not_events() -> None:
    data = make.message(-100500, chat_type="supergroup", user_id=7, new_chat_title="ЖКХ: операторы")
    assert to_incoming(Update.model_validate(data)) is None


def test_group_message_is_marked_and_keeps_the_sender() -> None:
    event = incoming(make.text(-100777, "/start", chat_type="supergroup", user_id=31))
    assert (event.is_group, event.chat_id, event.user_id) == (True, "-100777", "31")


def test_private_chat_is_not_a_group() -> None:
    assert incoming(make.text(CHAT, "привет")).is_group is False


def test_button_press_carries_payload_and_the_message_to_replace() -> None:
    shown = {"message_id": 77, "date": 0, "chat": make.chat(CHAT), "text": "Выберите направление"}
    data = make.callback(CHAT, "v1:sector:roads", shown)
    event = incoming(data)
    assert (event.payload, event.message_ref, event.text) == ("v1:sector:roads", "77", "")
    assert event.is_button
    assert event.update_key == f"telegram:{data['update_id']}"


def test_english_speaker_language_is_passed() -> None:
    data = make.text(CHAT, "hello", user=make.user(CHAT, "John", None, "en"))
    event = incoming(data)
    assert (event.language, event.user_name) == ("en", "John")


def test_album_parts_merge_into_one_event_in_order() -> None:
    updates = make.album(CHAT, 3, caption="Двор после ремонта")
    parts = [incoming(u) for u in updates]
    merged = merge_album(parts, [u["update_id"] for u in updates])
    assert [a.ref for a in merged.attachments] == [a.ref for p in parts for a in p.attachments]
    assert merged.text == "Двор после ремонта"
    assert merged.update_key == f"telegram:{updates[0]['update_id']}-{updates[-1]['update_id']}"


# --- Reply -> requests ---


def test_inline_buttons_become_an_inline_keyboard_with_payloads() -> None:
    reply = Reply("Выберите направление", buttons=[
        [Button("ЖКХ", "v1:s:housing"), Button("Дороги", "v1:s:roads")], [Button("Отмена", "v1:cancel")]])
    (method,) = render(CHAT, reply)
    assert isinstance(method, SendMessage) and isinstance(method.reply_markup, InlineKeyboardMarkup)
    assert [[(b.text, b.callback_data) for b in row] for row in method.reply_markup.inline_keyboard] == [
        [("ЖКХ", "v1:s:housing"), ("Дороги", "v1:s:roads")], [("Отмена", "v1:cancel")]]


def test_payload_over_64_bytes_is_refused_before_telegram_does() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        render(CHAT, Reply("x", buttons=[[Button("Длинная", "п" * 33)]]))


def test_phone_request_becomes_a_one_time_contact_keyboard() -> None:
    share = Button("📱 Отправить номер", request="phone")
    (method,) = render(CHAT, Reply("Поделитесь номером", buttons=[[share]]))
    markup = method.reply_markup
    assert isinstance(markup, ReplyKeyboardMarkup) and markup.one_time_keyboard and markup.resize_keyboard
    (button,) = markup.keyboard[0]
    assert (button.text, button.request_contact, button.request_location) == (share.label, True, False)


def test_request_and_inline_buttons_go_on_two_messages() -> None:
    reply = Reply("Укажите адрес или точку на карте",
                  buttons=[[Button("📍 Отправить точку", request="location")],
                           [Button("Пропустить", "v1:skip")]])
    first, second = render(CHAT, reply)
    assert isinstance(first.reply_markup, InlineKeyboardMarkup) and first.text == reply.text
    assert isinstance(second.reply_markup, ReplyKeyboardMarkup)
    assert second.reply_markup.keyboard[0][0].request_location and second.text == "📍 Отправить точку"


def test_keyboard_is_removed_by_the_first_message_free_to_carry_it() -> None:
    (plain,) = render(CHAT, Reply("Спасибо, номер сохранён."), remove_keyboard=True)
    assert isinstance(plain.reply_markup, ReplyKeyboardRemove)
    (with_buttons,) = render(CHAT, Reply("Выберите", buttons=[[Button("А", "a")]]), remove_keyboard=True)
    # A message cannot carry both: the channel removes it with a note of its own (see the channel tests).
    assert isinstance(with_buttons.reply_markup, InlineKeyboardMarkup)


def test_long_text_is_split_at_paragraphs_without_losing_a_word() -> None:
    paragraphs = [(f"Абзац {i}. " + "Текст обращения гражданина. " * 40).rstrip() for i in range(12)]
    text = "\n\n".join(paragraphs)
    parts = split_text(text)
    assert len(parts) > 1 and all(utf16_len(p) <= TEXT_LIMIT for p in parts)
    assert all(p.endswith("гражданина.") for p in parts)  # cut between paragraphs, not inside
    assert "\n\n".join(parts) == text


def test_a_single_huge_line_is_split_at_words_and_emoji_count_twice() -> None:
    text = "🙂слово " * 1500  # 1500 × 8 UTF-16 units = 12,000
    parts = split_text(text)
    assert all(utf16_len(p) <= TEXT_LIMIT for p in parts)
    assert " ".join(parts).split() == text.split()


def test_long_reply_keeps_buttons_on_its_last_part() -> None:
    methods = render(CHAT, Reply("Строка резюме.\n" * 700, buttons=[[Button("Отправить", "v1:send")]]))
    assert len(methods) == 3
    assert [m.reply_markup is not None for m in methods] == [False, False, True]


def test_photos_go_as_an_album_documents_one_by_one_other_channels_by_name() -> None:
    reply = Reply("Ответ министерства", attachments=[
        Attachment("photo", "p1", "telegram"), Attachment("photo", "p2", "telegram"),
        Attachment("document", "d1", "telegram", name="ответ.pdf"),
        Attachment("photo", "vk-photo-123", "vk", name="фото из ВК.jpg")])
    text, album, document = render(CHAT, reply)
    assert isinstance(text, SendMessage) and text.text == "Ответ министерства\n\n📎 фото из ВК.jpg"
    assert isinstance(album, SendMediaGroup) and [m.media for m in album.media] == ["p1", "p2"]
    assert isinstance(document, SendDocument) and document.document == "d1"


def test_a_single_photo_goes_with_send_photo() -> None:
    _, photo = render(CHAT, Reply("Фото", attachments=[Attachment("photo", "p1", "telegram")]))
    assert isinstance(photo, SendPhoto) and photo.photo == "p1"


def test_replace_becomes_an_edit_with_the_new_buttons() -> None:
    edit = render_edit(CHAT, 77, Reply("Категория?", buttons=[[Button("Ямы", "v1:c:pits")]], replace=True))
    assert isinstance(edit, EditMessageText) and (edit.message_id, edit.text) == (77, "Категория?")
    assert edit.reply_markup is not None
    assert edit.reply_markup.inline_keyboard[0][0].callback_data == "v1:c:pits"


def test_what_an_edit_cannot_show_is_sent_anew() -> None:
    assert render_edit(CHAT, 77, Reply("x" * 5000, replace=True)) is None
    assert render_edit(CHAT, 77, Reply("Телефон?", buttons=[[Button("📱", request="phone")]])) is None
    assert render_edit(CHAT, 77, Reply("Фото", attachments=[Attachment("photo", "p", "telegram")])) is None


def test_toast_is_the_first_one_given() -> None:
    assert first_toast([Reply("a"), Reply("b", toast="Принято"), Reply("c", toast="ещё")]) == "Принято"
    assert first_toast([Reply("Извините, что-то пошло не так.")]) is None


# --- errors -> delivery decisions ---


def _method() -> SendMessage:
    return SendMessage(chat_id=CHAT, text="x")


@pytest.mark.parametrize("error, expected", [
    (TelegramRetryAfter(_method(), "Too Many Requests: retry after 7", 7), RetryLater),
    (TelegramForbiddenError(_method(), "Forbidden: bot was blocked by the user"), Unreachable),
    (TelegramForbiddenError(_method(), "Forbidden: bot was kicked from the group chat"), Unreachable),
    (TelegramBadRequest(_method(), "Bad Request: chat not found"), Unreachable),
    (TelegramNetworkError(_method(), "ClientConnectorError"), RetryLater),
    (TelegramServerError(_method(), "Bad Gateway"), RetryLater),
])
def test_platform_errors_map_to_delivery_decisions(error: Exception, expected: type) -> None:
    assert type(to_delivery_error(error)) is expected  # type: ignore[arg-type]


def test_retry_after_is_passed_on_and_a_malformed_request_is_neither_retried_nor_unreachable() -> None:
    assert to_delivery_error(TelegramRetryAfter(_method(), "", 7)).retry_after == 7  # type: ignore[attr-defined]
    error = to_delivery_error(TelegramBadRequest(_method(), "Bad Request: can't parse entities"))
    assert type(error) is DeliveryError


# --- files the bot made (charts, exports, protocols): uploaded from this machine ---


def local_file(folder: Path, name: str, size: int = 2048) -> str:
    path = folder / name
    path.write_bytes(b"\x89" + bytes(size - 1))
    return str(path)


def test_a_generated_chart_and_export_are_uploaded_under_the_names_the_bot_gave_them(tmp_path: Path) -> None:
    chart, export = local_file(tmp_path, "chart-7f3a.png"), local_file(tmp_path, "export-7f3a.xlsx")
    reply = Reply("Рейтинг министерств за ноябрь", attachments=[
        Attachment("photo", chart, "local", name="Рейтинг министерств.png"),
        Attachment("document", export, "local", name="Обращения за ноябрь.xlsx")])
    text, photo, document = render(CHAT, reply)
    assert isinstance(text, SendMessage) and text.text == "Рейтинг министерств за ноябрь"  # nothing named: all sent
    assert isinstance(photo, SendPhoto) and isinstance(photo.photo, FSInputFile)
    assert (photo.photo.path, photo.photo.filename) == (chart, "Рейтинг министерств.png")
    assert isinstance(document, SendDocument) and isinstance(document.document, FSInputFile)
    assert (document.document.path, document.document.filename) == (export, "Обращения за ноябрь.xlsx")


def test_generated_photos_join_telegram_photos_in_one_album_and_a_vk_file_is_still_named(tmp_path: Path) -> None:
    chart = local_file(tmp_path, "chart.png")
    reply = Reply("Графики", attachments=[
        Attachment("photo", "tg-photo-1", "telegram"), Attachment("photo", chart, "local", name="Сроки.png"),
        Attachment("document", "doc123_456", "vk", name="акт.pdf")])
    text, album = render(CHAT, reply)
    assert isinstance(text, SendMessage) and text.text == "Графики\n\n📎 акт.pdf"
    assert isinstance(album, SendMediaGroup)
    assert album.media[0].media == "tg-photo-1" and isinstance(album.media[1].media, FSInputFile)


def test_a_generated_file_without_a_name_is_uploaded_under_its_own_file_name(tmp_path: Path) -> None:
    protocol = local_file(tmp_path, "protocol-3.docx")
    (document,) = render(CHAT, Reply("", attachments=[Attachment("document", protocol, "local")]))
    assert isinstance(document, SendDocument) and isinstance(document.document, FSInputFile)
    assert document.document.filename == "protocol-3.docx"


def test_a_generated_file_that_is_gone_or_empty_is_named_instead_of_failing_every_retry(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xlsx"
    empty.touch()
    reply = Reply("Выгрузка", attachments=[
        Attachment("document", str(tmp_path / "deleted.docx"), "local", name="Протокол.docx"),
        Attachment("document", str(empty), "local", name="Выгрузка.xlsx")])
    (text,) = render(CHAT, reply)
    assert isinstance(text, SendMessage) and text.text == "Выгрузка\n\n📎 Протокол.docx\n📎 Выгрузка.xlsx"


def test_a_generated_photo_over_telegrams_10_mb_goes_as_a_document(tmp_path: Path) -> None:
    big = tmp_path / "big-chart.png"
    with big.open("wb") as sparse:
        sparse.truncate(10 * 1024 * 1024 + 1)
    (document,) = render(CHAT, Reply("", attachments=[Attachment("photo", str(big), "local", name="Карта.png")]))
    assert isinstance(document, SendDocument) and isinstance(document.document, FSInputFile)
    assert document.document.filename == "Карта.png"


def test_a_reply_with_a_generated_file_is_sent_anew_rather_than_edited(tmp_path: Path) -> None:
    chart = Attachment("photo", local_file(tmp_path, "c.png"), "local", name="c.png")
    assert render_edit(CHAT, 77, Reply("График", attachments=[chart], replace=True)) is None
    gone = Attachment("photo", str(tmp_path / "gone.png"), "local", name="gone.png")
    edit = render_edit(CHAT, 77, Reply("График", attachments=[gone], replace=True))
    assert isinstance(edit, EditMessageText) and edit.text == "График\n\n📎 gone.png"
