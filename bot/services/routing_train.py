"""Training the routing model with scikit-learn and navec; run in its own process by the bot.

`python -m bot.services.routing_train KNOWLEDGE.json MODEL.npz` reads the labelled texts that
bot/services/classifier.py wrote, trains, and writes the model file atomically. The bot runs it
as a child process so that scikit-learn and navec's 250,000-word vocabulary never stay in the
bot's memory (see routing_model.py).

Confidence is calibrated, not guessed: the project's own examples are split in CV_FOLDS parts,
each part is scored by a model trained without it, and the threshold is the lowest probability
at which the suggestions at or above it were right at least CALIBRATION_PRECISION of the time.
The same for the category within the sector. The region's learned appeals join the examples, so
the threshold follows the region's own text as it accumulates.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import warnings
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.services.routing_model import (
    STOP_WORDS,
    WORD_RE,
    char_terms,
    word_hash,
    word_terms,
    words,
)

NAVEC_FILE = "data/emb/navec_news_v1_1B_250K_300d_100q.tar"
# Block weights in the sector model: n-grams tell the known words, the meaning block the unknown.
WORD_BLOCK, CHAR_BLOCK, MEANING_BLOCK = 1.0, 3.0, 1.5
SECTOR_C, PAIR_C = 5.0, 5.0
CV_FOLDS = 3
# Short written examples are easier than citizens' letters, so the bar on them is above 9 in 10.
CALIBRATION_PRECISION = 0.95
# A letter (long, greetings, several complaints) is where a pensioner is most easily misled: wider margin.
LETTER_PRECISION = 0.98
MIN_THRESHOLD = 0.35
PROJECT_CHUNK = 16384
# Fewer held-out letters than this calibrate nothing: letters are then judged like short texts.
MIN_LETTERS = 40


def navec_path() -> Path | None:
    """The navec embeddings inside the installed `natasha` wheel (nothing is downloaded)."""
    spec = importlib.util.find_spec("natasha")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / NAVEC_FILE
    return path if path.is_file() else None


class Meaning:
    """navec's quantised vectors, looked up by the same word hash the bot uses."""

    def __init__(self, path: Path | None) -> None:
        self.dim = 300
        self.hashes = np.zeros(0, dtype=np.uint32)
        self.rows = np.zeros(0, dtype=np.int64)
        if path is None:
            return
        from navec import Navec

        navec = Navec.load(str(path))
        self.indexes, self.codes = navec.pq.indexes, navec.pq.codes
        self.dim = self.codes.shape[0] * self.codes.shape[2]
        seen: dict[int, int] = {}
        for row, word in enumerate(navec.vocab.words):
            folded = word.replace("ё", "е")
            if WORD_RE.fullmatch(folded) and folded not in STOP_WORDS:
                seen.setdefault(word_hash(folded), row)
        keys = np.fromiter(seen.keys(), dtype=np.uint32, count=len(seen))
        order = np.argsort(keys)
        self.hashes = keys[order]
        self.rows = np.fromiter(seen.values(), dtype=np.int64, count=len(seen))[order]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        quantisers = np.arange(self.codes.shape[0])
        return self.codes[quantisers, self.indexes[rows]].reshape(len(rows), -1)

    def mean(self, tokens: list[str]) -> np.ndarray:
        if len(self.hashes) == 0 or not tokens:
            return np.zeros(self.dim)
        keys = np.fromiter((word_hash(w) for w in tokens), dtype=np.uint32, count=len(tokens))
        at = np.minimum(np.searchsorted(self.hashes, keys), len(self.hashes) - 1)
        found = at[self.hashes[at] == keys]
        return self.vectors(self.rows[found]).mean(axis=0) if len(found) else np.zeros(self.dim)

    def project(self, weights: np.ndarray) -> np.ndarray:
        """Every word's pull on each class, weights (classes x dim): vectors rebuilt in chunks (~60 MB)."""
        if len(self.hashes) == 0:
            return np.zeros((0, weights.shape[0]), dtype=np.float16)
        out = np.empty((len(self.rows), weights.shape[0]), dtype=np.float32)
        quantisers = np.arange(self.codes.shape[0])[None, :]
        transposed = weights.T.astype(np.float32)
        for start in range(0, len(self.rows), PROJECT_CHUNK):
            chosen = self.indexes[self.rows[start:start + PROJECT_CHUNK]]
            out[start:start + len(chosen)] = self.codes[quantisers, chosen].reshape(len(chosen), -1) @ transposed
        return out.astype(np.float16)


@lru_cache(maxsize=1)
def shared_meaning() -> Meaning:
    """navec, loaded once per process (the CLI and the tests train several models in one)."""
    return Meaning(navec_path())


def _vocabulary(documents: list[Counter[str]]) -> tuple[list[str], np.ndarray]:
    df: Counter[str] = Counter()
    for terms in documents:
        df.update(terms.keys())
    vocabulary = sorted(df)
    n = len(documents)
    idf = np.array([np.log((1 + n) / (1 + df[t])) + 1.0 for t in vocabulary])
    return vocabulary, idf


