"""A question's other wordings, worked out once in the query stage.

An English question is translated word by word with CC-CEDICT (``rag.text.cedict``):
phrases first ("prime minister", "world war"), then words with their plural or past
tense undone, stop words dropped; each unit gives its strongest Chinese senses. The
Chinese terms are what the keyword side matches, and the first sense of each unit,
strung together, is embedded beside the question as asked. Chinese names written in
pinyin or Wade-Giles are kept aside, to be read in the passages (``rag.text.pinyin``).
Every question, Chinese ones too, also matches the other written forms of the names it
contains (``rag.text.names``), and a Chinese question naming one is embedded a second
time with its names written the other way. A question in Traditional characters is also
matched and embedded in mainland Simplified wording (OpenCC tw2sp: 網路 -> 网络, 軟體 ->
软件), since most Chinese news is written that way. A Chinese question never loads the
dictionary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from rag.records import LatinName, Query
from rag.text.cedict import MAX_PHRASE_WORDS, EnglishLexicon, open_lexicon
from rag.text.names import name_table
from rag.text.normalize import to_mainland
from rag.text.pinyin import spell

# Senses of one English unit kept for the keyword side: at most this many, each at
# least this share of the strongest one's weight.
KEYWORD_SENSES = 8
SENSE_SHARE = 0.0

_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"  # Latin, accents too ("Yelü")
_WORDS = re.compile(rf"[{_LETTER}][{_LETTER}'\-]*[{_LETTER}]|[{_LETTER}]|\d+(?:[.,:]\d+)*")
_STOP_WORDS = """a an the of in on at to for from by with about as into onto over under than then
    and or but nor not no yes so if whether is are was were be been being am do does did
    done doing have has had having can could would should will shall may might must
    what which who whom whose when where why how that this these those there here it its
    he she they them him her his hers their theirs we us our you your i me my mine
    one ones some any many much more most other such own same just also very too
    according passage text article mentioned mention called named name say says said
    kind type way thing things something anything get got make made let s t"""
_STOP = frozenset(_STOP_WORDS.split())


# Past tenses the suffix rules cannot undo, common in questions about events.
_IRREGULAR = {
    "held": "hold",
    "won": "win",
    "took": "take",
    "made": "make",
    "began": "begin",
    "became": "become",
    "wrote": "write",
    "written": "write",
    "led": "lead",
    "built": "build",
    "sold": "sell",
    "paid": "pay",
    "left": "leave",
    "brought": "bring",
    "bought": "buy",
    "told": "tell",
    "gave": "give",
    "given": "give",
    "went": "go",
    "came": "come",
    "saw": "see",
    "seen": "see",
    "knew": "know",
    "known": "know",
    "grew": "grow",
    "drew": "draw",
    "fought": "fight",
    "met": "meet",
    "ran": "run",
    "spent": "spend",
    "lost": "lose",
    "sent": "send",
    "stood": "stand",
    "taught": "teach",
    "chose": "choose",
    "chosen": "choose",
    "broke": "break",
    "spoke": "speak",
    "fell": "fall",
    "flew": "fly",
    "rose": "rise",
    "died": "die",
    "children": "child",
    "women": "woman",
    "men": "man",
    "people": "people",
    "taken": "take",
    "thought": "think",
}


@dataclass(frozen=True)
class Wording:
    """The question's other wordings: what the keyword side matches besides the
    question, and another wording embedded beside it (None: nothing): the question in
    the dictionary's Chinese, or a Chinese question with its names written the other
    way (川普 -> 特朗普)."""

    keywords: str | None = None
    translation: str | None = None
    # Chinese names written in Latin letters, to be read in the passages (rag.text.pinyin)
    latin_names: tuple[LatinName, ...] = ()


def reword(text: str, language: str, cache_dir: Path, translate: bool = True) -> Wording:
    """The other wordings of ``text``: for a non-Chinese question (with ``translate``)
    the dictionary's Chinese, and for every question the other forms of its names."""
    table = name_table()
    names = table.variants(text)
    if language == "zh":
        # Taiwan's words matched and embedded as the mainland writes them too
        mainland = to_mainland(text)
        keywords = [*names, *([mainland] if mainland else [])]
        return Wording(
            keywords=" ".join(keywords) or None,
            translation=table.respelled(mainland or text) or mainland,
        )
    if not translate:
        return Wording(keywords=" ".join(names) or None)
    lexicon = open_lexicon(Path(cache_dir))
    words = question_words(text)
    spelled = latin_names(words, lexicon)
    keyword_terms, gist = translate_terms(words, lexicon, spelled)
    chinese_names = [name for name in names if not name.isascii()]
    if not keyword_terms and not names and not spelled:
        return Wording()
    return Wording(
        keywords=" ".join([*keyword_terms, *names]) or None,
        translation=" ".join([*gist, *chinese_names[:1]]) or None,
        latin_names=tuple(name for _, name in spelled),
    )


def with_translation(query: Query, chinese: str) -> Query:
    """``query`` with ``chinese``, its translation by an LLM, embedded beside it in
    place of the dictionary's word-by-word one and matched on the keyword side too."""
    keywords = " ".join(part for part in (query.keywords, chinese) if part)
    return replace(query, keywords=keywords, translation=chinese)


def question_words(text: str) -> list[str]:
    """The words and numbers of ``text``, possessives undone ("Trump's" -> Trump)."""
    return [re.sub(r"'s$", "", word) for word in _WORDS.findall(text.replace("\u2019", "'"))]


