"""Time expressions in questions, Chinese and English, resolved to a date window.

``find_time_window("上周中美谈了什么", date(2023, 11, 20))`` is the window
2023-11-13 – 2023-11-19 with the expression "上周". Deterministic, no LLM, no network.

Why not dateparser alone: it returns one point in time, not a window ("last week" is
the Monday, "2023年11月" the 20th), it does not find an expression inside a question,
and it misses 去年11月, 11月15日, 最近三天, 前年 and 近7天 (measured). The rules here
are written for questions to a news archive; weeks run Monday to Sunday, windows are
inclusive, and "the past N days" ends on the reference date.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, timedelta

from rag.records import TimeWindow
from rag.text.normalize import to_simplified

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_ZH_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_EN_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        1,
    )
    for name in names
}  # fmt: skip


def _month(name: str) -> int:
    return _MONTHS[name.lower().rstrip(".")]


def zh_number(text: str) -> int:
    """'3', '十二', '二十五', '两' as an int (up to 99)."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_ZH_DIGITS[tens] if tens else 1) * 10 + (_ZH_DIGITS[ones] if ones else 0)
    return _ZH_DIGITS[text]


def _number(text: str) -> int:
    text = text.lower()
    return _EN_NUMBERS[text] if text in _EN_NUMBERS else zh_number(text)


def day(d: date) -> tuple[date, date]:
    return d, d


def week_of(d: date) -> tuple[date, date]:
    monday = d - timedelta(days=d.weekday())
    return monday, monday + timedelta(days=6)


