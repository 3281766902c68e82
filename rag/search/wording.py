"""A question ready to be ranked: what is embedded and what the keyword side matches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EmbeddedWording:
    """The question's text and vector, what the keyword side matches (the question and
    its translated terms or other name forms), and its other wording (an English
    question's Chinese, a name written the other way) with that wording's vector."""

    text: str
    vector: np.ndarray
    keywords: str
    translation: str | None = None
    translation_vector: np.ndarray | None = None
