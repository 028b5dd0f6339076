"""The routing knowledge: what the classifier learns from (config.toml's names, routing.toml, the learned
examples) and a region's labelled CSV, read and checked with every problem named by file and line."""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.config import Category, Sector, Settings

CSV_COLUMNS = ("text", "sector", "category")
# Keywords and config names count this many times an example and always stay in training.
KEYWORD_WEIGHT = 2.0


@dataclass(frozen=True)
class LabelledText:
    """One piece of training knowledge: a phrase and where it belongs."""

    text: str
    sector_id: str
    category_id: str
    weight: float = 1.0
    letter: bool = False  # a whole letter as citizens write them: also calibrates confidence on long text


class RoutingDataError(ValueError):
    """Routing knowledge that cannot be used: each problem names the file and the line or key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ── knowledge ────────────────────────────────────────────────────────────────────────────


def read_knowledge(settings: Settings, knowledge_path: Path,
                   learned: Iterable[LabelledText] = ()) -> list[LabelledText]:
    """Everything the classifier learns from: config names, routing.toml, the learned examples."""
    knowledge = list(_from_config(settings))
    knowledge.extend(_from_toml(settings, knowledge_path))
    known_sectors = set(settings.sectors)
    # An example of a sector or category the config no longer has teaches nothing.
    knowledge.extend(item for item in learned if item.sector_id in known_sectors
                     and settings.sectors[item.sector_id].category(item.category_id) is not None)
    return knowledge


def _from_config(settings: Settings) -> Iterator[LabelledText]:
    for sector_id, sector in settings.sectors.items():
        for category in sector.categories:
            yield LabelledText(category.name, sector_id, category.id, KEYWORD_WEIGHT)


@lru_cache(maxsize=4)
def _parsed(path: str, _mtime_ns: int, _size: int) -> dict:
    """routing.toml parsed once per version of the file (every App built reads it twice: ~20 ms each)."""
    return tomllib.loads(Path(path).read_text(encoding="utf-8"))


def _from_toml(settings: Settings, path: Path) -> list[LabelledText]:
    try:
        stat = path.stat()
        raw = _parsed(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError as exc:
        raise RoutingDataError([f"{path}: no such routing knowledge file"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise RoutingDataError([f"{path}: not valid TOML: {exc}"]) from exc
    problems: list[str] = []
    found: list[LabelledText] = []
    for sector_id, categories in raw.items():
        sector = settings.sectors.get(sector_id)
        if sector is None:
            problems.append(f"{path}: [{sector_id}]: unknown sector (known: {_known_sectors(settings)})")
        elif not isinstance(categories, dict):
            problems.append(f"{path}: {sector_id}: expected tables [{sector_id}.<category id>]")
        else:
            for category_id, table in categories.items():
                where = f"{path}: [{sector_id}.{category_id}]"
                if sector.category(category_id) is None or not isinstance(table, dict):
                    known = ", ".join(c.id for c in sector.categories)
                    problems.append(f"{where}: unknown category (known in {sector_id}: {known})")
                else:
                    found.extend(_category_table(where, sector_id, category_id, table, problems))
    if problems:
        raise RoutingDataError(problems)
    return found


def _category_table(
    where: str, sector_id: str, category_id: str, table: dict, problems: list[str]
) -> list[LabelledText]:
    found: list[LabelledText] = []
    for key, value in table.items():
        weight = {"keywords": KEYWORD_WEIGHT, "examples": 1.0, "letters": 1.0}.get(key)
        if weight is None or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where}: {key}: expected keywords, examples or letters = [...] (strings)")
            continue
        found.extend(LabelledText(v, sector_id, category_id, weight, key == "letters") for v in value if v.strip())
    return found


def _known_sectors(settings: Settings) -> str:
    return ", ".join(f"{sector_id} ({sector.name})" for sector_id, sector in settings.sectors.items())


def _fold(name: str) -> str:
    return " ".join(name.lower().replace("ё", "е").split())


def _find_sector(settings: Settings, value: str) -> tuple[str, Sector] | None:
    folded = _fold(value)
    for sector_id, sector in settings.sectors.items():
        if folded in {sector_id, _fold(sector.name), _fold(sector.name_en)}:
            return sector_id, sector
    return None


def _find_category(sector: Sector, value: str) -> Category | None:
    folded = _fold(value)
    return next((c for c in sector.categories if folded in {c.id, _fold(c.name), _fold(c.name_en)}), None)


def _read_labelled(settings: Settings, path: Path, content: str) -> tuple[list[LabelledText], list[str]]:
    """Rows of a text,sector,category CSV (ids or config names); problems name the line."""
    first_line = content.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    header = [_fold(cell) for cell in next(reader, [])]
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        return [], [f"{path}, line 1: the header must name the columns text, sector, category "
                    f"(missing: {', '.join(missing)})"]
    text_at, sector_at, category_at = (header.index(column) for column in CSV_COLUMNS)
    rows: list[LabelledText] = []
    problems: list[str] = []
    for cells in reader:
        where = f"{path}, line {reader.line_num}"
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) < len(header):
            problems.append(f"{where}: expected {len(header)} columns, found {len(cells)}")
            continue
        text, sector_value, category_value = cells[text_at].strip(), cells[sector_at], cells[category_at]
        found = _find_sector(settings, sector_value)
        if found is None:
            problems.append(f"{where}: unknown sector {sector_value!r} (known: {_known_sectors(settings)})")
            continue
        sector_id, sector = found
        category = _find_category(sector, category_value)
        if category is None:
            known = ", ".join(f"{c.id} ({c.name})" for c in sector.categories)
            problems.append(f"{where}: unknown category {category_value!r} in sector {sector_id} "
                            f"(known: {known})")
            continue
        if not text:
            problems.append(f"{where}: the text is empty")
            continue
        rows.append(LabelledText(text, sector_id, category.id))
    return rows, problems


def read_labelled_csv(settings: Settings, csv_path: Path) -> list[LabelledText]:
    """Rows of a region's labelled CSV (text,sector,category; ids or config names; comma, semicolon
    or tab; UTF-8 or Windows-1251). If any row is wrong RoutingDataError lists every bad line."""
    rows, problems = _read_labelled(settings, csv_path, _decode(csv_path.read_bytes()))
    if problems:
        raise RoutingDataError(problems)
    return rows


def _decode(raw: bytes) -> str:
    # Spreadsheets in Russia still save CSV in Windows-1251 more often than not.
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1251")
