"""Names a passage writes both ways: "美国国务卿蓬佩奥（Mike Pompeo）", "山本耀司（Yohji
Yamamoto）". Chinese news gives the original spelling of a foreign name in brackets the
first time it names someone, so a passage that does is a translation pair for every
passage that writes the Chinese form only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.index.tokenize import jieba_cut
from rag.text.normalize import CJK_IDEOGRAPHS, NAME_DOTS

# Chinese characters (and the dot between a foreign name's parts), then a bracket that
# may open with a label ("英语："), holding Latin text.
# (the lookbehind: a run is tried from its start only, not from each of its characters)
_GLOSSED = re.compile(
    rf"(?<![{CJK_IDEOGRAPHS}{NAME_DOTS}])([{CJK_IDEOGRAPHS}{NAME_DOTS}]+)"
    r"\s*[（(](?:[^（）()：:]{0,6}[：:])?\s*([^（）()]{1,80})[）)]"
)
_DOTS = re.compile(f"[{NAME_DOTS}]")


def glossed_as(name: str, texts: Iterable[str]) -> list[str]:
    """The Chinese written right before a bracket that holds ``name``'s last word (a
    family name, an acronym; whole word, any case) in ``texts``, once per occurrence:
    "Pompeo" in "国务卿蓬佩奥（Mike Pompeo）" gives 蓬佩奥."""
    last = name.split()[-1] if name.split() else ""
    if len(last) < 2:
        return []
    wanted = re.compile(rf"(?<![A-Za-z]){re.escape(last)}(?![A-Za-z])", re.IGNORECASE)
    found = []
    for text in texts:
        for match in _GLOSSED.finditer(text):
            if wanted.search(match.group(2)):
                chinese = name_before(match.group(1), len(match.group(2).split()))
                if chinese:
                    found.append(chinese)
    return found


def name_before(run: str, latin_words: int = 1) -> str:
    """The name that ends a run of Chinese characters ("美国国务卿蓬佩奥" -> 蓬佩奥,
    "人类学教授莫妮卡·史密斯" -> 莫妮卡·史密斯), glossed by ``latin_words`` Latin words:
    jieba's last word, with the word before each dot of a foreign name, and the word
    before a last word too short to be the whole name (高田贤|三, 山本|耀司)."""
    parts = _DOTS.split(run)
    head, tail = parts[:-1], parts[-1]
    if head:
        before = _words(head[0])
        return "·".join([*before[-1:], *head[1:], tail])
    last = _words(tail)
    if len(last) > 1 and (
        len(last[-1]) == 1 or (latin_words > 1 and len(last[-1]) == 2 and len(last[-2]) <= 2)
    ):
        return "".join(last[-2:])
    return "".join(last[-1:])


def _words(text: str) -> list[str]:
    return jieba_cut(text) if text else []
