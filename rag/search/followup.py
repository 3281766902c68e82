"""Follow-up questions read against the conversation before them, without an LLM.

"中美在COP28上承诺了什么" then "那甲烷呢？": the second question leans on the first. A
question leans on the previous turns when it refers back (它, 他们, 该, 这, 此, it, they,
that), is elliptical (那…呢, 还有…, what about …), or has no subject of its own (no name
and no noun: 为什么只实行了几天？; in English no name and at most one content word). It
is then completed with the topic words of the turns of its topic (the subject named
first, then what the follow-ups asked about), the time words of the topic's first timed
turn resolved against that turn's date, and its filters. A question that stands on its
own starts a new topic and is searched as asked.

Words are found by jieba's part-of-speech tagger (on the Simplified form, so both scripts
are read alike); the completed question is plain text the surfaces show, so a wrong guess
can be seen and asked again in full.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from rag.records import FollowUp, SearchFilters, Turn
from rag.search.timeexpr import find_time_window, without_expression
from rag.text.normalize import CJK_IDEOGRAPHS, language_of, to_simplified


def _words(text: str) -> list[str]:
    return text.split()


# How many words of the previous turns a completed question carries at most.
MAX_CARRIED = 8

# Words that point back at something said before (compared on the Simplified form).
_ZH_POINTERS = frozenset(
    _words("它 它们 他 他们 她 她们 其 此 该 上述 双方 对方 两国 两人 前者 后者 此事 此次 该国")
)
_ZH_DEMONSTRATIVE = ("这", "那", "该", "此")
# Pointers jieba does not cut out as words of their own (两国 comes as 两 + 国).
_ZH_POINTER_PHRASES = ("两国", "对此", "为此", "就此", "两人", "此人", "此事", "这件", "那件")
_ZH_NOT_POINTERS = frozenset(["其他", "其它", "其实", "其中", "那么多", "这么多"])
_ZH_LEADING = re.compile(r"^(?:那么|那|还有|另外|至于|而|再问一下|再问)")
_ZH_TRAILING = re.compile(r"(?:呢|吗|呀)?[\s？?。！!，,]*$")
# Content the question asks *about*, not what it is about: carries no topic.
_ZH_GENERIC = frozenset(
    _words(
        "什么 时候 时间 内容 情况 问题 消息 事情 原因 结果 方面 人 事 具体 "
        "细节 影响 反应 意见 看法 态度 多少 哪些 哪里 怎么 怎样 为什么 如何 "
        "是否 有没有 一次 上次 这次 那次 后来 之后 以后 以前 之前 目前 现在 "
        "当时 进展 说法 回应 表示 谁 哪个 有 是 说 做 会 能 要 进行 负责 "
        "发生 关于 提出 提到 包括 报道 文章 新闻 目标 计划 措施 时间表"
    )
)
_GLUE_FLAGS = ("nr", "nz", "j", "b", "zg")
_ZH_COMMON_CHARS = frozenset("是的了在和与也都而并对将就上中之去来后前说会有被把从向到给为")
_FUNCTION_FLAGS = ("u", "p", "c", "d", "r", "m", "f", "x", "y", "e", "o", "q")
_CJK_WORD = re.compile(f"[{CJK_IDEOGRAPHS}]+")
_ZH_CONTENT_FLAGS = ("n", "v", "eng", "a", "j", "l", "i")
_ZH_NAME_FLAGS = ("nr", "ns", "nt", "nz", "eng", "j")

_EN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'.\-]*[A-Za-z0-9]|[A-Za-z]|\d[\w.\-]*")
_EN_POINTERS = frozenset(
    _words("it its it's they them their theirs he him his she her this that these those there both")
)
_EN_LEADING = re.compile(
    r"^\s*(?:and\s+)?(?:what|how)\s+about\b|^\s*and\b|^\s*what\s+of\b|^\s*same\s+for\b",
    re.IGNORECASE,
)
_EN_STOP = frozenset(
    _words(
        "a an the of to in on at for and or is are was were be been being by with as from "
        "what which who whom whose how when where why did do does done doing has have had "
        "will would can could should may might must shall about into over after before than "
        "then so not no yes any some all more most other such only own same also just very "
        "much many there here i you we me us our your my say said says tell told one two "
        "first last next time times happen happened role people thing things"
    )
)


@dataclass(frozen=True)
class Reading:
    """What the rules read in one question: does it lean on the turns before, and its
    own topic words (in order, on the form the question was written in)."""

    leans: bool
    words: tuple[str, ...]
    cleaned: str  # the question without the elliptical 那…呢 / what about around it


def complete(
    question: str,
    turns: Sequence[Turn],
    reference: date,
) -> FollowUp:
    """``question`` read against ``turns`` (oldest first): completed from them when it
    leans on them, else a new topic. ``reference`` is the date time words count from when
    no earlier turn named one."""
    asked = question.strip()
    topic = current_topic(turns)
    if not topic:
        return FollowUp(asked, asked, completed=False, new_topic=True, as_of=reference)
    own_window = find_time_window(asked, topic[0].as_of or reference)
    plain = without_expression(asked, own_window) if own_window else asked
    reading = read(plain)
    if not reading.leans:
        return FollowUp(asked, asked, completed=False, new_topic=True, as_of=reference)
    timed = next((t for t in topic if t.understood and t.understood.time_window), None)
    as_of = (timed or topic[0]).as_of or reference
    own = {_key(w) for w in reading.words}
    carried: list[str] = []
    for word in _topic_words_of(topic, reference):
        key = _key(word)
        if key not in own and key not in _key(plain) and key not in map(_key, carried):
            carried.append(word)
    carried = carried[:MAX_CARRIED]
    parts: list[str] = []
    if own_window is None and timed is not None and timed.understood is not None:
        window = timed.understood.time_window
        assert window is not None
        parts.append(window.expression)
    parts.extend(carried)
    # the question's own time words stay in what is searched: the query stage reads them
    parts.append(read(asked).cleaned if own_window else reading.cleaned)
    text = " ".join(p for p in parts if p).strip()
    filters = _carried_filters(topic)
    return FollowUp(
        asked,
        text,
        completed=text != asked,
        new_topic=False,
        carried=tuple(carried),
        method="rules",
        as_of=as_of,
        filters=filters,
    )


def _topic_words_of(topic: Sequence[Turn], reference: date) -> list[str]:
    """The topic words of each turn's own question (its time words aside), oldest
    first: the subject named first, then what the follow-ups asked about."""
    words = []
    for turn in topic:
        window = find_time_window(turn.question, turn.as_of or reference)
        words.extend(
            topic_words(without_expression(turn.question, window) if window else turn.question)
        )
    return words


def current_topic(turns: Sequence[Turn]) -> list[Turn]:
    """The turns since the last one that started a topic (oldest first)."""
    start = 0
    for number, turn in enumerate(turns):
        if turn.new_topic:
            start = number
    return list(turns[start:])


def read(question: str) -> Reading:
    """Whether ``question`` leans on what came before, and its own topic words."""
    if language_of(question) == "zh":
        return _read_chinese(question)
    return _read_english(question)


def topic_words(text: str) -> list[str]:
    """The words a follow-up carries from ``text``: names and content words, in order."""
    if language_of(text) == "zh":
        return [w for w, _ in _content(_tagged(text))]
    return [w for w in _EN_WORD.findall(text) if _en_content(w)]


def _read_chinese(question: str) -> Reading:
    tagged = _tagged(question)
    simplified = [to_simplified(w) for w, _ in tagged]
    pointers = any(_is_pointer(w) for w in simplified) or any(
        p in to_simplified(question) for p in _ZH_POINTER_PHRASES
    )
    bare = _ZH_TRAILING.sub("", question.strip())
    elliptical = bool(_ZH_LEADING.match(to_simplified(question.strip()))) or bool(
        re.search(r"呢[\s？?。！!]*$", question)
    )
    content = _content(tagged)
    names = [w for w, flag in content if flag.startswith(_ZH_NAME_FLAGS)]
    # nothing it is about: no name and no noun ("为什么只实行了几天？"); a noun of its own
    # ("火星上有几只猫") makes a question that stands alone
    nouns = [w for w, flag in content if flag.startswith("n") and not flag.startswith("nr")]
    no_subject = not names and not nouns
    cleaned = _ZH_LEADING.sub("", bare) if elliptical else question.strip()
    return Reading(
        pointers or elliptical or no_subject,
        tuple(w for w, _ in content),
        cleaned.strip() or question.strip(),
    )


def _read_english(question: str) -> Reading:
    words = _EN_WORD.findall(question)
    lowered = [w.lower() for w in words]
    pointers = any(w in _EN_POINTERS for w in lowered)
    elliptical = bool(_EN_LEADING.match(question))
    content = [w for w in words if _en_content(w)]
    # a capital counts as a name except on the question's first word
    names = [
        w
        for w in content
        if (w[:1].isupper() and w != words[0]) or w.isupper() or any(c.isdigit() for c in w)
    ]
    no_subject = not names and len(content) <= 1
    cleaned = question.strip()
    if elliptical:
        cleaned = _EN_LEADING.sub("", cleaned).strip(" ?.!,")
    return Reading(pointers or elliptical or no_subject, tuple(content), cleaned or question)


def _is_pointer(word: str) -> bool:
    if word in _ZH_NOT_POINTERS:
        return False
    return word in _ZH_POINTERS or (len(word) >= 2 and word.startswith(_ZH_DEMONSTRATIVE))


def _content(tagged: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for word, flag in tagged:
        key = _key(word)
        simplified = to_simplified(word)
        if (
            key in seen
            or not word.strip()
            or simplified in _ZH_GENERIC
            or _is_pointer(simplified)
            or simplified in _ZH_POINTERS
            or not (flag.startswith(_ZH_CONTENT_FLAGS) or any(c.isdigit() for c in word))
            or len(word) == 1
        ):
            continue
        seen.add(key)
        out.append((word, flag))
    return out


def _en_content(word: str) -> bool:
    lowered = word.lower()
    if len(word) > 1 and word.isupper():
        return True  # US, EU, UN: a name, not the pronoun
    return len(lowered) > 1 and lowered not in _EN_STOP and lowered not in _EN_POINTERS


def _tagged(text: str) -> list[tuple[str, str]]:
    """jieba's words and part-of-speech flags, tagged on the Simplified form and given
    back in the text's own script (the conversion maps one character to one)."""
    simplified = to_simplified(text)
    # each space-separated piece on its own: a completed question is a list of words, and
    # jieba reads "中美 COP28" as 中 + 美
    pairs = [pair for piece in re.split(r"(\s+)", simplified) if piece for pair in _tag(piece)]
    if len(simplified) != len(text):
        return _glued(pairs)
    out, at = [], 0
    for word, flag in pairs:
        out.append((text[at : at + len(word)], flag))
        at += len(word)
    return _glued(out)


