"""The trained routing model as the bot runs it: plain numpy arrays, no scikit-learn, no navec.

Training (bot/services/routing_train.py) fits scikit-learn's logistic regression and writes what
prediction needs into one `.npz` file: the n-gram vocabularies with their idf, the weights, and
each navec word's contribution to each sector's score. The bot process never imports
scikit-learn (~90 MB resident) or navec's vocabulary (~120 MB): loading the file takes tens of
milliseconds and a text is scored in well under a millisecond.

Features of a text (the same function serves training and prediction, so they cannot drift):
- word block: Snowball stems of the words and pairs of neighbouring stems;
- character block: 3-5-grams inside each word (misspellings, glued words, unknown word forms);
- meaning: the mean navec vector of the words (Russian news embeddings shipped in the `natasha`
  wheel), which carries a sector to words no example used ("лифт" near "подъезд").
The two n-gram blocks are tf-idf weighted (1 + log tf) and L2-normalised each, as scikit-learn's
TfidfVectorizer(sublinear_tf=True) would.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import snowballstemmer

MAX_CHARS = 3000
# A text of at least this many content words is a letter: its confidence is judged by the thresholds
# calibrated on held-out letters (greetings, addresses and several complaints make long text harder).
LONG_WORDS = 15
GRAM_SIZES = (3, 4, 5)
WORD_RE = re.compile(r"[а-яa-z]+")
SENTENCE_RE = re.compile(r"[.!?;\n]+")
# Function words, greetings and address abbreviations: they say nothing about the sector.
STOP_WORDS = frozenset(
    """
    а без бы был была были было в вам вас весь во вот все всё всем всех вы где да для до его ее её
    же за и из или им их к как ко когда кто ли либо меня мне мной мой моя мое моё мои моей мою
    моего мы на над нам нас наш наша наше наши нашего нашей нашем нашу не него нее неё ни но ну о
    об однако он она они оно от очень по под при просто с со так также там тем то того тоже той
    только том ту тут у уже чем что чтобы эта эти это этого этой этом этот я
    день добрый доброе здравствуйте пожалуйста прошу просим уважаемые спасибо
    вопрос вопросу вопросом помогите помочь разобраться ситуация ситуации ситуацией обращение обращаюсь
    подскажите куда можно нужно
    г ул д кв пр
    уважаемый уважаемая здраствуйте вечер времени суток заранее благодарю благодарна благодарен уважением
    проживаю проживающей проживающего являюсь неоднократно данный данной данного изложенного основании
    сообщаю довожу сведения просьба
    """.split()
)

_stemmer = snowballstemmer.stemmer("russian")


def normalise(text: str) -> str:
    return text[:MAX_CHARS].lower().replace("ё", "е")


def words(text: str) -> list[str]:
    return [w for w in WORD_RE.findall(normalise(text)) if w not in STOP_WORDS]


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


@lru_cache(maxsize=65536)
def _grams(word: str) -> tuple[str, ...]:
    padded = f"<{word}>"
    return tuple(padded[i:i + n] for n in GRAM_SIZES for i in range(len(padded) - n + 1))


def word_terms(tokens: list[str]) -> Counter[str]:
    stems = [_stem(w) for w in tokens]
    terms = Counter(stems)
    terms.update(f"{a} {b}" for a, b in itertools.pairwise(stems))
    return terms


def char_terms(tokens: list[str]) -> Counter[str]:
    terms: Counter[str] = Counter()
    for word in tokens:
        terms.update(_grams(word))
    return terms


def word_hash(word: str) -> int:
    """A stable 32-bit key of a word: navec's 250,000 words as a sorted uint32 array, not a dict."""
    return zlib.crc32(word.encode("utf-8"))


