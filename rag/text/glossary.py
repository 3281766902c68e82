"""Chinese names read in English: 悉尼 -> Sydney, 華盛頓 -> Washington, 特朗普 -> Trump.

For a question asked in another language the answer quotes Chinese sentences, and the
names in them are glossed so that the reader can follow. The project's name table
(``rag.text.names``) is read first; then CC-CEDICT's proper nouns, the entries whose
reading is capitalised ("Xi1 ni2"), so 国务卿 (secretary of state) is no name. A word the
dictionary also knows as a common word (小米: Xiaomi, millet) is left out. The names are
written once to SQLite under the model cache, beside ``rag.text.cedict``'s table, and
nothing here is loaded for a Chinese question.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from rag.text.cedict import dictionary_entries, open_cached
from rag.text.names import NameTable, name_table
from rag.text.normalize import CJK_IDEOGRAPHS, is_chinese, to_simplified

# Bumped when the way the table is made changes, so an old cache is not read.
TABLE_FORMAT = 1
# A gloss longer than this describes rather than names.
MAX_NAME_CHARS = 60

# Glosses that point elsewhere or name no one thing.
_NOT_A_NAME = (
    "surname ",
    "variant of",
    "old variant",
    "japanese variant",
    "erhua variant",
    "abbr. for",
    "abbr. of",
    "abbr. to",
    "see ",
    "used in",
    "also written",
    "pr. ",
    "also pr",
    "cl:",
    "classifier",
)
# Where a name's gloss goes on to describe it or offer another spelling: "Sydney, capital
# of New South Wales", "Donald Trump (1946-)", "United Kingdom 聯合王國|联合王国[...]",
# "Shanghai municipality in southeast China", "Taibai County in Baoji", "Yellow River or
# Huang He".
_DESCRIPTION = re.compile(
    rf"[,;(\[{CJK_IDEOGRAPHS}]|\s(?:municipality|prefecture)\b|\s(?:in|or|-)\s"
)
_CAPITALISED = re.compile(r"^(?:the )?[A-Z]")


def name_of(gloss: str) -> str | None:
    """The name a proper noun's gloss starts with ("Sydney, capital of New South Wales"
    -> Sydney, "the Great Wall" -> the Great Wall), or None when it names nothing
    ("surname Wang", "variant of ...", "abbr. for ...", a lower-case gloss)."""
    text = gloss.strip()
    if text.lower().startswith(_NOT_A_NAME):
        return None
    name = _DESCRIPTION.split(text, maxsplit=1)[0].strip()
    if not _CAPITALISED.match(name) or len(name) > MAX_NAME_CHARS:
        return None
    return name


def dictionary_names() -> dict[str, str]:
    """Headword (Simplified and Traditional, two characters or more) -> its English name,
    from the first entry with a capitalised reading and a gloss that names something;
    headwords that are common words too are left out."""
    names: dict[str, str] = {}
    common: set[str] = set()
    for traditional, simplified, reading, glosses in dictionary_entries():
        if len(simplified) < 2:
            continue
        heads = {simplified, traditional}
        if not reading[:1].isupper():
            if any(not g.lower().startswith(_NOT_A_NAME) for g in glosses.split("/")):
                common |= heads
            continue
        name = next(filter(None, map(name_of, glosses.split("/"))), None)
        if name is not None:
            for head in heads:
                names.setdefault(head, name)
    return {head: name for head, name in names.items() if head not in common}


def glossary_path(cache_dir: Path) -> Path:
    """Where the names of this dictionary version are cached."""
    return Path(cache_dir) / f"cedict-names-{TABLE_FORMAT}.sqlite"


def _fill_glossary(conn: sqlite3.Connection) -> None:
    """The dictionary's names, Chinese -> English."""
    conn.execute("CREATE TABLE names (chinese TEXT PRIMARY KEY, english TEXT) WITHOUT ROWID")
    conn.executemany("INSERT INTO names VALUES (?, ?)", sorted(dictionary_names().items()))


class Glossary:
    """Chinese name -> English: the name table's Latin form, else the dictionary's."""

    def __init__(self, path: Path, table: NameTable) -> None:
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._table = _latin_forms(table)
        self._longest = max(map(len, self._table), default=0)

    def english(self, word: str) -> str | None:
        """The English name of ``word`` (either script), or None when it is no name the
        table or the dictionary knows."""
        for form in dict.fromkeys((word, to_simplified(word))):
            if form in self._table:
                return self._table[form]
        with self._lock:
            row = self._conn.execute(
                "SELECT english FROM names WHERE chinese IN (?, ?) ORDER BY chinese = ? DESC",
                (word, to_simplified(word), word),
            ).fetchone()
        return str(row[0]) if row else None

    def table_names(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, English) of every name of the table in ``text`` (Simplified),
        the longest at each place, left to right."""
        at = 0
        while at < len(text):
            for end in range(min(len(text), at + self._longest), at + 1, -1):
                english = self._table.get(text[at:end])
                if english is not None:
                    yield at, end, english
                    at = end
                    break
            else:
                at += 1


def _latin_forms(table: NameTable) -> dict[str, str]:
    """Each Chinese form of the table (and its Simplified spelling) -> the first Latin
    form of its group (特朗普 -> Trump)."""
    forms: dict[str, str] = {}
    for group in table.groups:
        latin = next((form for form in group if not is_chinese(form)), None)
        if latin is None:
            continue
        for form in group:
            if is_chinese(form) and len(form) >= 2:
                forms.setdefault(form, latin)
                forms.setdefault(to_simplified(form), latin)
    return forms


@lru_cache(maxsize=4)
def open_glossary(cache_dir: Path) -> Glossary:
    """The glossary, its dictionary part made on first use under ``cache_dir``."""
    path = glossary_path(cache_dir)
    open_cached(path, _fill_glossary)
    return Glossary(path, name_table())
