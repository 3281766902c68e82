"""Chinese numbers, amounts, percentages and dates read in English: 3万 -> 30,000,
1.2亿美元 -> US$120 million, 百分之三十 -> 30%, 二〇一九年 -> 2019, 2019年11月 -> November
2019, 5月4日 -> 4 May.

Only what a reader of English needs: a number written in Arabic digits with nothing
Chinese about it ("2019", "30%", "2019年") is left alone. Chinese numerals (三十五, 一千二百万,
二〇一九) are read by cn2an, a small pure-Python library, imported only when a sentence has
one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

# Full-width digits as ASCII, one character for one (positions hold); not the
# punctuation, whose full-width comma ends a clause rather than groups thousands.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)}
_DIGITS = "〇零一二两三四五六七八九"
# A Chinese numeral starts with a digit or 十 (十五 = 15; 百姓, 千万 "by all means" are no numbers).
_CHINESE = rf"[{_DIGITS}十][{_DIGITS}十百千万亿]*(?:点[{_DIGITS}]+)?"
_ARABIC = r"\d+(?:,\d{3})*(?:\.\d+)?"
_MAGNITUDES = {"十": 10, "百": 100, "千": 1000, "万": 10**4, "亿": 10**8}
_MAGNITUDE = "万亿|千亿|百亿|十亿|亿|千万|百万|十万|万|千"
# unit -> (before the number, after it)
_UNITS = {
    "美元": ("US$", ""),
    "港元": ("HK$", ""),
    "港币": ("HK$", ""),
    "欧元": ("€", ""),
    "英镑": ("£", ""),
    "日元": ("", " yen"),
    "元": ("", " yuan"),
    "平方公里": ("", " km²"),
    "公里": ("", " km"),
    "千米": ("", " km"),
    "公斤": ("", " kg"),
    "千克": ("", " kg"),
    "吨": ("", " tonnes"),
    "岁": ("", " years old"),
}
_UNIT = "|".join(sorted(_UNITS, key=len, reverse=True))
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_NOT_AFTER = rf"(?<![\d.,{_DIGITS}十百千万亿])"
_YEAR = rf"\d{{4}}|[{_DIGITS}]{{4}}"
_MONTH = r"1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九]"
_DAY = r"3[01]|[12]\d|0?[1-9]|[二三]?十[一二三四五六七八九]?|[一二三四五六七八九]"
# Some outlets space a number from its unit: "11 月 15 日", "2023 年".
_SPACE = r"[ \t\u00a0]?"
_NUMBERS = re.compile(
    _NOT_AFTER
    + "(?:"
    + rf"(?:(?P<year>{_YEAR}){_SPACE}年{_SPACE})?(?P<month>{_MONTH}){_SPACE}月"
    + rf"(?:{_SPACE}(?P<day>{_DAY})(?:[—–~\-至到](?P<last_day>{_DAY}))?{_SPACE}[日号])?"
    + rf"|(?P<year_alone>{_YEAR}){_SPACE}年"
    # "18日" is the 18th; "30日内" is within 30 days
    + rf"|(?P<day_alone>{_DAY}){_SPACE}日(?!内|以内|之内)"
    + rf"|百分之(?P<percent>{_ARABIC}|{_CHINESE})"
    + rf"|(?P<arabic>{_ARABIC}){_SPACE}(?P<magnitude>{_MAGNITUDE})?(?P<unit>{_UNIT})?"
    + rf"|(?P<chinese>{_CHINESE})(?P<chinese_unit>{_UNIT})?"
    + ")"
)


def numbers_in(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, English) of each number, amount, percentage or date in ``text`` that
    needs reading, left to right."""
    for match in _NUMBERS.finditer(text.translate(_FULL_WIDTH)):
        english = _english(match)
        if english is not None:
            yield match.start(), match.end(), english


def _english(match: re.Match[str]) -> str | None:
    found = match.groupdict()
    if found["month"]:
        return _date(found["year"], found["month"], found["day"], found["last_day"])
    if found["year_alone"] or found["day_alone"]:
        return _date(found["year_alone"], None, found["day_alone"])
    if found["percent"]:
        value = _value(found["percent"])
        return None if value is None else f"{_plain(value)}%"
    if found["arabic"]:
        if not found["magnitude"] and not found["unit"]:
            return None
        value = _value(found["arabic"])
        for character in found["magnitude"] or "":
            value = None if value is None else value * _MAGNITUDES[character]
        return _amount(value, found["unit"])
    numeral = found["chinese"]
    # one character (一, 十) is mostly part of a word (一些, 十分), and digits strung
    # together without 十百千 are a range (七八) or a year (only with 年)
    if len(numeral) < 2 or not re.search("[十百千万亿]", numeral):
        return None
    return _amount(_value(numeral), found["chinese_unit"])


def _date(
    year: str | None, month: str | None, day: str | None, last_day: str | None = None
) -> str | None:
    if year and not month and year.isdigit() and year.isascii():
        return None  # 2019年 reads as 2019
    parts = []
    if day:
        days = [_value(d) for d in (day, last_day) if d]
        if any(d is None or not 1 <= d <= 31 for d in days):
            return None
        numbers = [str(int(d)) for d in days if d is not None]
        parts.append("–".join(numbers) if month else _ordinal(int(numbers[0])))
    if month:
        number = _value(month)
        if number is None or not 1 <= number <= 12:
            return None
        parts.append(_MONTHS[int(number) - 1])
    if year:
        number = _value(year)
        if number is None:
            return None
        parts.append(str(int(number)))
    return " ".join(parts)


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"the {day}{suffix}"


def _amount(value: Decimal | None, unit: str | None) -> str | None:
    if value is None:
        return None
    before, after = _UNITS.get(unit or "", ("", ""))
    return f"{before}{english_number(value)}{after}"


def english_number(value: Decimal) -> str:
    """A number as English news writes it: 30,000; 1.5; 120 million; 1.2 billion."""
    for size, word in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million")):
        if abs(value) >= size:
            return f"{_plain(value / size)} {word}"
    return _plain(value)


def _plain(value: Decimal) -> str:
    """Grouped by thousands, no trailing zeros, never an exponent (1.2E+2 -> 120)."""
    return f"{value.normalize():,f}"


def _value(numeral: str) -> Decimal | None:
    """The value of Arabic digits or a Chinese numeral (三十五, 一千二百万, 二〇一九), or None."""
    if numeral.isascii():
        try:
            return Decimal(numeral.replace(",", ""))
        except InvalidOperation:
            return None
    import cn2an

    try:
        return Decimal(str(cn2an.cn2an(numeral, "smart")))
    except (ValueError, InvalidOperation):
        return None