def weighted(terms: Counter[str], vocabulary: dict[str, int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices and L2-normalised (1 + log tf) * idf weights of the known terms."""
    known = [(vocabulary[t], c) for t, c in terms.items() if t in vocabulary]
    if not known:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    index = np.fromiter((i for i, _ in known), dtype=np.int64, count=len(known))
    values = np.fromiter((1.0 + math.log(c) for _, c in known), dtype=np.float64, count=len(known)) * idf[index]
    return index, values / np.linalg.norm(values)


@dataclass(frozen=True)
class Prediction:
    """Sector probabilities (best first) and, for the best sector, its categories' probabilities."""

    sectors: list[tuple[str, float]]
    categories: list[tuple[str, float]]
    known: bool  # the text had at least one word or n-gram the model knows
    long: bool = False  # LONG_WORDS content words or more
    agreed: bool = True  # a long text's sentences lean the same way as the whole (_sentences_agree)


class RoutingModel:
    """Two linear models: sector (with the meaning block) and (sector, category) pairs (n-grams)."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        self.meta = meta
        self.sector_ids: list[str] = meta["sectors"]
        self.pairs: list[tuple[str, str]] = [tuple(p) for p in meta["pairs"]]  # type: ignore[misc]
        self.word_vocabulary = {t: i for i, t in enumerate(meta["word_terms"])}
        self.char_vocabulary = {t: i for i, t in enumerate(meta["char_terms"])}
        self.word_idf, self.char_idf = arrays["word_idf"], arrays["char_idf"]
        self.weights = {name: arrays[name] for name in ("sector_word", "sector_char", "pair_word", "pair_char")}
        self.sector_bias, self.pair_bias = arrays["sector_bias"], arrays["pair_bias"]
        self.emb_hashes = arrays["emb_hashes"]
        self.emb_scores = arrays["emb_scores"]  # navec word -> its pull on each sector (already weighted)
        self.sector_threshold = float(meta["sector_threshold"])
        self.category_threshold = float(meta["category_threshold"])
        self.letter_sector_threshold = float(meta.get("letter_sector_threshold", self.sector_threshold))
        self.letter_category_threshold = float(meta.get("letter_category_threshold", self.category_threshold))
        # Temperature scaling fitted on held-out examples (routing_train._temperature).
        self.sector_temperature = float(meta.get("sector_temperature", 1.0))
        self.category_temperature = float(meta.get("category_temperature", 1.0))

    @classmethod
    def read(cls, path: Path) -> RoutingModel:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files if name != "meta"}
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
        return cls(arrays, meta)

    def sector_bar(self, long: bool) -> float:
        return self.letter_sector_threshold if long else self.sector_threshold

    def category_bar(self, long: bool) -> float:
        return self.letter_category_threshold if long else self.category_threshold

    def _meaning(self, tokens: list[str]) -> np.ndarray:
        if not tokens or len(self.emb_hashes) == 0:
            return np.zeros(len(self.sector_ids))
        keys = np.fromiter((word_hash(w) for w in tokens), dtype=np.uint32, count=len(tokens))
        at = np.searchsorted(self.emb_hashes, keys)
        at[at >= len(self.emb_hashes)] = 0
        found = at[self.emb_hashes[at] == keys]
        if len(found) == 0:
            return np.zeros(len(self.sector_ids))
        return self.emb_scores[found].astype(np.float64).mean(axis=0)

    def _sector_p(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Sector probabilities of tokens, with the n-gram indices and weights (for the pair model)."""
        w_index, w_values = weighted(word_terms(tokens), self.word_vocabulary, self.word_idf)
        c_index, c_values = weighted(char_terms(tokens), self.char_vocabulary, self.char_idf)
        meaning = self._meaning(tokens)
        known = len(w_index) + len(c_index) > 0 or bool(meaning.any())
        sector = (self.sector_bias + self.weights["sector_word"][:, w_index] @ w_values
                  + self.weights["sector_char"][:, c_index] @ c_values + meaning)
        return _softmax(sector / self.sector_temperature), (w_index, c_index), (w_values, c_values), known

    def predict(self, text: str) -> Prediction:
        tokens = words(text)
        sector_p, (w_index, c_index), (w_values, c_values), known = self._sector_p(tokens)
        order = np.argsort(-sector_p)
        sectors = [(self.sector_ids[i], float(sector_p[i])) for i in order]
        best = sectors[0][0]
        pair = (self.pair_bias + self.weights["pair_word"][:, w_index] @ w_values
                + self.weights["pair_char"][:, c_index] @ c_values)
        long = len(tokens) >= LONG_WORDS
        # Two views must agree before a letter is offered: the category model (n-grams alone, trained
        # apart) names a category of the same sector, and its sentences lean the same way. Only a letter
        # sure enough to be offered pays for the second check.
        agreed = not long or (self.pairs[int(pair.argmax())][0] == best and (
            sectors[0][1] < self.letter_sector_threshold or self._sentences_agree(text, int(order[0]))))
        return Prediction(sectors, self._within(pair, best), known, long, agreed)

    def _sentences_agree(self, text: str, best: int) -> bool:
        """A letter's sentences, each scored alone, put most weight on the same sector as the whole
        letter: a letter whose complaints pull several ways is not one to be sure of."""
        total = np.zeros(len(self.sector_ids))
        for sentence in SENTENCE_RE.split(normalise(text)):
            tokens = words(sentence)
            if tokens:
                total += self._sector_p(tokens)[0]
        return int(total.argmax()) == best

    def _within(self, pair: np.ndarray, sector_id: str) -> list[tuple[str, float]]:
        inside = [i for i, (s, _) in enumerate(self.pairs) if s == sector_id]
        if not inside:
            return []
        pair_p = _softmax(pair[inside] / self.category_temperature)
        return sorted(((self.pairs[i][1], float(p)) for i, p in zip(inside, pair_p, strict=True)),
                      key=lambda item: -item[1])

    def categories_within(self, text: str, sector_id: str) -> list[tuple[str, float]]:
        tokens = words(text)
        w_index, w_values = weighted(word_terms(tokens), self.word_vocabulary, self.word_idf)
        c_index, c_values = weighted(char_terms(tokens), self.char_vocabulary, self.char_idf)
        pair = (self.pair_bias + self.weights["pair_word"][:, w_index] @ w_values
                + self.weights["pair_char"][:, c_index] @ c_values)
        return self._within(pair, sector_id)


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()
