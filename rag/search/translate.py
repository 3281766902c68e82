"""A question's other wordings, worked out once in the query stage.

An English question is translated word by word with CC-CEDICT (``rag.text.cedict``):
phrases first ("prime minister", "world war"), then words with their plural or past
tense undone, stop words dropped; each unit gives its strongest Chinese senses. The
Chinese terms are what the keyword side matches, and the first sense of each unit,
strung together, is embedded beside the question as asked. Chinese names written in
pinyin or Wade-Giles are kept aside, to be read in the passages (``rag.text.pinyin``).
Every question, Chinese ones too, also matches the other written forms of the names it
contains (``rag.text.names``). A question in Traditional characters is also written in
mainland Simplified wording (OpenCC tw2sp: 網路 -> 网络, 軟體 -> 软件), which the no-answer
check reads beside it: most Chinese news is written that way, and a Traditional question's
own cosines run lower. (Ranking with it too was measured worse.) A Chinese question never
loads the dictionary.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from rag.records import LatinName, Query, Wording
from rag.text.cedict import MAX_PHRASE_WORDS, EnglishLexicon, open_lexicon
from rag.text.names import name_table
from rag.text.normalize import CJK_IDEOGRAPHS, to_mainland
from rag.text.pinyin import spell

# Senses of one English unit kept for the keyword side: at most this many, each at
# least this share of the strongest one's weight.
KEYWORD_SENSES = 8
SENSE_SHARE = 0.0
# Names in Latin letters read in the passages, per question.
MAX_NAMES = 4

_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"  # Latin, accents too ("Yelü")
# words (with digits inside: "COP28", "G20"), numbers, and runs of Chinese characters
_WORDS = re.compile(
    rf"[{_LETTER}][{_LETTER}\d'\-]*[{_LETTER}\d]|[{_LETTER}]|\d+(?:[.,:]\d+)*"
    rf"|[{CJK_IDEOGRAPHS}]+|[^\w\s'\-]"
)
# punctuation: kept as a word of its own so that no phrase or name runs across it
_PUNCTUATION = re.compile(r"[^\w\s'\-]")
_CJK = re.compile(f"[{CJK_IDEOGRAPHS}]")
_DIGIT = re.compile(r"\d")
# "U.S.", "U.K.": an abbreviation written with dots is one word
_DOTTED = re.compile(r"\b(?:[A-Z]\.){2,}")
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


def reword(text: str, language: str, cache_dir: Path, translate: bool = True) -> Wording:
    """The other wordings of ``text``: for a non-Chinese question (with ``translate``)
    the dictionary's Chinese, and for every question the other forms of its names."""
    table = name_table()
    names = table.variants(text)
    if language == "zh":
        return Wording(keywords=" ".join(names) or None, mainland=to_mainland(text))
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
        translation=" ".join([*gist, *[n for n in chinese_names[:1] if n not in gist]]) or None,
        latin_names=tuple(name for _, name in spelled),
    )


def with_translation(query: Query, chinese: str) -> Query:
    """``query`` with ``chinese``, its translation by an LLM, embedded beside it in
    place of the dictionary's word-by-word one and matched on the keyword side too."""
    keywords = " ".join(part for part in (query.wording.keywords, chinese) if part)
    return replace(query, wording=replace(query.wording, keywords=keywords, translation=chinese))


def question_words(text: str) -> list[str]:
    """The words, numbers and Chinese of ``text``, possessives undone ("Trump's" ->
    Trump), accents kept, dotted abbreviations joined ("U.S." -> US)."""
    text = _DOTTED.sub(lambda match: match.group().replace(".", ""), text.replace("\u2019", "'"))
    return [re.sub(r"'s$", "", word) for word in _WORDS.findall(text)]


def _acronym(word: str) -> bool:
    """ "US", "IT", "AI", "CCP": capitals only, never a stop word, a proper noun's senses."""
    return len(word) >= 2 and word.isalpha() and word.isupper()


