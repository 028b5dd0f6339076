"""Suggests the sector and category of an appeal from the citizen's own words.

Citizens often write "нет горячей воды неделю на Ленина 5" instead of pressing buttons. The
classifier proposes the most likely sectors, each with its best category, so the conversation
can offer them as the first buttons.

How it works (offline, pure Python, trained at load time in a fraction of a second):

- Features of a text: the Snowball stem of each word (труба/трубы/трубу are one feature) and
  character 3-5-grams inside each word, which survive misspellings ("приехол") and missing
  spaces ("нетгорячейводы").
- Model: multinomial naive Bayes over those weighted features, one class per category, with
  equal prior weight per sector (ЖКХ has ten categories and must not win by number alone).
- Knowledge: `routing.toml` (keywords and example phrases per category), the category names
  in `config.toml`, and the region's labelled appeals in `routing_learned.csv` beside
  `routing.toml` (see `import_labelled_csv`).

A suggestion's confidence is the probability of its sector: the naive-Bayes posterior,
tempered (naive Bayes is overconfident because it treats overlapping n-grams as independent
evidence) and scaled down for texts with little known vocabulary. See `is_confident` for the
threshold.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import tempfile
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TextIO

import snowballstemmer

from bot.config import Category, Sector, Settings

LEARNED_SUFFIX = "_learned.csv"
CSV_COLUMNS = ("text", "sector", "category")

# Feature weights. A word gives its stem STEM_WEIGHT and spreads GRAM_MASS over its character
# n-grams, but over no more than GRAM_SPREAD of them: a word glued from three ("нетгорячейводы")
# keeps the weight of three. Keywords count KEYWORD_WEIGHT times an example. The values were
# picked on half of the evaluation set and confirmed on the other half; the optimum is flat.
STEM_WEIGHT = 2.0
GRAM_MASS = 2.0
GRAM_SIZES = (3, 4, 5)
GRAM_SPREAD = 18
KEYWORD_WEIGHT = 2.0
SMOOTHING = 0.03
# Naive-Bayes log-likelihoods are divided by this before the softmax: the model counts
# overlapping n-grams as independent evidence and would otherwise be near-certain of everything.
# At 6 the confidence is a little below the accuracy on the evaluation set (0.87 against 0.95):
# the safe side for a region's real appeals, which are messier than any test set.
TEMPERATURE = 6.0
# Below this much known evidence the confidence shrinks (a fully known word weighs 4).
EVIDENCE_FULL = 6.0
# Suggestions at or above this confidence are offered as "probably this"; see `is_confident`.
CONFIDENT_AT = 0.5
# Very long appeals: the first part names the problem; the rest only costs time.
MAX_CHARS = 2000

WORD_RE = re.compile(r"[а-яa-z]+")
# Function words, greetings and address abbreviations ("ул", "д", "кв"): they say nothing
# about the sector and their n-grams would only add noise.
STOP_WORDS = frozenset(
    """
    а без бы был была были было в вам вас весь во вот все всё всем всех вы где да для до его ее её
    же за и из или им их к как ко когда кто ли либо меня мне мной мой моя мое моё мои моей мою
    моего мы на над нам нас наш наша наше наши нашего нашей нашем нашу не него нее неё ни но ну о
    об однако он она они оно от очень по под при просто с со так также там тем то того тоже той
    только том ту тут у уже чем что чтобы эта эти это этого этой этом этот я
    день добрый доброе здравствуйте пожалуйста прошу просим уважаемые спасибо
    г ул д кв пр
    """.split()
)

_stemmer = snowballstemmer.stemmer("russian")


@dataclass(frozen=True)
class Suggestion:
    """A proposed sector with its best category; confidence is the sector's probability."""

    sector_id: str
    category_id: str
    confidence: float


@dataclass(frozen=True)
class LabelledText:
    """One piece of training knowledge: a phrase and where it belongs."""

    text: str
    sector_id: str
    category_id: str
    weight: float = 1.0


