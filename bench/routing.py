"""How well the free-text classifier routes real and written appeals.

Run from the repository root:
    python bench/routing.py [--config config.toml] [--eval tests/data/routing_eval.csv]
        [--eval-real tests/data/routing_eval_real.csv] [--eval-letters tests/data/routing_eval_letters.csv]
        [--dev ../shared/data/routing_dev_cheboksary.csv] [--errors] [--learning-curve FILE.csv]

For the project's own evaluation sets (short written appeals; long letters written the way citizens
write, several topics, no keywords, a tenth that fits no sector) and, when present, the real appeals of another region
(`../shared/data/`, a measuring stick: never trained on), it prints top-1 accuracy, macro-F1 over
every label (the eight sectors and `other`), per-label recall, the share of confident suggestions
and their precision, and the time per text. The model is the one the bot would use (config.toml,
routing.toml; no learned examples), trained or taken from the cache.

--learning-curve FILE: what a region gains from its own archive. A stratified half of FILE is
added to the training knowledge (in memory, nothing is written into the project or its database),
the other half is scored before and after.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config import Settings, load  # noqa: E402
from bot.services import classifier as routing  # noqa: E402
from bot.services.classifier import Classifier, LabelledText  # noqa: E402
from bot.services.routing_model import LONG_WORDS  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "routing_dev_cheboksary.csv"
TARGETS = {"top-1": 0.75, "macro-F1": 0.60, "confident precision": 0.90}


def read_labelled(settings: Settings, path: Path) -> list[tuple[str, str]]:
    """(text, sector id) rows; the sector column is `sector` or `label`, an id or a config name."""
    names = {s.name.lower(): sid for sid, s in settings.sectors.items()} | {sid: sid for sid in settings.sectors}
    names |= {s.name.split(" /")[0].lower(): sid for sid, s in settings.sectors.items()}
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as source:
        for row in csv.DictReader(source):
            label = (row.get("sector") or row.get("label") or "").strip().lower()
            rows.append((row["text"], names.get(label, label)))
    return rows


def macro_f1(pairs: list[tuple[str, str]], labels: list[str]) -> tuple[float, dict[str, float]]:
    """Macro-F1 over labels and each label's recall, from (expected, predicted) pairs."""
    f1s, recalls = [], {}
    for label in labels:
        tp = sum(1 for e, p in pairs if e == label and p == label)
        fp = sum(1 for e, p in pairs if e != label and p == label)
        fn = sum(1 for e, p in pairs if e == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        recalls[label] = recall
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(f1s) / len(f1s), recalls


def score(classifier: Classifier, settings: Settings, cases: list[tuple[str, str]], title: str,
          errors: bool = False) -> dict[str, float]:
    timings, top1, confident, long = [], [], [], 0
    for text, expected in cases:
        started = time.perf_counter()
        suggestions = classifier.suggest(text, top=3)
        timings.append((time.perf_counter() - started) * 1000)
        got = suggestions[0].sector_id if suggestions else ""
        top1.append(got)
        long += bool(suggestions and suggestions[0].long)
        if classifier.is_confident(suggestions):
            confident.append(got == expected)
        if errors and got != expected:
            print(f"  {expected} <- {got}: {text[:90]}")
    n = len(cases)
    labels = list(settings.sectors)
    accuracy = sum(p == e for p, (_, e) in zip(top1, cases, strict=True)) / n
    f1, recalls = macro_f1([(e, p) for p, (_, e) in zip(top1, cases, strict=True)], labels)
    counts = Counter(e for _, e in cases)
    precision = sum(confident) / len(confident) if confident else 0.0
    print(f"{title}: {n} appeals, {long / n:.0%} of them letters")
    print(f"  top-1 accuracy:        {accuracy:.3f}")
    print(f"  macro-F1 ({len(labels)} labels):  {f1:.3f}")
    print(f"  confident suggestions: {len(confident) / n:.3f} of appeals, right in {precision:.3f}")
    print("  recall per label:")
    for label in labels:
        print(f"    {label:<10} {recalls[label]:.3f}  (n={counts[label]})")
    timings.sort()
    print(f"  time per text: mean {statistics.mean(timings):.2f} ms, "
          f"p95 {timings[int(0.95 * (len(timings) - 1))]:.2f} ms, max {timings[-1]:.2f} ms")
    return {"top-1": accuracy, "macro-F1": f1, "confident precision": precision}


def learning_curve(settings: Settings, path: Path, base: list[LabelledText]) -> None:
    """Half of a region's archive (stratified by sector) trains, the other half is scored."""
    rows = read_labelled(settings, path)
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[1]].append(row)
    learn, test = [], []
    shuffle = random.Random(20)
    for items in by_label.values():
        shuffle.shuffle(items)
        learn += items[: len(items) // 2]
        test += items[len(items) // 2:]
    before = routing.obtain_here(settings, base)
    score(before, settings, test, f"learning curve: held-out half of {path.name}, knowledge only")
    with tempfile.TemporaryDirectory() as scratch:
        settings.routing.model_dir = scratch  # the half-trained model never reaches the real cache
        learned = [LabelledText(text, label, _category(settings, label)) for text, label in learn]
        started = time.perf_counter()
        after = routing.obtain_here(settings, [*base, *learned])
        print(f"trained with {len(learned)} of the region's appeals in {time.perf_counter() - started:.1f} s")
        score(after, settings, test, f"learning curve: the same half after learning the other {len(learned)}")


def _category(settings: Settings, sector_id: str) -> str:
    sector = settings.sectors[sector_id]
    return "other" if sector.category("other") else sector.categories[0].id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.toml")
    parser.add_argument("--eval", type=Path, default=ROOT / "tests" / "data" / "routing_eval.csv")
    parser.add_argument("--eval-real", type=Path, default=ROOT / "tests" / "data" / "routing_eval_real.csv")
    parser.add_argument("--eval-letters", type=Path, default=ROOT / "tests" / "data" / "routing_eval_letters.csv")
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--errors", action="store_true", help="list the misrouted appeals of the project's own set")
    parser.add_argument("--learning-curve", type=Path, help="a labelled CSV: learn from half, score the other half")
    args = parser.parse_args()

    settings = load(args.config)
    base = routing.read_knowledge(settings, Path(settings.routing.knowledge))
    path = routing.model_path(settings, routing.model_key(settings, base))
    if not path.is_file():
        started = time.perf_counter()
        routing.train_here(settings, base)
        print(f"trained on {len(base)} examples in {time.perf_counter() - started:.1f} s (cached in {path.parent})")
    started = time.perf_counter()
    classifier = routing.obtain_here(settings, base)
    model = classifier.model
    print(f"model load: {(time.perf_counter() - started) * 1000:.0f} ms; confident from "
          f"{model.sector_threshold:.2f} (sector), {model.category_threshold:.2f} (category) for short texts, "
          f"{model.letter_sector_threshold:.2f} / {model.letter_category_threshold:.2f} for letters "
          f"(>= {LONG_WORDS} content words, their sentences agreeing), calibrated by cross-validation on the "
          "project's own examples and letters")

    score(classifier, settings, read_labelled(settings, args.eval), f"project's set {args.eval.name}", args.errors)
    for own in (args.eval_real, args.eval_letters):
        if own.is_file():
            score(classifier, settings, read_labelled(settings, own), f"project's set {own.name}", args.errors)
    if args.dev.is_file():
        figures = score(classifier, settings, read_labelled(settings, args.dev), f"real appeals {args.dev.name}")
        print("  targets: " + ", ".join(f"{k} >= {v:.2f}: {'met' if figures[k] >= v else 'MISSED'}"
                                        for k, v in TARGETS.items()))
    if args.learning_curve:
        learning_curve(settings, args.learning_curve, base)


if __name__ == "__main__":
    main()
