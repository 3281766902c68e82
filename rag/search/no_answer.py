"""How sure the archive is that a question's best passages answer it: a confidence in 0..1.

A small logistic model over signals retrieval already has (the best cosine, its margin to
the next, the question's words found in the best passages, and how far the dense and
keyword lists agree; the best BM25 score is computed too but not used, since its scale
grows with the archive's size), fitted on answerable and unanswerable questions by
``scripts/calibrate_no_answer.py`` and shipped as ``rag/data/no_answer.json``. The
signals are computed the same way whatever the ranking mode, so one model serves all.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.index.protocol import SearchIndex
from rag.records import SearchFilters
from rag.search.wording import EmbeddedWording
from rag.text.sentences import lexical_overlap

MODEL_FILE = Path(__file__).resolve().parents[1] / "data" / "no_answer.json"
FEATURES = ("top_cosine", "margin", "overlap", "agreement")
# How many passages of each list the signals look at.
TOP = 5
# Below this confidence the question counts as unanswerable (the training pairs are
# balanced, so 0.5 is the point where both kinds of error are equally likely).
UNSURE = 0.5


@dataclass(frozen=True)
class LanguageModel:
    """Standardisation and logistic coefficients for the questions of one language."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    # False when the fit showed no separation for this language: the confidence is
    # reported, but the settings' cosine threshold decides the no-answer.
    decides: bool = True

    def confidence(self, values: Sequence[float]) -> float:
        z = (np.asarray(values) - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = float(z @ np.asarray(self.weights)) + self.bias
        return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))


@dataclass(frozen=True)
class NoAnswerModel:
    """One ``LanguageModel`` for Chinese questions ("zh") and one for the others ("other")."""

    features: tuple[str, ...]
    languages: Mapping[str, LanguageModel]
    threshold: float = UNSURE

    def confidence(self, language: str, signals: Mapping[str, float]) -> float:
        """How likely the passages behind ``signals`` answer a question in ``language``
        ("zh" or "other", as ``rag.text.normalize.language_of`` names it)."""
        return self.languages[language].confidence([signals[name] for name in self.features])

    def decides(self, language: str) -> bool:
        """True when the model, not a cosine threshold, decides for ``language``."""
        return self.languages[language].decides


def signals(
    reader: SearchIndex,
    wording: EmbeddedWording,
    allowed: list[int] | None,
    filters: SearchFilters | None = None,
) -> dict[str, float]:
    """The model's inputs for a question over the passages in ``allowed`` (None: all),
    which ``filters`` describe (a backend may apply those itself). With another wording
    (a translation, a Traditional question in mainland wording), the dense side is
    whichever wording comes closer to a passage and the words looked for are that
    wording's; the keyword side matches the translated terms too."""
    dense = reader.rank_dense(wording.vector, TOP, allowed, filters)
    words = wording.text
    for text, vector in (
        (wording.translation, wording.translation_vector),
        (wording.mainland, wording.mainland_vector),
    ):
        if text and vector is not None:
            other = reader.rank_dense(vector, TOP, allowed, filters)
            if other and (not dense or other[0][1] > dense[0][1]):
                dense, words = other, text
    keyword = reader.rank_keyword(wording.keywords, TOP, allowed, filters)
    cosines = [score for _, score in dense]
    top = cosines[0] if cosines else 0.0
    second = cosines[1] if len(cosines) > 1 else top
    chunks = reader.chunks([row for row, _ in dense[:3]])
    overlap = max((lexical_overlap(words, c.text) for c in chunks.values()), default=0.0)
    shared = {row for row, _ in dense} & {row for row, _ in keyword}
    return {
        "top_cosine": top,
        "margin": top - second,
        # BM25 grows with the question's length and rare words: its log spreads less
        "bm25": math.log1p(keyword[0][1]) if keyword else 0.0,
        "overlap": overlap,
        "agreement": len(shared) / TOP,
    }


def model_from_dict(data: Mapping[str, object]) -> NoAnswerModel:
    """A model from the JSON the calibration script writes."""
    features = tuple(str(f) for f in data["features"])  # type: ignore[attr-defined]
    languages = {
        name: LanguageModel(
            tuple(part["mean"]),
            tuple(part["scale"]),
            tuple(part["weights"]),
            float(part["bias"]),
            bool(part.get("decides", True)),
        )
        for name, part in data["languages"].items()  # type: ignore[attr-defined]
    }
    return NoAnswerModel(features, languages, float(data.get("threshold", UNSURE)))  # type: ignore[arg-type]


@functools.cache
def load_model(path: Path = MODEL_FILE) -> NoAnswerModel | None:
    """The shipped model, read once; None when the file is absent or unreadable."""
    try:
        return model_from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
