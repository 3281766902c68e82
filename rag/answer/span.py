"""What kind of thing a question asks for, and where in a sentence the answer phrase is.

The question type comes from its question word (谁/哪里/何时/多少/为什么 and their English
counterparts). A sentence that holds a phrase of that type (a number, a date, a place
...) is a likelier answer; inside it, the answer phrase is the stretch that the question
does not repeat, next to the words it does (question-word alignment: "X 是哪一年成立的"
finds "X" and "成立" in the sentence, and the year between them).
"""

from __future__ import annotations

import re

from rag.text.normalize import CJK_UNIFIED, normalize_for_matching

# Question words by type, Chinese first; checked in this order (何时 before 什么).
_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "when",
        re.compile(
            r"何时|什么时候|哪一?年|哪一?天|哪个月|几月|几号|何年|哪个朝代|什么年代|日期"
            r"|\bwhen\b|\bwhat year\b|\bwhat date\b",
            re.I,
        ),
    ),
    (
        "number",
        re.compile(
            r"多少|几[个次名位张座人岁年种家条届部本只层]?|多[大长高重久远深宽]|第几|比例"
            r"|\bhow (many|much|long|old|large|big|tall|high|far)\b|\bwhat (number|percentage)\b",
            re.I,
        ),
    ),
    ("who", re.compile(r"谁|哪位|何人|什么人|\bwho(m|se)?\b", re.I)),
    (
        "where",
        re.compile(r"哪里|哪儿|何处|在哪[里儿个座]|何地|哪个(国家|城市|地方|省)|\bwhere\b", re.I),
    ),
    ("why", re.compile(r"为什么|为何|原因|怎么会|\bwhy\b|\bwhat caused\b", re.I)),
)

# Phrases of each type, as they appear in Chinese (or Latin-script) text.
_NUM = r"[0-9０-９零〇一二两三四五六七八九十百千万亿半几数]"
_PHRASES: dict[str, re.Pattern[str]] = {
    "when": re.compile(
        rf"(公元前?)?{_NUM}{{1,4}}(年代|年|世纪)({_NUM}{{1,2}}月)?({_NUM}{{1,2}}[日号])?"
        rf"|{_NUM}{{1,2}}月({_NUM}{{1,2}}[日号])?|\b1[0-9]{{3}}\b|\b20[0-9]{{2}}\b"
    ),
    "number": re.compile(
        rf"(约|大约|超过|近|逾)?第?{_NUM}+([.．:：/][0-9]+)?\s*"
        r"(%|％|平方公里|平方米|公里|公尺|公分|厘米|毫米|千米|米|公斤|千克|克|吨|小时|分钟|秒"
        f"|[{CJK_UNIFIED}])?"
    ),
    # the place after the last preposition, without it
    "where": re.compile(
        r"(?:位于|坐落于|设于|在|于)(?P<place>[^，。；,;在于]{1,20}?"
        r"(省|市|县|区|州|国|镇|村|岛|路|街|山|河|湖|港|号|馆|场|院|楼|店))"
    ),
    "why": re.compile(r"(因为|由于|因此|所以|为了|原因|以致|导致|因)[^。；;]*"),
}

_COPULAS = "是为乃作即"
# Characters either side of the question word that anchor the answer in the sentence.
ANCHOR = 4
_PUNCT = re.compile(r"[\s，。；：、！？,.;:!?（）()《》「」“”\"'\[\]【】]+")


def question_type(question: str) -> str | None:
    """'when', 'number', 'who', 'where', 'why', or None for other questions."""
    for name, words in _TYPES:
        if words.search(question):
            return name
    return None


def _anchor(question: str) -> tuple[str, bool]:
    """The words right around the question word ("人口密度是多少" -> "口密度是多少"), and
    whether the question word ends the question (then the answer follows those words)."""
    found = None
    for _, words in _TYPES:
        found = words.search(question)
        if found:
            break
    if found is None:
        found = re.search(r"什么|哪|怎|如何|\bwhat\b|\bwhich\b|\bhow\b", question, re.I)
    if found is None:
        return question, False
    rest = _PUNCT.sub("", question[found.end() :])
    return question[max(found.start() - ANCHOR, 0) : found.end() + ANCHOR], len(rest) <= 1


def has_phrase_of_type(kind: str | None, sentence: str) -> bool:
    """True when ``sentence`` holds a phrase of the type ``kind`` asks for."""
    pattern = _PHRASES.get(kind or "")
    return bool(pattern and pattern.search(sentence))


def _covered(question: str, sentence: str) -> list[bool]:
    """Per character of ``sentence``: is it part of a character pair the question has?"""
    q = normalize_for_matching(question)
    pairs = {q[i : i + 2] for i in range(len(q) - 1)}
    s = normalize_for_matching(sentence)
    if len(s) != len(sentence):  # normalisation changed the length: align nothing
        return [False] * len(sentence)
    marks = [False] * len(s)
    for i in range(len(s) - 1):
        if s[i : i + 2] in pairs and not _PUNCT.fullmatch(s[i : i + 2]):
            marks[i] = marks[i + 1] = True
    return marks


def answer_phrase(question: str, sentence: str) -> tuple[int, int] | None:
    """(start, end) in ``sentence`` of the phrase that answers ``question``, or None.

    A phrase of the question's type next to the words the question repeats wins; else
    the longest stretch between punctuation that the question does not repeat, if it
    touches words the question does.
    """
    marks = _covered(question, sentence)
    if not any(marks):
        return None
    anchor, follows = _anchor(question)
    anchored = _covered(anchor, sentence)
    near = anchored if any(anchored) else marks
    kind = question_type(question)
    pattern = _PHRASES.get(kind or "")
    if pattern is not None:
        found = [
            m.span("place" if "place" in m.groupdict() else 0)
            for m in pattern.finditer(sentence)
            if not all(marks[m.start() : m.end()])
        ]
        if found:
            return min(found, key=lambda span: _distance(near, span, follows))
    best: tuple[int, int] | None = None
    best_score = 0.0
    for start, end in _uncovered_runs(sentence, marks):
        touching = (start > 0 and marks[start - 1]) or (end < len(marks) and marks[end])
        if not touching or end - start < 2:
            continue
        score = min(end - start, 20) - 0.5 * _distance(near, (start, end), follows)
        if score > best_score:
            best, best_score = (start, end), score
    if best is not None and best[1] - best[0] > 2 and sentence[best[0]] in _COPULAS:
        best = (best[0] + 1, best[1])  # "是一种..." answers "什么是X": the 是 is not the answer
    return best


def _uncovered_runs(sentence: str, marks: list[bool]) -> list[tuple[int, int]]:
    """Stretches of characters the question does not repeat, cut at punctuation."""
    runs, start = [], None
    for i, ch in enumerate(sentence + "。"):
        stop = i == len(sentence) or marks[i] or _PUNCT.fullmatch(ch) is not None
        if stop:
            if start is not None:
                runs.append((start, i))
            start = None
        elif start is None:
            start = i
    return runs


def _distance(marks: list[bool], span: tuple[int, int], follows: bool = False) -> int:
    """Characters between ``span`` and the nearest character the question repeats; with
    ``follows``, only repeated characters before the span count (others cost double)."""
    covered = [i for i, m in enumerate(marks) if m]
    if not covered:
        return len(marks)
    start, end = span
    if follows:
        before = [i for i in covered if i < start]
        if before:
            return start - before[-1] - 1
        after = [i - end for i in covered if i >= end]
        return len(marks) + (min(after) if after else 0)
    return min(0 if start <= i < end else min(abs(i - start), abs(i - (end - 1))) for i in covered)
