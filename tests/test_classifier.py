"""Suggesting a sector and category from a citizen's free text (issue 9)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from bot.config import Settings, load
from bot.services.classifier import (
    Classifier,
    RoutingDataError,
    Suggestion,
    classify_stream,
    import_labelled_csv,
    learned_path,
)

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "routing.toml"
EVAL_SET = ROOT / "tests" / "data" / "routing_eval.csv"


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load(ROOT / "config.toml")


@pytest.fixture(scope="module")
def classifier(settings: Settings) -> Classifier:
    return Classifier.load(settings, KNOWLEDGE)


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    return Path(shutil.copy(KNOWLEDGE, tmp_path / "routing.toml"))


def write_csv(path: Path, rows: list[tuple[str, str, str]], header: str = "text,sector,category") -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(header + "\n")
        csv.writer(out, lineterminator="\n").writerows(rows)
    return path


def best(classifier: Classifier, text: str) -> Suggestion:
    return classifier.suggest(text)[0]


def test_no_hot_water_goes_to_housing(classifier: Classifier) -> None:
    suggestion = best(classifier, "нет горячей воды неделю на Ленина 5")
    assert (suggestion.sector_id, suggestion.category_id) == ("housing", "heating")
    assert classifier.is_confident(classifier.suggest("нет горячей воды"))


def test_misspelt_bus_that_did_not_come_goes_to_transport(classifier: Classifier) -> None:
    assert best(classifier, "автобус не приехол").sector_id == "transport"
    assert best(classifier, "афтобус 12 апять не пришол").sector_id == "transport"


@pytest.mark.parametrize(
    "text",
    ["прорвало трубу теплотрассы", "прорвало трубы теплотрассы", "на теплотрассе прорыв трубы",
     "теплотрасса прорвана"],
)
def test_word_forms_of_one_problem_route_alike(classifier: Classifier, text: str) -> None:
    suggestion = best(classifier, text)
    assert (suggestion.sector_id, suggestion.category_id) == ("energy", "heat_network")


def test_missing_spaces_still_find_the_sector(classifier: Classifier) -> None:
    assert best(classifier, "нетгорячейводы").sector_id == "housing"
    assert best(classifier, "мусорневывозят").sector_id == "waste"


def test_sector_blocks_follow_the_ЦУР_practice(classifier: Classifier) -> None:
    assert best(classifier, "во дворе не горят фонари").category_id == "lighting"
    assert best(classifier, "разбит остановочный павильон").sector_id == "roads"
    assert best(classifier, "свалка в лесу за деревней").category_id == "dumps"
    assert best(classifier, "запах газа в подъезде").category_id == "gas"


def test_top_three_are_distinct_sectors_best_first(classifier: Classifier) -> None:
    suggestions = classifier.suggest("нет света и воды", top=3)
    assert len(suggestions) == 3
    assert len({s.sector_id for s in suggestions}) == 3
    confidences = [s.confidence for s in suggestions]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)


@pytest.mark.parametrize("text", ["", "   ", "ывапролдж", "здравствуйте у меня вопрос", "😀😀😀", "123"])
def test_empty_or_garbage_text_is_not_confident(classifier: Classifier, text: str) -> None:
    assert not classifier.is_confident(classifier.suggest(text))


def test_imported_appeals_teach_the_classifier(
    settings: Settings, knowledge_copy: Path, tmp_path: Path
) -> None:
    text = "кикшеринг самокаты бросают где попало"
    before = Classifier.load(settings, knowledge_copy)
    assert best(before, text).sector_id != "roads"
    labelled = write_csv(tmp_path / "region.csv", [
        ("электросамокаты брошены поперёк тротуара", "roads", "other"),
        ("кикшеринг оставляет самокаты где попало", "Дороги", "Прочие по направлению"),
        ("самокаты арендные валяются у остановки", "roads", "other"),
    ])

    assert import_labelled_csv(settings, knowledge_copy, labelled) == 3

    after = Classifier.load(settings, knowledge_copy)
    assert (best(after, text).sector_id, best(after, text).category_id) == ("roads", "other")
    assert learned_path(knowledge_copy).name == "routing_learned.csv"


def test_importing_the_same_file_twice_adds_nothing(
    settings: Settings, knowledge_copy: Path, tmp_path: Path
) -> None:
    labelled = write_csv(tmp_path / "region.csv", [("яма у подъезда", "housing", "yards")])
    assert import_labelled_csv(settings, knowledge_copy, labelled) == 1
    assert import_labelled_csv(settings, knowledge_copy, labelled) == 0


def test_excel_csv_with_semicolons_in_windows_1251_is_accepted(
    settings: Settings, knowledge_copy: Path, tmp_path: Path
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("text;sector;category\nсосульки на крыше;ЖКХ;Фасады домов\n".encode("cp1251"))
    assert import_labelled_csv(settings, knowledge_copy, path) == 1


def test_unknown_sector_is_rejected_naming_the_line(
    settings: Settings, knowledge_copy: Path, tmp_path: Path
) -> None:
    labelled = write_csv(tmp_path / "region.csv", [
        ("нет воды", "housing", "water"),
        ("дым из трубы завода", "ecology", "air"),
    ])
    with pytest.raises(RoutingDataError) as error:
        import_labelled_csv(settings, knowledge_copy, labelled)
    assert "line 3" in str(error.value)
    assert "unknown sector 'ecology'" in str(error.value)
    assert not learned_path(knowledge_copy).exists(), "a bad file imports nothing"


def test_unknown_category_is_rejected_naming_the_line(
    settings: Settings, knowledge_copy: Path, tmp_path: Path
) -> None:
    labelled = write_csv(tmp_path / "region.csv", [("нет воды", "housing", "plumbing")])
    with pytest.raises(RoutingDataError, match=r"line 2: unknown category 'plumbing' in sector housing"):
        import_labelled_csv(settings, knowledge_copy, labelled)


def test_unknown_category_in_routing_toml_is_reported(settings: Settings, tmp_path: Path) -> None:
    knowledge = tmp_path / "routing.toml"
    knowledge.write_text('[housing.plumbing]\nexamples = ["течёт кран"]\n', encoding="utf-8")
    with pytest.raises(RoutingDataError, match=r"\[housing\.plumbing\]: unknown category"):
        Classifier.load(settings, knowledge)


def test_classify_stream_prints_config_names_tab_separated(
    classifier: Classifier, settings: Settings
) -> None:
    out = io.StringIO()
    classify_stream(classifier, settings, ["нет горячей воды\n", "\n", "автобус не пришёл\n"], out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    sector, category, confidence = lines[0].split("\t")
    assert (sector, category) == ("ЖКХ", "Отопление и горячая вода в доме")
    assert 0.0 <= float(confidence) <= 1.0
    assert lines[1] == "\t\t0.00"
    assert lines[2].split("\t")[0] == "Транспорт"


def test_eval_set_sector_accuracy_floor(classifier: Classifier) -> None:
    with EVAL_SET.open(encoding="utf-8", newline="") as source:
        cases = list(csv.DictReader(source))
    assert len(cases) >= 400
    right = sum(best(classifier, row["text"]).sector_id == row["sector"] for row in cases)
    assert right / len(cases) >= 0.85


def test_eval_set_is_not_in_the_training_data() -> None:
    knowledge = KNOWLEDGE.read_text(encoding="utf-8").lower()
    with EVAL_SET.open(encoding="utf-8", newline="") as source:
        leaked = [row["text"] for row in csv.DictReader(source) if f'"{row["text"].lower()}"' in knowledge]
    assert leaked == []
