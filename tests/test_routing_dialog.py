"""A citizen who just writes the problem: the bot proposes the sector, keeps the text, records the choice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.config import TRIAGE, Settings
from bot.scheduler import build_scheduler
from bot.services import privacy, routing_learning, routing_quality
from storage.models import Appeal
from storage.repositories import Repositories
from storage.routing_models import RoutingExample
from tests.conftest import Clock
from tests.test_classifier import SMALL, trained_small, with_small_model
from tests.test_ministry_work import Office, press_on, submit
from tests.utils.chat import Chat

ROOT = Path(__file__).resolve().parent.parent
HOT_WATER = "Нет горячей воды уже неделю в доме на Ленина 5, управляйка не отвечает"


@pytest.fixture(scope="session")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_small(tmp_path_factory)


@pytest.fixture
def office(app: App, clock: Clock) -> Office:
    return Office(app, clock)


@pytest.fixture
async def small_app(settings: Settings, clock: Clock, tmp_path: Path, small_model: Path) -> App:
    """The bot on a small routing.toml, its model ready (the session's); retrains run in a child process,
    as in production."""
    knowledge = tmp_path / "routing.toml"
    knowledge.write_text(SMALL, encoding="utf-8")
    settings.routing.knowledge = str(knowledge)
    settings.routing.model_dir = str(tmp_path / "models")
    with_small_model(tmp_path / "models", small_model)
    built = await build_app(settings, clock=clock, migrate=False)
    yield built
    await built.close()


async def learned_example(app: App, appeal_id: int) -> RoutingExample:
    async with app.sessionmaker() as session:
        example = await session.scalar(select(RoutingExample).where(RoutingExample.appeal_id == appeal_id))
        assert example is not None
        return example


async def finish(chat: Chat) -> None:
    await chat.press("Готово")
    await chat.press("Пропустить")
    await chat.send("г. Энск, ул. Ленина, 5")
    await chat.press("Отправить")


async def stored(app: App) -> Appeal:
    async with app.sessionmaker() as session:
        appeal = await session.scalar(select(Appeal))
        assert appeal is not None
        return appeal


async def test_plain_text_becomes_an_appeal_and_the_sector_is_proposed(app: App, citizen: Chat) -> None:
    await citizen.send(HOT_WATER)
    await citizen.press("Согласен")
    assert "текст сохранён" in citizen.text
    await citizen.send("Смирнов Олег")
    await citizen.press("Пропустить")
    assert "Похоже, это: ЖКХ → Отопление и горячая вода в доме" in citizen.text
    await citizen.press("Да")
    assert "Символов в тексте обращения" in citizen.text  # the text is not asked for again
    await finish(citizen)
    appeal = await stored(app)
    assert appeal.text == HOT_WATER
    assert (appeal.sector_id, appeal.category_id) == ("housing", "heating")
    assert (appeal.suggested_sector_id, appeal.suggested_category_id) == ("housing", "heating")


async def test_new_with_text_and_a_different_final_choice_is_recorded(app: App, citizen: Chat) -> None:
    await citizen.send("/start")
    await citizen.press("Согласен")
    await citizen.send("/cancel")
    await citizen.send("/new " + HOT_WATER)
    await citizen.send("Смирнов Олег")
    await citizen.press("Пропустить")
    await citizen.press("Выбрать другое")
    assert "Выберите направление" in citizen.text
    await citizen.press("Энергетика")
    await citizen.press("Аварии на тепловых сетях")
    await finish(citizen)
    appeal = await stored(app)
    assert (appeal.suggested_sector_id, appeal.sector_id) == ("housing", "energy")
    async with app.sessionmaker() as session:
        quality = await routing_quality.measure(Repositories(session), app.settings)
    assert (quality.suggested, quality.sector_right) == (1, 0)
    report = routing_quality.format_report(quality, app.settings)
    assert "2026-11  0/1" in report and "Энергетика" in report


async def test_describing_the_problem_at_the_sector_step_proposes_a_sector(app: App, citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Смирнов Олег")
    await citizen.press("Пропустить")
    await citizen.send("автобус номер 12 опять не пришёл, ждали 40 минут на остановке")
    assert "Записал ваш текст" in citizen.text and "Похоже, это: Транспорт" in citizen.text
    await citizen.press("Да")
    await finish(citizen)
    assert (await stored(app)).sector_id == "transport"


async def test_when_unsure_every_sector_is_listed_the_likely_ones_first(citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Смирнов Олег")
    await citizen.press("Пропустить")
    await citizen.send("хочу узнать по поводу дома и дороги и школы")
    assert "Не уверен" in citizen.text and "Похоже" not in citizen.text
    sectors = [b.label for r in citizen.replies for row in r.buttons for b in row if ":sector:" in b.payload]
    assert len(sectors) == 9 and "Другое / вне направлений ЦУР" in sectors
    await citizen.press(sectors[0])
    assert "Выберите категорию" in citizen.text


async def test_an_unsure_long_letter_gets_the_list(citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Смирнов Олег")
    await citizen.press("Пропустить")
    await citizen.send("Здравствуйте. Пишу по нескольким вопросам. Во-первых, автобус номер 12 ходит раз в час и "
                       "водители грубят. Во-вторых, в поликлинике невозможно записаться к терапевту. В-третьих, "
                       "в школе сына кормят плохо. Прошу разобраться.")
    assert "Не уверен" in citizen.text and "Похоже" not in citizen.text
    sectors = [b.label for r in citizen.replies for row in r.buttons for b in row if ":sector:" in b.payload]
    assert len(sectors) == 9 and set(sectors[:3]) == {"Здравоохранение", "Образование", "Транспорт"}


async def test_a_sure_sector_with_an_unsure_category_asks_only_the_category(app: App, citizen: Chat) -> None:
    await citizen.send("Во дворе и в подъезде грязно и темно, сколько можно")
    await citizen.press("Согласен")
    await citizen.send("Смирнов Олег")
    await citizen.press("Пропустить")
    assert "Похоже, это: ЖКХ. Верно?" in citizen.text
    await citizen.press("Да")
    assert "Выберите категорию" in citizen.text


async def test_a_citizen_may_choose_the_catch_all_and_the_ЦУР_supervisors_get_it(
        office: Office, citizen: Chat) -> None:
    supervisor = await office.staff_member("sveta", role="supervisor", ministry=None)
    ivan = await office.staff_member("ivan")
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Смирнов Олег")
    await citizen.press("Пропустить")
    await citizen.press("Другое / вне направлений ЦУР")
    await citizen.press("Другое")
    await citizen.send("Прошу разобраться: в нашем посёлке третий месяц не работает почтовое отделение")
    await citizen.press("Готово")
    await citizen.press("Пропустить")
    await citizen.press("Пропустить")
    await citizen.press("Отправить")
    assert "Направлено: ЦУР (разбор обращений)" in citizen.text
    appeal = await office.appeal()
    assert (appeal.sector_id, appeal.ministry_id) == ("other", TRIAGE)
    await office.deliver()
    card = office.last(supervisor)
    assert "ЦУР-2026-000001" in card.text and "почтовое отделение" in card.text
    assert any("Перенаправить" in b.label for row in card.buttons for b in row)
    assert office.inbox(ivan) == [], "no ministry gets the catch-all before triage"


async def test_supervisors_triage_the_catch_all_to_a_ministry_and_it_is_learned(
        office: Office, citizen: Chat) -> None:
    supervisor = await office.staff_member("sveta", role="supervisor", ministry=None)
    roads = await office.staff_member("roma", ministry="transport_roads")
    await submit(citizen, "Другое", "Другое")
    await office.deliver()
    await supervisor.press_payload(press_on(supervisor, office.last(supervisor), "Перенаправить"))
    await supervisor.press("Министерство транспорта")
    await supervisor.send("Это вопрос дорожного хозяйства.")
    await office.deliver()
    appeal = await office.appeal()
    assert appeal.ministry_id == "transport_roads" and appeal.sector_id in ("roads", "transport")
    assert "ЦУР-2026-000001" in office.last(roads).text
    assert "перенаправлено" in office.last(citizen).text
    example = await learned_example(office.app, appeal.id)
    assert (example.sector_id, example.source) == (appeal.sector_id, "triage")


@pytest.mark.parametrize("role", ["supervisor", "admin"])
async def test_an_admin_gets_the_supervisors_cards_as_a_supervisor_does(
        office: Office, citizen: Chat, role: str) -> None:
    # An admin is a supervisor who also administers (bot/domain/roles.py): same capabilities, same cards.
    boss = await office.staff_member("boss", role=role, ministry=None)
    await submit(citizen, "Другое", "Другое")
    await office.deliver()
    card = office.last(boss)
    assert "ЦУР-2026-000001" in card.text
    assert any("Перенаправить" in b.label for row in card.buttons for b in row)


async def test_a_redirect_becomes_the_learned_example(office: Office, citizen: Chat) -> None:
    ivan = await office.staff_member("ivan")
    await submit(citizen)  # ЖКХ → Уличное и дворовое освещение, by the citizen's buttons
    appeal = await office.appeal()
    before = await learned_example(office.app, appeal.id)
    assert (before.sector_id, before.category_id, before.source) == ("housing", "lighting", "citizen")
    await office.deliver()
    await ivan.press_payload(press_on(ivan, office.last(ivan), "Перенаправить"))
    await ivan.press("Министерство транспорта")
    await ivan.send("Фонари вдоль дороги обслуживает дорожное хозяйство.")
    after = await learned_example(office.app, appeal.id)
    assert after.sector_id in ("roads", "transport") and after.source == "redirect"
    assert after.text == before.text


async def test_erasing_a_citizen_removes_the_learned_examples_of_their_appeals(
        office: Office, citizen: Chat) -> None:
    await submit(citizen)
    appeal = await office.appeal()
    async with office.app.sessionmaker() as session, session.begin():
        repo = Repositories(session)
        user = await repo.users.get(appeal.citizen_id)
        assert user is not None
        exported = await privacy.export(repo, user)
        assert exported["appeals"][0]["routing_example"]["text"] == appeal.text
        await privacy.erase(repo, user)
    async with office.app.sessionmaker() as session:
        assert (await session.scalars(select(RoutingExample))).all() == []


async def test_retraining_on_learned_examples_changes_the_suggestion(small_app: App, clock: Clock,
                                                                     tmp_path: Path) -> None:
    text = "кикшеринг самокаты бросают где попало"

    async def first_sector() -> str:
        chat = Chat(small_app.conversations, user_id=f"c{len(asked)}")
        asked.append(chat)
        await chat.send(text)
        await chat.press("Согласен")
        await chat.send("Смирнов Олег")
        await chat.press("Пропустить")
        return next(b.label for r in chat.replies for row in r.buttons for b in row
                    if ":sector:" in b.payload or ":sugg:yes" in b.payload)

    asked: list[Chat] = []
    assert await first_sector() != "Дороги"
    archive = tmp_path / "region.csv"
    archive.write_text("text,sector,category\n" + "\n".join(f"{line},Дороги,Прочие по направлению" for line in (
        "электросамокаты брошены поперёк тротуара", "кикшеринг оставляет самокаты где попало",
        "самокаты арендные валяются у остановки")), encoding="utf-8")
    async with small_app.sessionmaker() as session, session.begin():
        assert await routing_learning.import_csv(Repositories(session), small_app.settings, archive, clock()) == 3
    # A restart does not wait for training on the new examples: it starts with the last model.
    restarted = await build_app(small_app.settings, clock=clock, migrate=False)
    assert restarted.extras["classifier"].key == small_app.extras["classifier"].key
    await restarted.close()
    scheduler = build_scheduler(small_app, clock)
    assert await scheduler.run("routing-retrain") == 1, "the scheduled retrain found new examples"
    assert await first_sector() == "Дороги"
    assert await scheduler.run("routing-retrain") == 0, "nothing new: nothing retrained"


def run(*args: str, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          timeout=120, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})


def small_config(tmp_path: Path, small_model: Path) -> Path:
    """The shipped config on a scratch database, a small routing.toml and a scratch model cache
    holding that routing.toml's model (the session's)."""
    config = (ROOT / "config.toml").read_text(encoding="utf-8")
    config = config.replace('url = "sqlite+aiosqlite:///appeals.db"', f'url = "sqlite+aiosqlite:///{tmp_path}/bot.db"')
    config = config.replace('model_dir = ""', f'model_dir = "{tmp_path}/models"')
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    (tmp_path / "routing.toml").write_text(SMALL, encoding="utf-8")
    with_small_model(tmp_path / "models", small_model)
    return tmp_path / "config.toml"


def test_classify_import_and_train_from_the_command_line(tmp_path: Path, small_model: Path) -> None:
    config = str(small_config(tmp_path, small_model))
    text = "ушлепки с квадроциклами гоняют по дюнам у озера"
    result = run("--config", config, "classify",
                 stdin=f"нет света во всём подъезде второй день\nавтобус 12 не пришёл\n{text}\n")
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert len(lines) == 3 and [line[0] for line in lines[:2]] == ["Энергетика", "Транспорт"]
    assert all(len(line) == 3 and 0 <= float(line[2]) <= 1 for line in lines)
    before = lines[2]
    csv = tmp_path / "region.csv"
    csv.write_text("text,sector,category\n" + "\n".join(
        f"{line},Дороги,Прочие по направлению" for line in (
            "квадроциклы гоняют по дюнам", "гоняют на квадроциклах у озера", "дюны разбиты квадроциклами")) +
        "\nсоседи шумят третью ночь,other,other\n", encoding="utf-8")
    imported = run("--config", config, "routing", "import", str(csv))
    assert imported.returncode == 0 and "imported 4" in imported.stdout, imported.stderr
    trained = run("--config", config, "routing", "train")
    assert trained.returncode == 0 and "trained on" in trained.stdout, trained.stderr
    after = run("--config", config, "classify", stdin=text + "\n")
    assert after.stdout.split("\t")[:2] == ["Дороги", "Прочие по направлению"] != before[:2]
    report = run("--config", config, "routing", "report")
    assert report.returncode == 0 and "no appeal has a suggestion yet" in report.stdout


def test_routing_import_names_the_bad_line(tmp_path: Path, small_model: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("text,sector,category\nяма на дороге,Дороги,Ямы и ремонт дорог\nчто-то,Экология,x\n",
                   encoding="utf-8")
    result = run("--config", str(small_config(tmp_path, small_model)), "routing", "import", str(csv))
    assert result.returncode == 2 and "line 3" in result.stderr
    assert "imported" not in result.stdout
