"""Suggests the sector and category of an appeal from the citizen's own words.

It proposes the likely sectors (the catch-all `other` among them), each with its best category, and
says how sure it is: the conversation asks "Похоже, это: X → Y. Верно?" only when it should, and
otherwise lists the sectors with the likely ones first. Knowledge: `config.toml`'s names,
`routing.toml` and the region's learned examples (storage/routing_models.py). Model: logistic
regression over word and character n-grams and the mean navec vector (routing_train.py), run as numpy
arrays (routing_model.py), cached in `routing.model_dir` under the hash of everything it learns from
(a change trains a new one in a child process). Confidence is calibrated by cross-validation.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TextIO

from bot.config import Category, Sector, Settings
from bot.services.routing_model import RoutingModel

log = logging.getLogger(__name__)

CSV_COLUMNS = ("text", "sector", "category")
# Keywords and config names count this many times an example and always stay in training.
KEYWORD_WEIGHT = 2.0
# Bump when the features or the training change: every cached model is then retrained.
MODEL_VERSION = "4"
STALE_DAYS = 30  # cached models of other inputs untouched this long go when a new one is trained


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


def _from_toml(settings: Settings, path: Path) -> list[LabelledText]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
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


def items_for_training(knowledge: Iterable[LabelledText]) -> list[dict]:
    return [{"text": k.text, "sector": k.sector_id, "category": k.category_id, "weight": k.weight,
             "fixed": k.weight != 1.0, "letter": k.letter} for k in knowledge]


def _labels(settings: Settings) -> tuple[list[str], list[tuple[str, str]]]:
    sectors = list(settings.sectors)
    return sectors, [(s, c.id) for s, sector in settings.sectors.items() for c in sector.categories]


def model_key(settings: Settings, knowledge: list[LabelledText]) -> str:
    """The hash of everything a model learns from: same inputs, same file."""
    sectors, pairs = _labels(settings)
    digest = hashlib.sha256(MODEL_VERSION.encode())
    digest.update(json.dumps([sectors, pairs], ensure_ascii=False).encode())
    for item in knowledge:
        digest.update(json.dumps([item.text, item.sector_id, item.category_id, item.weight, item.letter],
                                 ensure_ascii=False).encode())
    return digest.hexdigest()[:24]


def model_dir(settings: Settings) -> Path:
    """`routing.model_dir`, else the user's cache directory (shared by every config: files are keyed)."""
    if settings.routing.model_dir:
        return Path(settings.routing.model_dir)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "appeals-bot"


def model_path(settings: Settings, key: str) -> Path:
    return model_dir(settings) / f"routing-{key}.npz"


def _training_input(settings: Settings, knowledge: list[LabelledText], key: str) -> dict:
    return {"key": key, "sectors": _labels(settings)[0], "pairs": [list(p) for p in _labels(settings)[1]],
            "items": items_for_training(knowledge)}


def train_here(settings: Settings, knowledge: list[LabelledText]) -> Path:
    """Train in this process (the CLI, tests): imports scikit-learn and navec."""
    from bot.services import routing_train

    key = model_key(settings, knowledge)
    routing_train.train_into(_training_input(settings, knowledge, key), target := model_path(settings, key))
    return target