def month_of(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def year_of(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def months_back(d: date, n: int) -> date:
    """``d`` moved ``n`` months earlier, the day clamped to the month's end."""
    total = d.year * 12 + d.month - 1 - n
    year, month = divmod(total, 12)
    return date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def _safe_year(year: int, month: int, day_: int, as_of: date) -> int:
    """A month/day with no year: this year, or last year if that would be in the future."""
    return year if (month, day_) <= (as_of.month, as_of.day) else year - 1


Resolver = Callable[[re.Match[str], date], tuple[date, date]]

_N = r"(?<!\d)(\d{1,3}|[一二两三四五六七八九十]{1,3})"
_EN_N = r"(\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MON = rf"({_MONTH_NAMES})\.?"


def _unit_back(unit: str, n: int, as_of: date) -> tuple[date, date]:
    """The window of "the past n <unit>": from n units before ``as_of`` to ``as_of``."""
    if unit in ("天", "日", "day"):
        return as_of - timedelta(days=n), as_of
    if unit in ("周", "星期", "礼拜", "week"):
        return as_of - timedelta(weeks=n), as_of
    if unit in ("月", "month"):
        return months_back(as_of, n), as_of
    return date(as_of.year - n, as_of.month, min(as_of.day, 28)), as_of


def _unit_ago(unit: str, n: int, as_of: date) -> tuple[date, date]:
    """The window of "n <unit> ago": that day, that week, that month or that year."""
    if unit in ("天", "日", "day"):
        return day(as_of - timedelta(days=n))
    if unit in ("周", "星期", "礼拜", "week"):
        return week_of(as_of - timedelta(weeks=n))
    if unit in ("月", "month"):
        back = months_back(as_of, n)
        return month_of(back.year, back.month)
    return year_of(as_of.year - n)


def _zh_unit(text: str) -> str:
    return text.replace("个", "").replace("個", "")


def _year_word(word: str, as_of: date) -> int:
    return as_of.year - {"今年": 0, "本年": 0, "去年": 1, "前年": 2, "大前年": 3}[word]


def _en_year(word: str, as_of: date) -> int:
    return as_of.year - (1 if word == "last" else 0)


# (pattern, resolver), most specific first: the first pattern that matches at the
# leftmost position wins. Chinese patterns run on the Simplified form of the question.
_RULES: list[tuple[str, Resolver]] = [
    # ---- Chinese: full and partial dates
    (
        r"(\d{4})年(\d{1,2})月(\d{1,2})[日号]",
        lambda m, a: day(date(int(m[1]), int(m[2]), int(m[3]))),
    ),
    (r"(\d{4})年(\d{1,2})月(?:份)?", lambda m, a: month_of(int(m[1]), int(m[2]))),
    (r"(?:自|从)?(\d{4})年(?:以来|至今)", lambda m, a: (date(int(m[1]), 1, 1), a)),
    (r"(\d{4})年", lambda m, a: year_of(int(m[1]))),
    (
        r"(大前年|前年|去年|今年|本年)(\d{1,2}|[一二三四五六七八九十]{1,2})月(?:份)?",
        lambda m, a: month_of(_year_word(m[1], a), zh_number(m[2])),
    ),
    (r"(大前年|前年|去年|今年|本年)", lambda m, a: year_of(_year_word(m[1], a))),
    (
        r"(\d{1,2})月(\d{1,2})[日号]",
        lambda m, a: day(date(_safe_year(a.year, int(m[1]), int(m[2]), a), int(m[1]), int(m[2]))),
    ),
    # ---- Chinese: relative days, weeks, months
    (r"大前天", lambda m, a: day(a - timedelta(days=3))),
    (r"前天", lambda m, a: day(a - timedelta(days=2))),
    (r"昨天|昨日", lambda m, a: day(a - timedelta(days=1))),
    (r"今天|今日", lambda m, a: day(a)),
    (
        r"(?:最近|近|过去的?|前)" + _N + r"(个?)(天|日|周|星期|礼拜|月|年)",
        lambda m, a: _unit_back(_zh_unit(m[3]), zh_number(m[1]), a),
    ),
    (
        _N + r"(个?)(天|日|周|星期|礼拜|月|年)(?:之?内|以来)",
        lambda m, a: _unit_back(_zh_unit(m[3]), zh_number(m[1]), a),
    ),
    (
        _N + r"(个?)(天|日|周|星期|礼拜|月|年)(?:之?前|以前)",
        lambda m, a: _unit_ago(_zh_unit(m[3]), zh_number(m[1]), a),
    ),
    (r"上上(?:个)?(?:周|星期|礼拜)", lambda m, a: week_of(a - timedelta(weeks=2))),
    (r"上(?:个)?(?:周|星期|礼拜)", lambda m, a: week_of(a - timedelta(weeks=1))),
    (r"(?:本|这|这个)(?:周|星期|礼拜)", lambda m, a: week_of(a)),
    (
        r"上上个?月",
        lambda m, a: month_of(months_back(a, 2).year, months_back(a, 2).month),
    ),
    (
        r"上个?月",
        lambda m, a: month_of(months_back(a, 1).year, months_back(a, 1).month),
    ),
    (r"(?:本|这个|当)月", lambda m, a: month_of(a.year, a.month)),
    (
        r"(?<![\d年])(\d{1,2}|十[一二]?|[一二三四五六七八九])月(?:份)?(?![\d日号])",
        lambda m, a: month_of(
            a.year if zh_number(m[1]) <= a.month else a.year - 1, zh_number(m[1])
        ),
    ),
    # ---- English
    (r"\bthe day before yesterday\b", lambda m, a: day(a - timedelta(days=2))),
    (r"\byesterday\b", lambda m, a: day(a - timedelta(days=1))),
    (r"\btoday\b", lambda m, a: day(a)),
    (
        r"\b(?:in|during|over|within)?\s*(?:the\s+)?(?:past|last|previous)\s+"
        + _EN_N
        + r"\s+(day|week|month|year)s?\b",
        lambda m, a: _unit_back(m[2], _number(m[1]), a),
    ),
    (
        r"\b" + _EN_N + r"\s+(day|week|month|year)s?\s+ago\b",
        lambda m, a: _unit_ago(m[2], _number(m[1]), a),
    ),
    (
        r"\b(?:in|during|over|within)\s+the\s+(?:past|last)\s+(day|week|month|year)\b",
        lambda m, a: _unit_back(m[1], 1, a),
    ),
    (r"\bthis\s+week\b", lambda m, a: week_of(a)),
    (r"\b(?:last|previous)\s+week\b", lambda m, a: week_of(a - timedelta(weeks=1))),
    (r"\bthis\s+month\b", lambda m, a: month_of(a.year, a.month)),
    (
        r"\b(?:last|previous)\s+month\b",
        lambda m, a: month_of(months_back(a, 1).year, months_back(a, 1).month),
    ),
    (r"\b(this|last)\s+year\b", lambda m, a: year_of(_en_year(m[1], a))),
    (
        r"\b" + _MON + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b",
        lambda m, a: day(date(int(m[3]), _month(m[1]), int(m[2]))),
    ),
    (
        r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MON + r",?\s+(\d{4})\b",
        lambda m, a: day(date(int(m[3]), _month(m[2]), int(m[1]))),
    ),
    (
        r"\b" + _MON + r",?\s+(?:of\s+)?(\d{4})\b",
        lambda m, a: month_of(int(m[2]), _month(m[1])),
    ),
    (r"\bsince\s+(\d{4})\b", lambda m, a: (date(int(m[1]), 1, 1), a)),
    (r"\b(?:in|during|from|of)\s+(\d{4})\b", lambda m, a: year_of(int(m[1]))),
    (
        r"\b(?:on\s+)?" + _MON + r"\s+(\d{1,2})(?:st|nd|rd|th)?\b",
        lambda m, a: day(
            date(
                _safe_year(a.year, _month(m[1]), int(m[2]), a),
                _month(m[1]),
                int(m[2]),
            )
        ),
    ),
    (
        r"\b(?:in|during)\s+(?:(this|last)\s+)?"
        + r"(january|february|march|april|may|june|july|august|september|october"
        + r"|november|december)\b",
        lambda m, a: month_of(
            (a.year - 1 if m[1] == "last" else a.year)
            if m[1] or _month(m[2]) <= a.month
            else a.year - 1,
            _month(m[2]),
        ),
    ),
]
_COMPILED = [(re.compile(pattern, re.IGNORECASE), resolve) for pattern, resolve in _RULES]


def find_time_window(question: str, as_of: date) -> TimeWindow | None:
    """The date window a time expression in ``question`` names, relative to ``as_of``.

    The leftmost expression wins (the furthest-reaching where several overlap). None when
    the question names no time, an impossible date (2023年2月30日) or one after ``as_of``.
    """
    # character by character, so that offsets in the simplified text are offsets in
    # the question (上週 -> 上周, 這個月 -> 这个月, 過去 -> 过去)
    text = "".join(to_simplified(c) if len(to_simplified(c)) == 1 else c for c in question)
    found: list[tuple[int, int, Resolver, re.Match[str]]] = []
    for pattern, resolve in _COMPILED:
        match = pattern.search(text)
        if match is None or not match.group().strip():
            continue
        start = match.start() + len(match.group()) - len(match.group().lstrip())
        found.append((start, match.end(), resolve, match))
    if not found:
        return None
    # the leftmost expression; of the matches overlapping it, the one reaching furthest
    # ("in November 2023" is "November 2023", not "in November")
    leftmost = min(found, key=lambda f: (f[0], -f[1]))
    overlapping = [f for f in found if f[0] < leftmost[1]]
    start, end, resolve, match = max(overlapping, key=lambda f: (f[1], -f[0]))
    try:
        first, last = resolve(match, as_of)
    except (ValueError, KeyError, OverflowError):
        return None
    if first > as_of:
        # "2030年前碳达峰", "by 2060": a target in the future is what the question is
        # about, not when the articles were published
        return None
    return TimeWindow(first, last, question[start:end].strip(), (start, end))


def without_expression(question: str, window: TimeWindow) -> str:
    """The question with the time expression taken out (what is embedded and matched)."""
    start, end = window.span
    rest = (question[:start] + " " + question[end:]).strip()
    rest = re.sub(r"\s+", " ", rest)
    return rest or question
