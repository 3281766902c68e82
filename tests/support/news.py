"""The dated, sourced news articles of the test data, questions about them, and the date
and source filters that each keep some of them."""

from __future__ import annotations

from rag.records import SearchFilters
from support.sample import DATA, QUESTION

NEWS = DATA / "news"
QUESTIONS = [
    QUESTION,
    "深圳最大的城中村",
    "面部识别 起诉 野生动物园",
    "物美收购麦德龙",
    "猪肉价格上涨",
    "Khashoggi 沙特领事馆",
    "Tor 翻墙 深网",
    "新冠疫苗人体试验",
]
FILTERS = [
    SearchFilters.parse(since="2019-01-01", until="2019-12-31"),
    SearchFilters.parse(until="2016-12-31"),
    SearchFilters.parse(source="nei.st"),
    SearchFilters.parse(source="IYOUPORT", since="2018-01-01"),
    SearchFilters.parse(source="rfi"),
    SearchFilters.parse(source="100%"),  # a LIKE wildcard the user typed is a character
]