def _glued(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """A single character stuck back onto the name beside it: jieba cuts names it does
    not know into pieces (王 男 栿, 鲁 哈尼, 拉加 德)."""
    out: list[tuple[str, str]] = []
    for word, flag in pairs:
        if out:
            before, before_flag = out[-1]
            piece, piece_flag, other_flag = (
                (word, flag, before_flag) if len(word) == 1 else (before, before_flag, flag)
            )
            short = len(piece) == 1 and piece not in _ZH_COMMON_CHARS
            # a lone character tagged as a place is more often a word (上, 中) than a name
            named = piece_flag.startswith(_GLUE_FLAGS) or other_flag.startswith("nr")
            if (
                short
                and named
                and _CJK_WORD.fullmatch(word + before)
                and not flag.startswith(_FUNCTION_FLAGS)
                and not before_flag.startswith(_FUNCTION_FLAGS)
            ):
                out[-1] = (before + word, "nz")  # nz: glued once, not again
                continue
        out.append((word, flag))
    return out


@lru_cache(maxsize=1024)
def _tag(text: str) -> tuple[tuple[str, str], ...]:
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return tuple((p.word, p.flag) for p in jieba.posseg.cut(text))


def _key(text: str) -> str:
    return to_simplified(text).lower()


def _carried_filters(topic: Sequence[Turn]) -> SearchFilters:
    """The filters the topic's turns searched with: the last turn that set any."""
    for turn in reversed(topic):
        if turn.filters.active():
            return turn.filters
    return SearchFilters()
