"""The dialog kit: namespaced states and verbs, a registration mistake stops the start, dialogs saved by the
previous release continue, buttons of its messages get the polite stale answer."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.payloads import make
from handlers import build_router, citizen
from handlers.context import Context
from handlers.legacy import LEGACY_STATES
from handlers.router import Dialog, RouteError, Router
from storage.models import Conversation
from tests.conftest import Clock
from tests.test_ratings import answered_appeal, person
from tests.utils.chat import Chat

ROOT = Path(__file__).resolve().parent.parent


async def nothing(ctx: Context) -> None:
    return None


def test_every_dialog_registers_once_under_its_own_name() -> None:
    router = build_router()
    assert {"appeal", "followup", "operator", "meeting", "agenda", "minutes", "rating", "staff"} <= set(router.dialogs)
    assert "appeal.name" in router.inputs and "operator.answer" in router.inputs
    assert "appeal.sector" in router.buttons and router.buttons["appeal.sector"].states == {"appeal.sector"}
    # A button of one dialog valid in another's state names it in full.
    assert router.buttons["agenda.preview_edit"].states == {"meeting.preview"}


def test_a_dialog_set_up_twice_stops_the_start() -> None:
    router = build_router()
    with pytest.raises(RouteError, match="appeal"):
        citizen.setup(router)


def test_a_state_or_verb_registered_twice_in_a_dialog_is_an_error_not_an_overwrite() -> None:
    router = Router()
    quiz, poll = router.dialog(Dialog("quiz")), router.dialog(Dialog("poll"))
    for dialog in (quiz, poll):  # the same step and verb names in two dialogs are two names
        dialog.state("question", nothing, nothing)
        dialog.button("answer", nothing, {"question"})
    assert {"quiz.question", "poll.question"} <= router.inputs.keys()
    assert {"quiz.answer", "poll.answer"} <= router.buttons.keys()
    with pytest.raises(RouteError, match="twice"):
        quiz.state("question", nothing, nothing)
    with pytest.raises(RouteError, match="twice"):
        quiz.button("answer", nothing)


def test_a_command_of_two_dialogs_is_an_error_at_start_up() -> None:
    router = build_router()
    with pytest.raises(RouteError, match="'new' is registered twice"):
        router.dialog(Dialog("quiz")).command("new", nothing)  # /new is the appeal's


def test_a_button_valid_in_a_state_nobody_has_stops_the_start() -> None:
    router = Router()
    router.dialog(Dialog("quiz")).button("answer", nothing, {"question"})
    with pytest.raises(RouteError, match=r"quiz\.question"):
        router.check()


def test_a_state_longer_than_its_column_stops_the_start() -> None:
    with pytest.raises(RouteError, match="longer"):
        Router().dialog(Dialog("appeal")).state("x" * 40, nothing, nothing)


def test_every_stored_state_of_the_previous_release_has_a_home() -> None:
    router = build_router()
    assert set(LEGACY_STATES.values()) <= router.inputs.keys()
    # Every state the previous release registered (its names had no dot) is in the table.
    assert all("." in state for state in router.inputs)


def test_payload_arguments_are_checked_when_the_button_is_made() -> None:
    assert make("appeal.sector", "housing") == "2:appeal.sector:housing"
    assert make("rating.rate", 12, 5) == "2:rating.rate:12:5"
    with pytest.raises(TypeError):
        make("rating.rate", 12, True)
    with pytest.raises(TypeError):
        make("followup.open", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="separator"):
        make("appeal.cat", "a:b")
    with pytest.raises(ValueError, match="64 bytes"):
        make("appeal.cat", "x" * 60)


def test_every_button_the_code_makes_names_a_registered_verb() -> None:
    """A typo in a verb would make a button that is always stale: the names are checked here."""
    router = build_router()
    made = set()
    for path in [*(ROOT / "handlers").rglob("*.py"), *(ROOT / "bot").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        made |= set(re.findall(r'\bmake\("([a-z_.]+)"', text))
    assert len(made) > 60
    unknown = made - router.buttons.keys()
    assert not unknown, f"buttons made with verbs nobody answers: {sorted(unknown)}"


def test_buttons_are_made_with_the_verbs_a_reader_understands() -> None:
    """"dialog.verb" everywhere: a merge bringing a bare verb ("ag_ok") fails here."""
    bare = {}
    for path in [*(ROOT / "handlers").rglob("*.py"), *(ROOT / "bot").rglob("*.py")]:
        bare |= {verb: path.name for verb in re.findall(r'\bmake\("([a-z_]+)"', path.read_text(encoding="utf-8"))}
    assert not bare, f"verbs without their dialog's name: {bare}"


async def test_a_dialog_saved_by_the_previous_release_continues_after_the_upgrade(app: App, citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    assert "Как к вам обращаться" in citizen.text
    async with app.sessionmaker() as session, session.begin():  # as the previous release stored it
        conversation = await session.get(Conversation, ("console", citizen.user_id))
        assert conversation is not None and conversation.state == "appeal.name"
        conversation.state = "name"
    await citizen.send("Иванова Мария Петровна")
    assert "Оставьте телефон" in citizen.text
    async with app.sessionmaker() as session:
        conversation = await session.get(Conversation, ("console", citizen.user_id))
        assert conversation is not None and conversation.state == "appeal.phone"
        assert conversation.data["draft"]["name"] == "Иванова Мария Петровна"


async def test_a_state_to_return_to_saved_by_the_previous_release_is_returned_to(app: App, citizen: Chat,
                                                                                  clock: Clock) -> None:
    appeal_id = await answered_appeal(app, await person(app, citizen), clock.now - timedelta(hours=1))
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.press_payload(make("rating.rate", appeal_id, 2))  # rated in the middle of the appeal
    async with app.sessionmaker() as session, session.begin():  # as the previous release stored it
        conversation = await session.get(Conversation, ("console", citizen.user_id))
        assert conversation is not None and conversation.data["rating_step"]["back"] == "appeal.name"
        conversation.state = "rating_comment"
        conversation.data = {**conversation.data, "rating_step": {**conversation.data["rating_step"], "back": "name"}}
    await citizen.send("Ответ формальный.")
    assert "Возвращаемся" in citizen.text and "Как к вам обращаться" in citizen.text
    async with app.sessionmaker() as session:
        conversation = await session.get(Conversation, ("console", citizen.user_id))
        assert conversation is not None and conversation.state == "appeal.name"


async def test_a_button_of_the_previous_release_gets_the_polite_stale_answer(citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Иванова Мария Петровна")
    await citizen.press("Пропустить")
    assert citizen.find_button("ЖКХ").payload == make("appeal.sector", "housing")
    await citizen.press_payload("1:sector:housing")
    assert "Эта кнопка уже не действует" in citizen.text and "Выберите направление" in citizen.text
    await citizen.press("ЖКХ")
    assert "Выберите категорию" in citizen.text
