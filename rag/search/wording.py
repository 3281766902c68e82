"""A question ready to be ranked: what is embedded and what the keyword side matches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EmbeddedWording:
    """The question's text and vector, what the keyword side matches (the question and
    its translated terms or other name forms), and its other wordings with their vectors:
    an English question's Chinese (ranked beside it), a Traditional question in mainland
    wording (read by the no-answer signals only)."""

    text: str
    vector: np.ndarray
    keywords: str
    translation: str | None = None
    translation_vector: np.ndarray | None = None
    # a Traditional question in mainland wording, which the no-answer signals read too
    mainland: str | None = None
    mainland_vector: np.ndarray | None = None
