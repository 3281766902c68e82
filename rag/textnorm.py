"""Text normalisation for matching: Traditional -> Simplified Chinese, full-width -> ASCII.

Only used to compare text (keyword tokens); what the user sees is always the original.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _t2s() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters mapped to simplified ones (one character to one character)."""
    return str(_t2s().convert(text))


def normalize_for_matching(text: str) -> str:
    """NFKC (full-width letters/digits to ASCII), lower case, Traditional to Simplified."""
    return to_simplified(unicodedata.normalize("NFKC", text).lower())


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def cjk_ratio(text: str) -> float:
    """Share of CJK ideographs among non-space characters (0 for empty text)."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if _CJK.match(c)) / len(chars)