def _matrix(documents: list[Counter[str]], vocabulary: list[str], idf: np.ndarray):
    from scipy.sparse import csr_matrix

    index = {t: i for i, t in enumerate(vocabulary)}
    rows, cols, values = [], [], []
    for r, terms in enumerate(documents):
        known = [(index[t], 1.0 + np.log(c) * 1.0) for t, c in terms.items() if t in index]
        if not known:
            continue
        weights = np.array([v * idf[i] for i, v in known])
        weights /= np.linalg.norm(weights)
        rows.extend([r] * len(known))
        cols.extend(i for i, _ in known)
        values.extend(weights)
    return csr_matrix((values, (rows, cols)), shape=(len(documents), len(vocabulary)))


def _model(c: float):
    from sklearn.linear_model import LogisticRegression

    # A small knowledge file has about as many categories as examples; scikit-learn warns, harmlessly.
    warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
    return LogisticRegression(C=c, max_iter=3000, tol=1e-3, class_weight="balanced")


def _threshold(confidence: list[float], right: list[bool], precision: float = CALIBRATION_PRECISION) -> float:
    """The lowest confidence at which the suggestions at or above it are right often enough."""
    order = np.argsort(confidence)[::-1]
    values = np.asarray(confidence)[order]
    hits = np.cumsum(np.asarray(right, dtype=float)[order])
    best = 1.0
    for n in range(len(values)):
        last_of_its_value = n + 1 == len(values) or values[n + 1] < values[n]
        if last_of_its_value and n + 1 >= 10 and hits[n] / (n + 1) >= precision:
            best = float(values[n])
    return max(best, MIN_THRESHOLD)


def train(items: list[dict], sectors: list[str], pairs: list[tuple[str, str]], meaning: Meaning) -> tuple[dict, dict]:
    """Arrays and metadata of a model trained on items ({text, sector, category, weight, fixed})."""
    from scipy.sparse import hstack

    tokens = [words(item["text"]) for item in items]
    word_docs = [word_terms(t) for t in tokens]
    char_docs = [char_terms(t) for t in tokens]
    word_vocab, word_idf = _vocabulary(word_docs)
    char_vocab, char_idf = _vocabulary(char_docs)
    xw, xc = _matrix(word_docs, word_vocab, word_idf), _matrix(char_docs, char_vocab, char_idf)
    xe = np.array([meaning.mean(t) for t in tokens])
    x_sector = hstack([xw * WORD_BLOCK, xc * CHAR_BLOCK, xe * MEANING_BLOCK]).tocsr()
    x_pair = hstack([xw, xc]).tocsr()
    y_sector = np.array([sectors.index(item["sector"]) for item in items])
    y_pair = np.array([pairs.index((item["sector"], item["category"])) for item in items])
    weight = np.array([item.get("weight", 1.0) for item in items])

    calibration = _calibrate(items, x_sector, x_pair, y_sector, y_pair, weight, pairs)

    sector_model = _model(SECTOR_C).fit(x_sector, y_sector, sample_weight=weight)
    pair_model = _model(PAIR_C).fit(x_pair, y_pair, sample_weight=weight)
    sector_coef = _full(sector_model, len(sectors), x_sector.shape[1])
    pair_coef = _full(pair_model, len(pairs), x_pair.shape[1])
    fw, fc = len(word_vocab), len(char_vocab)
    arrays = {
        "word_idf": word_idf, "char_idf": char_idf,
        "sector_word": (sector_coef[0][:, :fw] * WORD_BLOCK).astype(np.float32),
        "sector_char": (sector_coef[0][:, fw:fw + fc] * CHAR_BLOCK).astype(np.float32),
        "sector_bias": sector_coef[1],
        "pair_word": pair_coef[0][:, :fw].astype(np.float32),
        "pair_char": pair_coef[0][:, fw:fw + fc].astype(np.float32),
        "pair_bias": pair_coef[1],
        "emb_hashes": meaning.hashes,
        "emb_scores": meaning.project(sector_coef[0][:, fw + fc:] * MEANING_BLOCK),
    }
    meta = {"sectors": sectors, "pairs": [list(p) for p in pairs], "word_terms": word_vocab, "char_terms": char_vocab,
            "examples": len(items), **calibration}
    return arrays, meta


