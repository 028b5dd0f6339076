"""One way of saying no: a service raises ``Refusal``, the router says it; a dialog may show it its own way."""

from __future__ import annotations

from bot.app import App
from bot.domain.errors import Refusal
from bot.i18n import translator
from bot.payloads import make
from bot.services.meetings import Refusal as MeetingRefusal  # the same class as the domain's
from handlers.context import Context
from handlers.router import refusals, said
from storage.repositories import Repositories
from tests.utils.chat import Chat


async def test_a_refusal_raised_in_a_step_is_said_by_the_router_and_the_work_before_it_stays(
        app: App, citizen: Chat) -> None:
    async def half_done(ctx: Context) -> None:
        ctx.set_state("half_done", kept=True)
        raise Refusal("error.appeal_not_found")

    router = app.conversations.router
    router.add_button("test.halfdone", half_done)
    router.add_command("halfdone", half_done)
    t = translator("ru")

    replies = await citizen.press_payload(make("test.halfdone"))
    assert [r.text for r in replies] == [t("error.appeal_not_found")]
    assert citizen.toasts == [t("error.appeal_not_found")]  # a press: the reason as its toast too

    replies = await citizen.send("/halfdone")
    assert [r.text for r in replies] == [t("error.appeal_not_found")]
    assert citizen.toasts == []  # typed: no toast
    async with app.sessionmaker() as session:
        conversation = await Repositories(session).conversations.load("console", citizen.user_id)
        assert conversation.state == "half_done" and conversation.data["kept"] is True


async def test_a_dialog_may_show_its_refusals_its_own_way_wherever_its_step_is_called_from(
        app: App, citizen: Chat) -> None:
    @refusals(said)
    async def told(ctx: Context) -> None:
        raise MeetingRefusal("error.stale_button")

    async def calling(ctx: Context) -> None:
        await told(ctx)
        ctx.say("menu.hint")  # the caller goes on: the refusal was shown where it happened

    app.conversations.router.add_button("test.calling", calling)
    t = translator("ru")
    replies = await citizen.press_payload(make("test.calling"))
    assert [r.text for r in replies] == [t("error.stale_button"), t("menu.hint")]
    assert citizen.toasts == []
