"""A citizen who just writes the problem: the bot proposes the sector, keeps the text, records the choice."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from bot.app import App
from bot.services import routing_quality
from storage.models import Appeal
from storage.repositories import Repositories
from tests.utils.chat import Chat

ROOT = Path(__file__).resolve().parent.parent
HOT_WATER = "Нет горячей воды уже неделю в доме на Ленина 5, управляйка не отвечает"


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
        quality = await routing_quality.measure(Repositories(session))
    assert (quality.suggested, quality.sector_right) == (1, 0)


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


async def test_when_unsure_the_top_three_sectors_are_offered(citizen: Chat) -> None:
    await citizen.send("/new")
    await citizen.press("Согласен")
    await citizen.send("Смирнов Олег")
    await citizen.press("Пропустить")
    await citizen.send("помогите пожалуйста разобраться")
    assert "Не уверен" in citizen.text
    sector_buttons = [b for r in citizen.replies for row in r.buttons for b in row if b.payload.startswith("1:sector:")]
    assert len(sector_buttons) == 3
    await citizen.press("Все направления")
    assert "Выберите направление" in citizen.text


def run(*args: str, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          timeout=60, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_classify_prints_config_names_and_confidence_tab_separated() -> None:
    result = run("classify", stdin="нет света во всём подъезде второй день\nавтобус 12 не пришёл\n")
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [line[0] for line in lines] == ["Энергетика", "Транспорт"]
    assert all(len(line) == 3 and 0 <= float(line[2]) <= 1 for line in lines)


def test_routing_import_teaches_the_classifier_the_regions_words(tmp_path: Path) -> None:
    for name in ("config.toml", "routing.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    text = "ушлепки с квадроциклами гоняют по дюнам у озера"
    before = run("--config", str(tmp_path / "config.toml"), "classify", stdin=text + "\n")
    csv = tmp_path / "region.csv"
    csv.write_text("text,sector,category\n" + "\n".join(
        f"{line},Дороги,Прочие по направлению" for line in (
            "квадроциклы гоняют по дюнам", "гоняют на квадроциклах у озера", "дюны разбиты квадроциклами")),
        encoding="utf-8")
    imported = run("--config", str(tmp_path / "config.toml"), "routing", "import", str(csv))
    assert imported.returncode == 0 and "imported 3" in imported.stdout
    after = run("--config", str(tmp_path / "config.toml"), "classify", stdin=text + "\n")
    assert after.stdout.split("\t")[:2] == ["Дороги", "Прочие по направлению"] != before.stdout.split("\t")[:2]


def test_routing_import_names_the_bad_line(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("text,sector,category\nяма на дороге,Дороги,Ямы и ремонт дорог\nчто-то,Экология,x\n",
                   encoding="utf-8")
    result = run("routing", "import", str(csv))
    assert result.returncode == 2 and "line 3" in result.stderr