class RoutingDataError(ValueError):
    """Routing knowledge that cannot be used: each problem names the file and the line or key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def learned_path(knowledge_path: Path) -> Path:
    """Where the region's imported appeals live: routing.toml -> routing_learned.csv."""
    return knowledge_path.with_name(knowledge_path.stem + LEARNED_SUFFIX)


# ── features ─────────────────────────────────────────────────────────────────────────────


def _normalise(text: str) -> str:
    return text[:MAX_CHARS].lower().replace("ё", "е")


@lru_cache(maxsize=65536)
def _word_features(word: str) -> tuple[str, tuple[str, ...]]:
    """The stem of a word and its character n-grams (with word-boundary marks)."""
    padded = f"<{word}>"
    grams = tuple(padded[i:i + n] for n in GRAM_SIZES for i in range(len(padded) - n + 1))
    return _stemmer.stemWord(word), grams


def features(text: str) -> dict[str, float]:
    """Weighted features of a text: word stems and in-word character n-grams."""
    bag: dict[str, float] = defaultdict(float)
    for word in WORD_RE.findall(_normalise(text)):
        if word in STOP_WORDS:
            continue
        stem, grams = _word_features(word)
        bag["w " + stem] += STEM_WEIGHT
        if grams:
            share = GRAM_MASS / min(len(grams), GRAM_SPREAD)
            for gram in grams:
                bag[gram] += share
    return bag


# ── knowledge ────────────────────────────────────────────────────────────────────────────


def read_knowledge(settings: Settings, knowledge_path: Path) -> list[LabelledText]:
    """Everything the classifier learns from: config names, routing.toml, routing_learned.csv."""
    knowledge = list(_from_config(settings))
    knowledge.extend(_from_toml(settings, knowledge_path))
    learned = learned_path(knowledge_path)
    if learned.exists():
        knowledge.extend(_from_learned(settings, learned))
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
        weight = {"keywords": KEYWORD_WEIGHT, "examples": 1.0}.get(key)
        if weight is None or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where}: {key}: expected keywords = [...] or examples = [...] (strings)")
            continue
        found.extend(LabelledText(v, sector_id, category_id, weight) for v in value if v.strip())
    return found


def _from_learned(settings: Settings, path: Path) -> list[LabelledText]:
    rows, problems = _read_labelled(settings, path, path.read_text(encoding="utf-8-sig"))
    if problems:
        raise RoutingDataError(problems)
    return rows


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


def _decode(raw: bytes) -> str:
    # Spreadsheets in Russia still save CSV in Windows-1251 more often than not.
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1251")


def import_labelled_csv(settings: Settings, knowledge_path: Path, csv_path: Path) -> int:
    """Add a region's labelled appeals (CSV text,sector,category) to routing_learned.csv.

    Sector and category may be ids or names as written in config.toml; a comma, semicolon or
    tab separated file in UTF-8 or Windows-1251 is accepted. All rows are checked first: if any
    is wrong nothing is imported and RoutingDataError lists every bad line. Rows already known
    (same text and labels) are skipped. Returns the number of rows added.
    """
    rows, problems = _read_labelled(settings, csv_path, _decode(csv_path.read_bytes()))
    if problems:
        raise RoutingDataError(problems)
    target = learned_path(knowledge_path)
    existing = _from_learned(settings, target) if target.exists() else []
    seen = {(_fold(r.text), r.sector_id, r.category_id) for r in existing}
    added: list[LabelledText] = []
    for row in rows:
        key = (_fold(row.text), row.sector_id, row.category_id)
        if key not in seen:
            seen.add(key)
            added.append(row)
    if added:
        _write_learned(target, [*existing, *added])
    return len(added)


def _write_learned(target: Path, rows: list[LabelledText]) -> None:
    # Write beside the target and rename, so a crash never leaves half a file behind.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows((row.text, row.sector_id, row.category_id) for row in rows)
    os.replace(temporary, target)


