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


@lru_cache(maxsize=1)
def _convertible() -> tuple[frozenset[str], tuple[str, ...]] | None:
    """(characters, phrases): where the t2s dictionaries could change a text.

    OpenCC (pure Python) costs ~0.1 ms per short sentence even when nothing changes, as
    in Simplified text, and highlighting converts every sentence of every hit. Text in
    which no dictionary key occurs comes back unchanged, so it can skip OpenCC: a key
    occurs only if one of its characters is a single-character key, or it is one of
    the few phrase keys made of other characters. None if the dictionaries are unknown.
    """
    converter = _t2s()
    converter.convert("")  # loads the dictionaries
    try:
        keys = [k for group in converter._dict_chain_data for _, _, d in group for k in d]
    except (AttributeError, TypeError, ValueError):
        return None
    chars = frozenset(k for k in keys if len(k) == 1)
    phrases = tuple(sorted(k for k in keys if len(k) > 1 and chars.isdisjoint(k)))
    return chars, phrases


def to_simplified(text: str) -> str:
    """Traditional characters mapped to simplified ones (one character to one character)."""
    convertible = _convertible()
    if convertible is not None:
        chars, phrases = convertible
        if chars.isdisjoint(text) and not any(p in text for p in phrases):
            return text
    return str(_t2s().convert(text))


@lru_cache(maxsize=1)
def _tw2sp() -> Any:
    from opencc import OpenCC

    return OpenCC("tw2sp")


def to_mainland(text: str) -> str | None:
    """``text`` in Simplified characters and mainland words when it is written in
    Traditional ones (網路 -> 网络, 軟體 -> 软件, 計程車 -> 出租车); None when it is not."""
    if to_simplified(text) == text:
        return None
    return str(_tw2sp().convert(text))


def normalize_for_matching(text: str) -> str:
    """NFKC (full-width letters/digits to ASCII), lower case, Traditional to Simplified."""
    return to_simplified(unicodedata.normalize("NFKC", text).lower())


# Unicode ranges, written for a regex character class ("[...]"). The unified CJK
# ideographs hold every common Chinese character; CJK_IDEOGRAPHS adds Extension A and
# the compatibility block. CJK punctuation is 、。「」 and the ideographic space; the
# half- and full-width forms block holds ，！（ and full-width letters and digits.
CJK_UNIFIED = "\u4e00-\u9fff"
CJK_IDEOGRAPHS = f"\u3400-\u4dbf{CJK_UNIFIED}\uf900-\ufaff"
CJK_PUNCTUATION = "\u3000-\u303f"
FULLWIDTH_FORMS = "\uff00-\uffef"
_CJK = re.compile(f"[{CJK_IDEOGRAPHS}]")
# Marks that end a sentence in Chinese or English, and closing quotes/brackets after them.
SENTENCE_END_CHARS = "。！？!?；;…"
CLOSING_CHARS = "」』”’\"')）"
# A question with at least this share of CJK ideographs is treated as Chinese: it picks
# the Chinese prompt and the Chinese no-answer threshold ("中美在COP28上承诺了什么" is 0.64,
# "What did 解振华 say" is 0.23).
CHINESE_QUESTION_RATIO = 0.3
# The dots between the parts of a foreign name in Chinese: 约翰·克里, 唐納‧川普.
NAME_DOTS = "·・‧•"


def cjk_ratio(text: str) -> float:
    """Share of CJK ideographs among non-space characters (0 for empty text)."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if _CJK.match(c)) / len(chars)


def is_chinese(text: str) -> bool:
    """True when ``text`` (a question) is mostly Chinese."""
    return cjk_ratio(text) >= CHINESE_QUESTION_RATIO


def language_of(text: str) -> str:
    """``zh`` for a mostly-Chinese text (either script), else ``other``: the two languages
    thresholds, the no-answer model and the answer are tuned for."""
    return "zh" if is_chinese(text) else "other"
