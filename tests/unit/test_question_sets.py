"""The hand-written question sets over the bundled articles (tests/data/QUESTIONS.md):
every line well formed, every gold URL a bundled article's, every answer string copied
from its gold article, every name written differently from the article, no question
twice. Reads the files and the articles' text; no model, no index."""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache

import pytest
from support.news import NEWS
from support.sample import DATA, SAMPLE

from rag.ingest import load_article
from rag.search.timeexpr import find_time_window
from rag.text.normalize import normalize_for_matching, to_simplified

KEYS = ["question", "gold_urls", "as_of", "lang"]
# Each file, the languages its questions may be in and the keys after KEYS.
SETS = {
    "news_questions_en.jsonl": ({"en"}, ["answers"]),
    "news_questions_tw.jsonl": ({"zh-Hant"}, ["answers"]),
    "names_questions.jsonl": (
        {"en", "zh", "zh-Hant"},
        ["answers", "article_form", "question_form"],
    ),
    "news_unanswerable.jsonl": ({"en", "zh", "zh-Hant"}, []),
}
ANSWERABLE = [name for name, (_, extra) in SETS.items() if "answers" in extra]
CJK = re.compile(r"[\u3400-\u9fff]")


def rows(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@cache
def article_texts() -> dict[str, str]:
    """The cleaned text the index stores for each bundled article, by its URL."""
    paths = [*sorted(SAMPLE.iterdir()), *sorted(NEWS.glob("*.md"))]
    texts = {}
    for path in paths:
        if path.name == "README.md":
            continue
        article, _ = load_article(path)
        assert article.url, path
        texts[article.url] = article.text
    return texts


@pytest.mark.parametrize("name", SETS)
def test_every_line_has_the_keys_in_order_and_a_language_of_the_set(name):
    languages, extra = SETS[name]
    for row in rows(name):
        assert list(row) == KEYS + extra, row
        assert row["question"].strip() and row["as_of"] is None, row
        assert row["lang"] in languages, row


@pytest.mark.parametrize("name", SETS)
def test_the_language_is_the_script_of_the_question(name):
    for row in rows(name):
        question = row["question"]
        if row["lang"] == "en":
            assert not CJK.search(question), question
        elif row["lang"] == "zh":
            assert to_simplified(question) == question, question
        else:
            assert to_simplified(question) != question, question


@pytest.mark.parametrize("name", SETS)
def test_no_question_holds_a_time_expression(name):
    # as_of is null, so the evaluation reads a time expression from today and its window
    # would leave the gold article out.
    for row in rows(name):
        for as_of in (date(2019, 6, 1), date.today()):
            assert find_time_window(row["question"], as_of) is None, row["question"]


@pytest.mark.parametrize("name", ANSWERABLE)
def test_every_gold_url_is_a_bundled_article(name):
    texts = article_texts()
    for row in rows(name):
        assert row["gold_urls"], row
        for url in row["gold_urls"]:
            assert url in texts, (url, row["question"])


@pytest.mark.parametrize("name", ANSWERABLE)
def test_every_answer_is_copied_from_a_gold_article(name):
    texts = article_texts()
    for row in rows(name):
        answers = row["answers"]
        assert 1 <= len(answers) <= 3, row
        golds = [texts[url] for url in row["gold_urls"]]
        for answer in answers:
            assert answer.strip() and any(answer in text for text in golds), (answer, row)
            assert answer.casefold() not in row["question"].casefold(), (answer, row)


def test_every_name_is_written_one_way_in_the_article_and_another_in_the_question():
    texts = article_texts()
    for row in rows("names_questions.jsonl"):
        article_form, question_form = row["article_form"], row["question_form"]
        assert question_form != article_form, row
        assert question_form in row["question"], row
        for url in row["gold_urls"]:
            assert article_form in texts[url], row
            assert question_form.casefold() not in texts[url].casefold(), row


def test_unanswerable_questions_have_no_gold_and_every_language_its_share():
    questions = rows("news_unanswerable.jsonl")
    for row in questions:
        assert row["gold_urls"] == [] and "answers" not in row, row
    for language in ("en", "zh", "zh-Hant"):
        assert sum(row["lang"] == language for row in questions) >= 15, language


def test_no_question_is_asked_twice_in_these_sets_or_the_older_one():
    seen: dict[str, str] = {}
    for name in ["news_questions.jsonl", *SETS]:
        for row in rows(name):
            key = " ".join(normalize_for_matching(row["question"]).split())
            assert key not in seen, (row["question"], name, seen.get(key))
            seen[key] = name