# ── the model ────────────────────────────────────────────────────────────────────────────


class Classifier:
    """Multinomial naive Bayes over categories, reported per sector."""

    def __init__(self, knowledge: Iterable[LabelledText]) -> None:
        counts: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for item in knowledge:
            bag = counts[(item.sector_id, item.category_id)]
            for feature, weight in features(item.text).items():
                bag[feature] += weight * item.weight
        self._labels: list[tuple[str, str]] = sorted(counts)
        vocabulary = {feature for bag in counts.values() for feature in bag}
        per_sector: dict[str, int] = defaultdict(int)
        for sector_id, _ in self._labels:
            per_sector[sector_id] += 1
        # Equal prior per sector, shared among its categories.
        self._prior = [-math.log(len(per_sector) * per_sector[s]) for s, _ in self._labels]
        self._base: list[float] = []
        self._lift: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, label in enumerate(self._labels):
            bag = counts[label]
            total = sum(bag.values()) + SMOOTHING * len(vocabulary)
            self._base.append(math.log(SMOOTHING / total))
            for feature, weight in bag.items():
                self._lift[feature].append((index, math.log((weight + SMOOTHING) / SMOOTHING)))

    @classmethod
    def load(cls, settings: Settings, knowledge_path: Path) -> Classifier:
        """Train on config.toml's names, routing.toml and routing_learned.csv beside it."""
        return cls(read_knowledge(settings, knowledge_path))

    def suggest(self, text: str, top: int = 3) -> list[Suggestion]:
        """Up to `top` distinct sectors, best first, each with its most likely category.

        Confidence is the sector's probability (0..1). A text with no known word gives [].
        """
        likelihoods, evidence = self._log_likelihoods(text)
        if evidence == 0.0:
            return []
        # Temper the evidence, not the prior: each sector keeps an equal share when evidence is weak.
        pairs = zip(self._prior, likelihoods, strict=True)
        scores = [prior + likelihood / TEMPERATURE for prior, likelihood in pairs]
        best = max(scores)
        weights = [math.exp(score - best) for score in scores]
        total = sum(weights)
        shrink = min(1.0, evidence / EVIDENCE_FULL)
        sector_mass: dict[str, float] = defaultdict(float)
        sector_best: dict[str, tuple[float, str]] = {}
        for (sector_id, category_id), weight in zip(self._labels, weights, strict=True):
            sector_mass[sector_id] += weight
            if weight > sector_best.get(sector_id, (-1.0, ""))[0]:
                sector_best[sector_id] = (weight, category_id)
        ranked = sorted(sector_mass, key=sector_mass.__getitem__, reverse=True)[:top]
        return [Suggestion(s, sector_best[s][1], sector_mass[s] / total * shrink) for s in ranked]

    def is_confident(self, suggestions: list[Suggestion]) -> bool:
        """Whether the best suggestion is sure enough to offer as "probably this".

        CONFIDENT_AT was chosen on the evaluation set (bench/routing.py prints the table): at
        0.5 the first sector is right in 97 of 100 confident appeals and 93% of appeals are
        confident; higher thresholds gain little precision and lose many appeals. Empty and
        meaningless texts stay below 0.25. When not confident, show the list of sectors.
        """
        return bool(suggestions) and suggestions[0].confidence >= CONFIDENT_AT

    def _log_likelihoods(self, text: str) -> tuple[list[float], float]:
        """Each category's log-likelihood of the text's known features, and their total weight."""
        scores = [0.0] * len(self._labels)
        known = 0.0
        for feature, weight in features(text).items():
            lifts = self._lift.get(feature)
            if lifts is None:
                continue
            known += weight
            for index, lift in lifts:
                scores[index] += weight * lift
        base = self._base
        return [score + known * base[i] for i, score in enumerate(scores)], known


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