async def train_in_child(settings: Settings, knowledge: list[LabelledText]) -> Path:
    """Train in a child process, so scikit-learn and navec never stay in the bot's memory."""
    key = model_key(settings, knowledge)
    target = model_path(settings, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix="knowledge-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(_training_input(settings, knowledge, key), out, ensure_ascii=False)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.services.routing_train", name, str(target),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, errors = await process.communicate()
        finally:
            if process.returncode is None:  # cancelled (shutting down): no training child outlives the bot
                process.kill()
        if process.returncode != 0:
            raise RuntimeError(f"training the routing model failed: {errors.decode(errors='replace')[-2000:]}")
    finally:
        os.unlink(name)
    return target


@lru_cache(maxsize=4)
def _read(path: Path) -> Classifier:
    # Files are named by the hash of their inputs, so one path always holds the same model:
    # several apps in one process (tests, CLI) share it instead of reading it again.
    return Classifier(RoutingModel.read(path))


def _latest_pointer(settings: Settings) -> Path:
    """Names the newest model trained on this config and routing.toml, whatever learned examples it had."""
    base = model_key(settings, read_knowledge(settings, Path(settings.routing.knowledge)))
    return model_dir(settings) / f"latest-{base}.txt"


def _remember_latest(settings: Settings, path: Path) -> None:
    pointer = _latest_pointer(settings)
    with contextlib.suppress(OSError):
        if not pointer.is_file() or pointer.read_text(encoding="utf-8") != path.name:
            temporary = pointer.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(path.name, encoding="utf-8")
            os.replace(temporary, pointer)


async def obtain(settings: Settings, knowledge: list[LabelledText], at_start: bool = False) -> Classifier:
    """The model for this knowledge: from the cache, else trained now in a child process.

    At start-up a model of the same config and routing.toml that lacks only the newest learned
    examples is good enough: the bot starts at once and the scheduled retrain (its first run is
    at start-up, in the background) catches up. A changed config or routing.toml trains first.
    """
    path = model_path(settings, model_key(settings, knowledge))
    if not path.is_file() and at_start:
        with contextlib.suppress(OSError):
            latest = model_dir(settings) / _latest_pointer(settings).read_text(encoding="utf-8").strip()
            if latest.is_file():
                log.info("starting with the routing model %s; the retrain job learns the newest examples", latest)
                return _read(latest)
    if not path.is_file():
        log.info("training the routing model on %d examples into %s", len(knowledge), path)
        path = await train_in_child(settings, knowledge)
        _prune(path)
    _remember_latest(settings, path)
    return _read(path)


def _prune(keep: Path) -> None:
    """Weekly retrains leave a file each (about 10 MB): those untouched for STALE_DAYS go."""
    stale = time.time() - STALE_DAYS * 86400
    for old in keep.parent.glob("routing-*.npz"):
        with contextlib.suppress(OSError):
            if old != keep and old.stat().st_mtime < stale:
                old.unlink()


def obtain_here(settings: Settings, knowledge: list[LabelledText]) -> Classifier:
    path = model_path(settings, model_key(settings, knowledge))
    if not path.is_file():
        path = train_here(settings, knowledge)
    _remember_latest(settings, path)
    return _read(path)


@dataclass(frozen=True)
class Suggestion:
    """A proposed sector with its best category and the probability of each."""

    sector_id: str
    category_id: str
    confidence: float
    category_confidence: float = 0.0
    long: bool = False  # a letter-length text: judged by the thresholds calibrated on letters
    agreed: bool = True  # a letter's sentences lean the same way as the whole letter


class Classifier:
    """The trained model and its calibrated thresholds."""

    def __init__(self, model: RoutingModel) -> None:
        self.model = model

    @property
    def key(self) -> str:
        return str(self.model.meta.get("key", ""))

    def suggest(self, text: str, top: int = 3) -> list[Suggestion]:
        """Up to `top` distinct sectors, best first; [] for a text with no word the model knows."""
        prediction = self.model.predict(text)
        if not prediction.known:
            return []
        best_category, best_p = prediction.categories[0] if prediction.categories else ("other", 0.0)
        (best, p), *others = prediction.sectors[:top]
        return ([Suggestion(best, best_category, p, best_p, prediction.long, prediction.agreed)] + [
            Suggestion(s, next((c for ps, c in self.model.pairs if ps == s), "other"), p, long=prediction.long)
            for s, p in others])[:top]

    def is_confident(self, suggestions: list[Suggestion]) -> bool:
        """Offer "probably this sector" only above the bar calibrated to be right >= 9 in 10 (a letter's own)."""
        return bool(suggestions) and suggestions[0].agreed and (
            suggestions[0].confidence >= self.model.sector_bar(suggestions[0].long))

    def category_within(self, text: str, sector_id: str) -> str:
        """The most likely category of the text inside a given sector ("" if the model has none)."""
        scores = self.model.categories_within(text, sector_id)
        return scores[0][0] if scores else ""

    def category_confident(self, suggestion: Suggestion) -> bool:
        """Name the category too only when it is as sure of it (its own calibrated threshold)."""
        return suggestion.category_confidence >= self.model.category_bar(suggestion.long)


def classify_stream(classifier: Classifier, settings: Settings, lines: Iterable[str], out: TextIO) -> None:
    """One output line per input line: sector name, category name, confidence (tab-separated).

    Names are as written in config.toml. A line that gives no suggestion (empty, or no known
    word) prints empty names and 0.00, so the output stays aligned with the input.
    """
    for line in lines:
        suggestions = classifier.suggest(line.strip(), top=1)
        if not suggestions:
            out.write("\t\t0.00\n")
            continue
        best = suggestions[0]
        sector = settings.sectors[best.sector_id]
        category = sector.category(best.category_id)
        category_name = category.name if category is not None else best.category_id
        out.write(f"{sector.name}\t{category_name}\t{best.confidence:.2f}\n")