def latin_names(words: list[str], lexicon: EnglishLexicon) -> list[tuple[range | None, LatinName]]:
    """(where, the name) of each name ``words`` write in Latin letters that neither the
    dictionary nor the name table translates: runs of capitalised words. A run, or part
    of one, that reads as 2-4 pinyin or Wade-Giles syllables ("Yan Changshou", "Lenghu",
    "Chang Yu-sheng") is a Chinese name, kept out of the dictionary (its ``where``); a
    run with a word the dictionary lacks ("Kodouda") is a foreign name (``where`` None).
    The question's first word alone counts only when it is no English word ("Song" of
    the year)."""
    runs: list[list[int]] = []
    for position, word in enumerate(words):
        if word[:1].isupper() and word.lower() not in _STOP:
            if runs and runs[-1][-1] == position - 1:
                runs[-1].append(position)
            else:
                runs.append([position])
    found: list[tuple[range | None, LatinName]] = []
    for run in runs:
        written = [words[position] for position in run]
        phrase = " ".join(written)
        if lexicon.senses(phrase.lower(), proper_only=True) or name_table().variants(phrase):
            continue
        if run == [0] and lexicon.senses(written[0].lower()):
            continue
        pinyin = [p for p in run if spell([words[p]], lexicon.syllables, 1, 1) is not None]
        chinese = [
            (range(part[0], part[-1] + 1), name)
            for part in _consecutive(pinyin)
            if (name := spell([words[p] for p in part], lexicon.syllables)) is not None
        ]
        found += chinese
        whole = len(chinese) == 1 and chinese[0][1].written == phrase
        if not whole and any(not lexicon.senses(word.lower()) for word in written):
            found.append((None, LatinName(phrase, ())))
    return found


def _consecutive(positions: list[int]) -> list[list[int]]:
    """``positions`` cut where one does not follow the one before ([1, 2, 4] -> [1, 2], [4])."""
    groups: list[list[int]] = []
    for position in positions:
        if groups and groups[-1][-1] == position - 1:
            groups[-1].append(position)
        else:
            groups.append([position])
    return groups


def translate_terms(
    words: list[str],
    lexicon: EnglishLexicon,
    spelled: list[tuple[range | None, LatinName]] | None = None,
) -> tuple[list[str], list[str]]:
    """(the Chinese terms of every unit of ``words``, the first sense of each unit in
    order); words the dictionary lacks (numbers, names) and the ``spelled`` names, whose
    characters only the passages can tell, are kept as they are."""
    lowered = [word.lower() for word in words]
    # "Empress Yuan": a capitalised word inside the question that reads as pinyin names
    # a Chinese person or place, so only a proper noun's senses apply
    names = [
        position > 0 and word[:1].isupper() and lexicon.is_pinyin(low)
        for position, (word, low) in enumerate(zip(words, lowered, strict=True))
    ]
    kept_as_written = {where.start: (where, name) for where, name in spelled or [] if where}
    terms: list[str] = []
    gist: list[str] = []
    i = 0
    while i < len(words):
        if i in kept_as_written:
            where, name = kept_as_written[i]
            gist.append(name.written)
            i = where.stop
            continue
        unit, senses = _longest_phrase(lowered, names, i, lexicon)
        if senses:
            best = senses[0][1]
            kept = [zh for zh, weight in senses[:KEYWORD_SENSES] if weight >= SENSE_SHARE * best]
            terms.extend(kept)
            gist.append(kept[0])
        elif lowered[i] not in _STOP:
            gist.append(words[i])
        i += unit
    return terms, gist


def _longest_phrase(
    words: list[str], names: list[bool], start: int, lexicon: EnglishLexicon
) -> tuple[int, list[tuple[str, float]]]:
    """(how many words, their senses) of the longest phrase at ``start`` the dictionary
    knows; a phrase neither starts nor ends with a stop word, and one made of pinyin
    names only takes a proper noun's senses."""
    longest = min(MAX_PHRASE_WORDS, len(words) - start)
    for length in range(longest, 0, -1):
        phrase = words[start : start + length]
        if phrase[0] in _STOP or phrase[-1] in _STOP or phrase[0][0].isdigit():
            continue
        proper = all(names[start : start + length])
        senses = _senses(" ".join(phrase[:-1]), phrase[-1], lexicon, proper)
        if senses:
            return length, senses
    return 1, []


def _senses(head: str, last: str, lexicon: EnglishLexicon, proper: bool) -> list[tuple[str, float]]:
    """The senses of ``head last``, with ``last`` as written or its plural or past undone."""
    for form in _base_forms(last) if not proper else [last]:
        senses = lexicon.senses(f"{head} {form}".strip(), proper_only=proper)
        if senses:
            return senses
    return []


def _base_forms(word: str) -> list[str]:
    """``word`` and what it may be an inflection of (countries -> country, founded ->
    found, held -> held), most likely first."""
    forms = [word]
    if word in _IRREGULAR:
        forms.insert(0, _IRREGULAR[word])
    if word.endswith("ves") and len(word) > 4:
        forms += [word[:-3] + "f", word[:-3] + "fe"]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.append(word[:-1])
    if word.endswith("ied") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("ed") and len(word) > 4:
        forms += [word[:-2], word[:-1]]
        if word[-3] == word[-4]:
            forms.append(word[:-3])
    if word.endswith("ing") and len(word) > 5:
        forms += [word[:-3], word[:-3] + "e"]
    return list(dict.fromkeys(forms))
