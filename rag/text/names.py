"""The written forms of one name: 特朗普 / 川普 / Trump, 悉尼 / 雪梨 / Sydney, 非典 / 沙士 / SARS.

Mainland, Taiwan, Hong Kong and English-language outlets write many names differently,
and OpenCC's character conversion does not map one to another. The table is small and
curated (``rag/data/names.txt``); a question naming one form is matched on the keyword
side with the others too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from rag.text.normalize import is_chinese, normalize_for_matching

NAMES_FILE = "names.txt"


@dataclass(frozen=True)
class NameTable:
    """Groups of written forms, each group one person, place, organisation or disease."""

    groups: tuple[tuple[str, ...], ...]

    def variants(self, question: str) -> list[str]:
        """The other written forms of every name ``question`` contains, in table order.

        Chinese forms match in either script; Latin forms match as whole words with their
        case ("WHO" the organisation, not "who")."""
        matched = normalize_for_matching(question)
        found: list[str] = []
        for group in self.groups:
            hits = [form for form in group if _contains(question, matched, form)]
            if not hits:
                continue
            seen = {_key(form) for form in hits}
            for form in group:
                if _key(form) not in seen:
                    seen.add(_key(form))
                    found.append(form)
        return found


def _key(form: str) -> str:
    return normalize_for_matching(form) if is_chinese(form) else form


def _contains(question: str, matched: str, form: str) -> bool:
    if is_chinese(form):
        return normalize_for_matching(form) in matched
    return re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", question) is not None


def parse_names(text: str) -> NameTable:
    """A table from lines of forms separated by " | " (lines starting with # skipped)."""
    groups = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        forms = tuple(dict.fromkeys(form.strip() for form in line.split("|") if form.strip()))
        if len(forms) > 1:
            groups.append(forms)
    return NameTable(tuple(groups))


@lru_cache(maxsize=1)
def name_table() -> NameTable:
    """The table shipped with the package."""
    return parse_names(resources.files("rag").joinpath("data", NAMES_FILE).read_text("utf-8"))