def _full(model, classes: int, features: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights for every class, also those with no example (they never win)."""
    coef = np.zeros((classes, features))
    bias = np.full(classes, -1e3)
    if len(model.classes_) == 2:  # scikit-learn keeps one row for two classes
        coef[model.classes_[1]], bias[model.classes_[1]] = model.coef_[0], model.intercept_[0]
        coef[model.classes_[0]], bias[model.classes_[0]] = -model.coef_[0], -model.intercept_[0]
    else:
        coef[model.classes_], bias[model.classes_] = model.coef_, model.intercept_
    return coef, bias


def _temperature(logits: list[np.ndarray], truth: list[int]) -> float:
    """Temperature scaling (Guo et al., 2017): the divisor of the scores that makes the held-out
    probabilities honest (least negative log-likelihood). A small, separable training set makes
    logistic regression far too sure of itself; this undoes it."""
    if not truth:
        return 1.0
    best, best_loss = 1.0, float("inf")
    for t in np.geomspace(0.5, 20.0, 40):
        loss = 0.0
        for scores, k in zip(logits, truth, strict=True):
            shifted = scores / t - (scores / t).max()
            loss -= shifted[k] - np.log(np.exp(shifted).sum()) if k >= 0 else 0.0
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


def _softmax(scores: np.ndarray, t: float) -> np.ndarray:
    shifted = np.exp(scores / t - (scores / t).max())
    return shifted / shifted.sum()


def _calibrate(items, x_sector, x_pair, y_sector, y_pair, weight, pairs) -> dict[str, float]:
    """Temperatures and thresholds from out-of-fold scores of the written examples and letters
    (keywords and config names always stay in training). Short texts are judged by the examples'
    thresholds, letters (LONG_WORDS content words or more) by the held-out letters' own."""
    held = np.array([not item.get("fixed", False) for item in items])
    candidates = np.flatnonzero(held)
    if len(candidates) < CV_FOLDS * 10:
        return {"sector_threshold": 1.0, "category_threshold": 1.0, "sector_temperature": 1.0,
                "category_temperature": 1.0}
    rng = np.random.default_rng(20)
    fold_of = np.full(len(items), -1)
    fold_of[candidates] = rng.permutation(len(candidates)) % CV_FOLDS
    sector_scores, sector_truth, sector_letter = [], [], []
    pair_scores, pair_truth, pair_letter = [], [], []
    for fold in range(CV_FOLDS):
        test = fold_of == fold
        rows = ~test
        letters = [bool(items[i].get("letter")) for i in np.flatnonzero(test)]
        sector_model = _model(SECTOR_C).fit(x_sector[rows], y_sector[rows], sample_weight=weight[rows])
        pair_model = _model(PAIR_C).fit(x_pair[rows], y_pair[rows], sample_weight=weight[rows])
        for scores, truth, letter in zip(sector_model.decision_function(x_sector[test]), y_sector[test], letters,
                                         strict=True):
            sector_scores.append(scores)
            sector_letter.append(letter)
            sector_truth.append(int(np.searchsorted(sector_model.classes_, truth))
                                if truth in sector_model.classes_ else -1)
        for scores, truth, letter in zip(pair_model.decision_function(x_pair[test]), y_pair[test], letters,
                                         strict=True):
            # The category is chosen among the true sector's categories (when the sector is right).
            inside = [k for k, c in enumerate(pair_model.classes_) if pairs[c][0] == pairs[truth][0]]
            if len(inside) > 1:
                pair_scores.append(scores[inside])
                pair_letter.append(letter)
                pair_truth.append(next((i for i, k in enumerate(inside) if pair_model.classes_[k] == truth), -1))
    sector_t, pair_t = _temperature(sector_scores, sector_truth), _temperature(pair_scores, pair_truth)
    found = {"sector_temperature": sector_t, "category_temperature": pair_t}
    for name, scores, truth, letter, t in (("sector", sector_scores, sector_truth, sector_letter, sector_t),
                                           ("category", pair_scores, pair_truth, pair_letter, pair_t)):
        p = [_softmax(s, t) for s in scores]
        confidence = np.array([float(q.max()) for q in p])
        right = np.array([int(q.argmax()) == k for q, k in zip(p, truth, strict=True)])
        letter = np.array(letter, dtype=bool)
        short = list(confidence[~letter]), list(right[~letter])
        found[f"{name}_threshold"] = _threshold(*short)
        if letter.sum() >= MIN_LETTERS:
            # The written letters are easier than real ones (fewer of them go wrong than real letters do),
            # so a letter must clear the bar of both, each at the wider margin.
            found[f"letter_{name}_threshold"] = max(_threshold(*short, LETTER_PRECISION),
                                                    _threshold(list(confidence[letter]), list(right[letter]),
                                                               LETTER_PRECISION))
    return found


def write_model(arrays: dict, meta: dict, target: Path) -> None:
    """Beside the target and renamed into place: a reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp.npz")
    os.close(handle)
    try:
        meta_bytes = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
        np.savez(temporary, meta=meta_bytes, **arrays)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def train_into(data: dict, target: Path) -> None:
    """Train on what bot/services/classifier.py gathered ({key, sectors, pairs, items}) into target."""
    arrays, meta = train(data["items"], data["sectors"], [tuple(p) for p in data["pairs"]], shared_meaning())
    meta["key"] = data["key"]
    write_model(arrays, meta, target)


def train_file(knowledge: Path, target: Path) -> None:
    train_into(json.loads(knowledge.read_text(encoding="utf-8")), target)


if __name__ == "__main__":
    train_file(Path(sys.argv[1]), Path(sys.argv[2]))
