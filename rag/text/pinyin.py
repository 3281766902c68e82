"""Chinese names written in Latin letters ("Yan Changshou", "Heilongjiang", "Chang
Yu-sheng") and the Chinese characters that spell them in a passage.

A dictionary cannot give the characters of most people's names: 严长寿 is in no
dictionary, and "Yan Changshou" could be written with dozens of characters. But the
passage that answers a question about him writes the name in characters, so the name is
found by reading candidate passages aloud: a run of characters whose readings (from
CC-CEDICT, every reading of a character, tones dropped) spell the name's syllables in
order. Hanyu pinyin and Wade-Giles (Taiwan's usual spelling: "Chang" for 张, "Tsai" for
蔡) are both read. pypinyin would give the readings too, but CC-CEDICT is already the
project's dictionary and holds every reading a name uses.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from rag.records import LatinName

# A name of fewer syllables matches too many runs of characters to tell anything;
# more than four is no Chinese name.
MIN_SYLLABLES = 2
MAX_SYLLABLES = 4
MIN_LETTERS = 4

# Wade-Giles initials and finals read as pinyin, most common spellings only.
_WG_INITIALS = (
    ("hs", ("x",)),
    ("ch", ("zh", "ch", "j", "q")),
    ("ts", ("z", "c")),
    ("tz", ("z", "c")),
    ("j", ("r",)),
    ("k", ("g", "k")),
    ("t", ("d", "t")),
    ("p", ("b", "p")),
)
_WG_FINALS = (("ung", "ong"), ("ieh", "ie"), ("ien", "ian"), ("ih", "i"), ("erh", "er"))
# Whole syllables as Taiwan and Hong Kong spell names ("Lee Teng-hui", "Ma Ying-jeou").
_WG_WHOLE = {
    "lee": ("li",),
    "yeh": ("ye",),
    "soong": ("song",),
    "sung": ("song",),
    "jeou": ("jiu",),
    "hsu": ("xu",),
    "yu": ("yu", "you"),
}


def plain(syllable: str) -> str:
    """A reading without its tone, ü written u ("Lu:4" -> "lu", "nü" -> "nu", "Xí" -> "xi")."""
    bare = unicodedata.normalize("NFD", syllable.lower().replace("u:", "u"))
    return re.sub(r"[^a-z]", "", bare)


def wade_giles(syllable: str) -> set[str]:
    """The pinyin syllables a Wade-Giles syllable may stand for ("chang" -> zhang,
    chang; "tsai" -> cai, zai; "hsieh" -> xie; "ih" -> yi); empty when it reads as none."""
    if syllable in _WG_WHOLE:
        return set(_WG_WHOLE[syllable])
    heads = [("", syllable)]
    for initial, replacements in _WG_INITIALS:
        if syllable.startswith(initial):
            heads = [(new, syllable[len(initial) :]) for new in replacements]
            break
    out = set()
    for head, rest in heads:
        for old, new in _WG_FINALS:
            if rest.endswith(old):
                rest = rest[: -len(old)] + new
                break
        out.add(head + rest)
    if syllable.startswith("i"):  # "Ing-wen": ying; "Yu-ih": yi
        out |= {"y" + candidate for candidate in out}
    if syllable in ("ko", "ho"):
        out.add(syllable[0] + "e")
    return out


def spell(
    words: Iterable[str],
    syllables: frozenset[str],
    min_syllables: int = MIN_SYLLABLES,
    min_letters: int = MIN_LETTERS,
) -> LatinName | None:
    """``words`` ("Yan", "Changshou") read as a Chinese name, or None when they do not
    split into ``min_syllables``-4 pinyin or Wade-Giles syllables of ``min_letters`` or
    more letters in all."""
    words = list(words)
    parts: list[tuple[str, ...]] = []
    for word in words:
        for piece in re.split(r"[-'\u2019]", word):
            split = split_syllables(plain(piece), syllables)
            if split is None:
                return None
            for syllable in split:
                readings = {syllable} if syllable in syllables else set()
                readings |= wade_giles(syllable) & syllables
                parts.append(tuple(sorted(readings)))
    # three letters read as two syllables ("Lee": le-e) is more often an English name
    letters = sum(len(plain(word)) for word in words)
    if not min_syllables <= len(parts) <= MAX_SYLLABLES or letters < min_letters:
        return None
    return LatinName(" ".join(words), tuple(parts))


def split_syllables(
    word: str, syllables: frozenset[str], wade_giles_too: bool = True
) -> list[str] | None:
    """``word`` as the fewest syllables (pinyin, or Wade-Giles too), None when it is not
    made of them ("changshou" -> chang, shou; "thesis" -> None)."""

    def known(piece: str) -> bool:
        if piece in syllables:
            return True
        return wade_giles_too and bool(wade_giles(piece) & syllables)

    best: list[list[str] | None] = [[]] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):
            before = best[start]
            piece = word[start:end]
            if before is None or not known(piece):
                continue
            candidate = [*before, piece]
            current = best[end]
            if current is None or len(candidate) < len(current):
                best[end] = candidate
    return best[len(word)] if word else None


def find_written(
    name: LatinName, texts: Iterable[str], readings: Mapping[str, frozenset[str]]
) -> list[str]:
    """Every run of characters in ``texts`` that reads as ``name``, in order of
    appearance (repeats kept: how often a spelling occurs is evidence)."""
    length = len(name.syllables)
    if not length:
        return []
    wanted = [set(options) for options in name.syllables]
    # the characters that may start the name, so that most positions cost one look-up
    first = {char for char, read in readings.items() if wanted[0] & read}
    found = []
    for text in texts:
        for start, char in enumerate(text[: len(text) - length + 1]):
            if char in first and all(
                wanted[offset] & readings.get(text[start + offset], frozenset())
                for offset in range(1, length)
            ):
                found.append(text[start : start + length])
    return found