def latin_names(words: list[str], lexicon: EnglishLexicon) -> list[tuple[range | None, LatinName]]:
    """(where, the name) of each name ``words`` write in Latin letters that neither the
    dictionary nor the name table translates: runs of capitalised words. A run, or part
    of one, that reads as 2-4 pinyin or Wade-Giles syllables ("Yan Changshou", "Lenghu",
    "Chang Yu-sheng") is a Chinese name, kept out of the dictionary (its ``where``); a
    run with a word the dictionary lacks ("Kodouda") is a foreign name (``where`` None).
    The question's first word alone counts only when it is no English word ("Song" of
    the year)."""
    # a word with digits ("COP28", "G20") is matched as written, never a name
    capitalised = [
        position
        for position, word in enumerate(words)
        if word[:1].isupper() and word.lower() not in _STOP and not _DIGIT.search(word)
    ]
    found: list[tuple[range | None, LatinName]] = []
    for run in _consecutive(capitalised):
        written = [words[position] for position in run]
        phrase = " ".join(written)
        if lexicon.senses(phrase.lower(), proper_only=True) or name_table().variants(phrase):
            continue
        if run[0] == 0 and lexicon.senses(words[0].lower()):  # "After", "Song" of the year
            run = run[1:]
            if not run:
                continue
            written = written[1:]
            phrase = " ".join(written)
        pinyin = [p for p in run if spell([words[p]], lexicon.syllables, 1, 1) is not None]
        chinese = [
            found_name
            for part in _consecutive(pinyin)
            for found_name in _chinese_names(part, words, lexicon.syllables)
        ]
        found += chinese
        whole = len(chinese) == 1 and chinese[0][1].written == phrase
        if not whole and any(not lexicon.senses(word.lower()) for word in written):
            found.append((None, LatinName(phrase, ())))
    # each name once; a question names a few people and places, not dozens
    unique: dict[str, tuple[range | None, LatinName]] = {}
    for where, name in found:
        unique.setdefault(name.written, (where, name))
    return list(unique.values())[:MAX_NAMES]


def _chinese_names(
    positions: list[int], words: list[str], syllables: frozenset[str]
) -> list[tuple[range, LatinName]]:
    """The names a run of pinyin words holds, read left to right: two words (family and
    given name: "Pan Jiali"), else one ("Heilongjiang"), else three ("Ou Yang Xiu"),
    so that "Yan Changshou, Pan Jiali" is two names."""
    found = []
    i = 0
    while i < len(positions):
        for size in (2, 1, 3):
            part = positions[i : i + size]
            name = spell([words[p] for p in part], syllables) if len(part) == size else None
            if name is not None:
                found.append((range(part[0], part[-1] + 1), name))
                i += size
                break
        else:
            i += 1
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
    # a Chinese person or place, so only a proper noun's senses apply, as to an acronym
    names = [
        _acronym(word) or (position > 0 and word[:1].isupper() and lexicon.is_pinyin(low))
        for position, (word, low) in enumerate(zip(words, lowered, strict=True))
    ]
    stops = [low in _STOP and not _acronym(word) for word, low in zip(words, lowered, strict=True)]
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
        if _PUNCTUATION.fullmatch(words[i]):
            i += 1
            continue
        if _CJK.match(words[i]):  # Chinese in an English question is kept as written
            terms.append(words[i])
            gist.append(words[i])
            i += 1
            continue
        unit, senses = _longest_phrase(lowered, names, stops, i, lexicon)
        if senses:
            best = senses[0][1]
            kept = [zh for zh, weight in senses[:KEYWORD_SENSES] if weight >= SENSE_SHARE * best]
            terms.extend(kept)
            gist.append(kept[0])
        elif not stops[i]:
            gist.append(words[i])
        i += unit
    return terms, gist


def _longest_phrase(
    words: list[str], names: list[bool], stops: list[bool], start: int, lexicon: EnglishLexicon
) -> tuple[int, list[tuple[str, float]]]:
    """(how many words, their senses) of the longest phrase at ``start`` the dictionary
    knows; a phrase neither starts nor ends with a stop word, and one made of pinyin
    names only takes a proper noun's senses."""
    longest = min(MAX_PHRASE_WORDS, len(words) - start)
    for length in range(longest, 0, -1):
        phrase = words[start : start + length]
        if stops[start] or stops[start + length - 1] or phrase[0][0].isdigit():
            continue
        if any(_CJK.match(word) or _PUNCTUATION.fullmatch(word) for word in phrase[1:]):
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
