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
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TextIO

from bot.config import Settings

# The knowledge's names, imported from here by the app, the CLI, the tests and the benches.
from bot.services.routing_knowledge import LabelledText as LabelledText
from bot.services.routing_knowledge import RoutingDataError as RoutingDataError
from bot.services.routing_knowledge import read_knowledge as read_knowledge
from bot.services.routing_knowledge import read_labelled_csv as read_labelled_csv
from bot.services.routing_model import RoutingModel

log = logging.getLogger(__name__)

# Bump when the features or the training change: every cached model is then retrained.
MODEL_VERSION = "4"
# Cached models of other inputs older than this are deleted when a new one is trained.
STALE_DAYS = 30


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
    sectors, pairs = _labels(settings)
    return {"key": key, "sectors": sectors, "pairs": [list(p) for p in pairs], "items": items_for_training(knowledge)}


def train_here(settings: Settings, knowledge: list[LabelledText]) -> Path:
    """Train in this process (the CLI, tests): imports scikit-learn and navec."""
    from bot.services import routing_train

    key = model_key(settings, knowledge)
    target = model_path(settings, key)
    routing_train.train_into(_training_input(settings, knowledge, key), target)
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
                await process.wait()  # reaped here, so its transport closes on this loop, not when collected
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


async def obtain(settings: Settings, knowledge: list[LabelledText], at_start: bool = False,
                 before_training: Callable[[], None] | None = None) -> Classifier:
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
        if before_training is not None:  # the console says why its first start takes a while
            before_training()
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
