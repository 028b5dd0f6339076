"""How well the free-text classifier routes the evaluation set.

Run from the repository root:  python bench/routing.py [--config config.toml]
    [--knowledge routing.toml] [--eval tests/data/routing_eval.csv] [--errors]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config import load  # noqa: E402
from bot.services.classifier import CONFIDENT_AT, Classifier, Suggestion  # noqa: E402

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def read_eval(path: Path) -> list[tuple[str, str, str]]:
    with path.open(encoding="utf-8", newline="") as source:
        return [(row["text"], row["sector"], row["category"]) for row in csv.DictReader(source)]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.toml")
    parser.add_argument("--knowledge", type=Path, default=ROOT / "routing.toml")
    parser.add_argument("--eval", type=Path, default=ROOT / "tests" / "data" / "routing_eval.csv")
    parser.add_argument("--errors", action="store_true", help="list the misrouted appeals")
    args = parser.parse_args()

    settings = load(args.config)
    started = time.perf_counter()
    classifier = Classifier.load(settings, args.knowledge)
    print(f"load: {(time.perf_counter() - started) * 1000:.0f} ms")

    cases = read_eval(args.eval)
    results: list[list[Suggestion]] = []
    timings: list[float] = []
    for text, _, _ in cases:
        started = time.perf_counter()
        results.append(classifier.suggest(text, top=3))
        timings.append((time.perf_counter() - started) * 1000)

    n = len(cases)
    top1 = [s[0].sector_id if s else "" for s in results]
    sector_top1 = sum(p == e for p, (_, e, _) in zip(top1, cases, strict=True)) / n
    sector_top3 = sum(e in {x.sector_id for x in s} for s, (_, e, _) in zip(results, cases, strict=True)) / n
    category_top1 = sum(
        bool(s) and (s[0].sector_id, s[0].category_id) == (e, c)
        for s, (_, e, c) in zip(results, cases, strict=True)
    ) / n
    sectors = list(settings.sectors)
    f1, recalls = macro_f1([(e, p) for p, (_, e, _) in zip(top1, cases, strict=True)], sectors)
    counts = Counter(e for _, e, _ in cases)

    print(f"eval set: {n} appeals, {args.eval}")
    print(f"sector top-1 accuracy: {sector_top1:.3f}")
    print(f"sector top-3 accuracy: {sector_top3:.3f}")
    print(f"sector macro-F1:       {f1:.3f}")
    print(f"category top-1 accuracy: {category_top1:.3f}")
    print("per-sector recall:")
    for sector_id in sectors:
        print(f"  {sector_id:<10} {recalls[sector_id]:.3f}  (n={counts[sector_id]})")
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(0.95 * len(timings)))]
    mean = statistics.mean(timings)
    print(f"time per text: mean {mean:.2f} ms, p95 {p95:.2f} ms, max {timings[-1]:.2f} ms")

    print(f"confidence threshold (is_confident uses {CONFIDENT_AT}):")
    for threshold in THRESHOLDS:
        sure = [p == e for s, p, (_, e, _) in zip(results, top1, cases, strict=True)
                if s and s[0].confidence >= threshold]
        precision = sum(sure) / len(sure) if sure else 0.0
        print(f"  >= {threshold:.1f}: covers {len(sure) / n:.3f} of appeals, sector right in {precision:.3f}")

    if args.errors:
        print("misrouted:")
        for s, (text, e, c) in zip(results, cases, strict=True):
            if not s or s[0].sector_id != e:
                got = ", ".join(f"{x.sector_id}.{x.category_id} {x.confidence:.2f}" for x in s)
                print(f"  {e}.{c} <- {got}: {text[:90]}")


if __name__ == "__main__":
    main()
