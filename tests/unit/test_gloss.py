"""The English of the names and numbers an extractive answer quotes, for a question not
asked in Chinese (rag.answer.gloss over the real CC-CEDICT and the name table), and how
the command line, its JSON, the HTTP schema and the MCP text show them (over the test-hash
sample index)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from rag.answer.gloss import glosses, with_glosses
from rag.cli import app
from rag.cli.render_answer import gloss_lines, print_answer
from rag.mcp.text import ask_text
from rag.records import (
    Answer,
    AnswerSentence,
    Gloss,
    Query,
    SearchOptions,
    SearchResult,
    Wording,
)
from rag.schemas import SearchResponse
from rag.serialize import answer_to_dict
from rag.text.cedict import open_lexicon
from rag.text.glossary import TABLE_FORMAT, glossary_path, name_of, open_glossary
from rag.text.numbers import english_number, numbers_in
from rag.text.pinyin import spell

runner = CliRunner()
ENGLISH = "What did China and the US promise at COP28?"
CHINESE = "中美在COP28上承诺了什么"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache whose glossary is made once for the module."""
    cache = tmp_path_factory.mktemp("model-cache")
    open_glossary(cache)
    return cache


def english_of(sentence: str, cache: Path) -> dict[str, str]:
    return {g.text: g.english for g in glosses([sentence], cache)}


# names


@pytest.mark.parametrize(
    ("gloss", "name"),
    [
        ("Sydney, capital of New South Wales, Australia", "Sydney"),
        ("Donald Trump (1946-), American business magnate", "Donald Trump"),
        ("Shanghai municipality in southeast China, abbr. 滬|沪", "Shanghai"),
        ("United Kingdom 聯合王國|联合王国[Lian2 he2 wang2 guo2]", "United Kingdom"),
        ("Taibai County in Baoji", "Taibai County"),
        ("the Great Wall", "the Great Wall"),
        ("surname Wang", None),
        ("variant of 臺灣|台湾[Tai2 wan1]", None),
        ("abbr. for 中國共產黨|中国共产党[Zhong1 guo2 Gong4 chan3 dang3]", None),
        ("CL:個|个[ge4]", None),
        ("the people", None),
        ("peace", None),
    ],
)
def test_a_proper_nouns_gloss_gives_the_name_it_starts_with(gloss, name):
    assert name_of(gloss) == name


@pytest.mark.parametrize(
    ("word", "english"),
    [
        ("悉尼", "Sydney"),  # the name table, and CC-CEDICT
        ("雪梨", "Sydney"),  # Taiwan's form: the name table (CC-CEDICT also has a pear)
        ("蓬佩奥", "Pompeo"),  # the name table only
        ("蓬佩奧", "Pompeo"),  # its Traditional form
        ("特朗普", "Trump"),  # the table's Latin form before the dictionary's "Donald Trump"
        ("華盛頓", "Washington"),  # a Traditional headword
        ("臺北", "Taipei"),
        ("新華社", "Xinhua News Agency"),
        ("上海市", "Shanghai"),
        ("联合国", "United Nations"),
        ("国务卿", None),  # secretary of state: a title, no name
        ("小米", None),  # Xiaomi, and millet: a common word too
        ("人民", None),
    ],
)
def test_the_glossary_knows_names_in_either_script(cache, word, english):
    assert open_glossary(cache).english(word) == english


def test_the_names_of_a_sentence_are_jiebas_words_the_glossary_knows(cache):
    found = english_of("美国国务卿蓬佩奥18日在華盛頓表示，发展中国家应当合作。", cache)
    assert found == {
        "美国": "United States",
        "蓬佩奥": "Pompeo",
        "18日": "the 18th",
        "華盛頓": "Washington",
    }  # not 国务卿, and not the 中国 inside 发展中国家


def test_a_foreign_names_parts_are_one_name_or_none(cache):
    assert english_of("乔治·华盛顿是美国第一任总统", cache) == {
        "乔治·华盛顿": "George Washington",
        "美国": "United States",
    }
    assert english_of("比尔·盖茨", cache) == {"比尔·盖茨": "Bill Gates"}  # the name table
    assert "约翰" not in english_of("特使约翰·克里", cache)  # John, but Kerry unknown


def searched(query: Query, names_read: tuple[tuple[str, str], ...] = ()) -> SearchResult:
    """A search result that understood ``query`` (no hits: glossing reads the answer)."""
    return SearchResult(query.question, "hybrid", "i", (), understood=query, names_read=names_read)


def test_a_name_the_search_read_in_pinyin_is_glossed_as_the_question_wrote_it(cache):
    name = spell(["Yan", "Changshou"], open_lexicon(cache).syllables)
    assert name is not None
    query = Query(
        "Where was Yan Changshou born?",
        "other",
        "Yan Changshou born",
        wording=Wording(latin_names=(name,)),
    )
    answer = Answer(
        query.question, "extractive", "", (AnswerSentence("严长寿1950年生于上海市。", (1,)),)
    )
    result = searched(query, (("Yan Changshou", "严长寿"),))
    assert with_glosses(answer, result, cache).glosses == (
        Gloss("严长寿", "Yan Changshou"),
        Gloss("上海市", "Shanghai"),
    )


# numbers


@pytest.mark.parametrize(
    ("text", "glossed"),
    [
        ("约有3万人", ("3万", "30,000")),
        ("投资1.2亿", ("1.2亿", "120 million")),
        ("二〇一九年", ("二〇一九年", "2019")),
        ("百分之三十的人", ("百分之三十", "30%")),
        ("百分之三点五", ("百分之三点五", "3.5%")),
        ("2019年11月", ("2019年11月", "November 2019")),
        ("2019年11月5日", ("2019年11月5日", "5 November 2019")),
        ("5月4日", ("5月4日", "4 May")),
        ("十月一日", ("十月一日", "1 October")),
        ("他18日表示", ("18日", "the 18th")),
        ("将于 11 月 15 日", ("11 月 15 日", "15 November")),  # spaced as some outlets do
        ("2023年7月16—19日", ("2023年7月16—19日", "16–19 July 2023")),
        ("一千二百万", ("一千二百万", "12 million")),
        ("三万五千", ("三万五千", "35,000")),
        ("两千名", ("两千", "2,000")),
        ("12亿", ("12亿", "1.2 billion")),
        ("1000亿美元", ("1000亿美元", "US$100 billion")),
        ("5000万元", ("5000万元", "50 million yuan")),
        ("1.5万亿元", ("1.5万亿元", "1.5 trillion yuan")),
        ("500公里", ("500公里", "500 km")),
        ("３万", ("３万", "30,000")),  # full-width digits, as written
    ],
)
def test_chinese_numbers_and_dates_read_in_english(text, glossed):
    assert [(text[a:b], english) for a, b, english in numbers_in(text)] == [glossed]


@pytest.mark.parametrize(
    "text",
    [
        "2019",
        "30%",
        "2019年",
        "共有3人",
        "十分重要",
        "千万不要",
        "七八个",
        "一些人",
        "30日内",
        "2019年13月",
    ],
)
def test_numbers_a_reader_of_english_can_read_get_no_gloss(text):
    assert list(numbers_in(text)) == []


def test_english_numbers_are_grouped_and_scaled():
    assert english_number(Decimal("30000")) == "30,000"
    assert english_number(Decimal("1.2E+8")) == "120 million"
    assert english_number(Decimal("2500000")) == "2.5 million"
    assert english_number(Decimal("1234.50")) == "1,234.5"


# the answer's glosses


def test_glosses_come_in_order_of_first_appearance_each_once_and_capped(cache):
    sentences = ["北京和悉尼各有3万人。", "悉尼的3万人和东京。", "巴黎"]
    assert [g.text for g in glosses(sentences, cache)] == ["北京", "悉尼", "3万", "东京", "巴黎"]
    assert [g.text for g in glosses(sentences, cache, limit=2)] == ["北京", "悉尼"]


def test_a_name_the_sentence_already_writes_in_english_is_not_glossed(cache):
    found = english_of("美国众议长南希-佩洛西（Nancy Pelosi）访问台湾。", cache)
    assert found == {"美国": "United States", "台湾": "Taiwan"}


def test_only_an_extractive_answer_to_a_question_not_in_chinese_is_glossed(cache):
    sentences = (AnswerSentence("蓬佩奥在悉尼表示。", (1,)),)
    answer = Answer("q", "extractive", "蓬佩奥在悉尼表示。[1]", sentences)
    english = Query(ENGLISH, "other", ENGLISH)
    glossed = with_glosses(answer, searched(english), cache).glosses
    assert glossed == (Gloss("蓬佩奥", "Pompeo"), Gloss("悉尼", "Sydney"))
    assert with_glosses(answer, searched(Query(CHINESE, "zh", CHINESE)), cache) is answer
    llm = Answer("q", "llm", "Pompeo spoke in Sydney [1].", sentences)
    assert with_glosses(llm, searched(english), cache) is llm


def test_archive_ask_glosses_an_english_questions_answer_only(hash_archive):
    options = SearchOptions(k=5, min_score=0)
    english = hash_archive.ask(ENGLISH, options).answer
    assert english.mode == "extractive" and english.glosses
    quoted = " ".join(s.text for s in english.sentences)
    assert all(g.text in quoted for g in english.glosses)
    assert hash_archive.ask(CHINESE, options).answer.glosses == ()


# how the surfaces show them


def test_the_text_line_is_broken_between_glosses_within_80_columns():
    pairs = [("严长寿", "Yan Changshou"), ("上海市", "Shanghai"), ("3万", "30,000")]
    pairs += [("2019年11月", "November 2019"), ("百分之三十", "30%"), ("华盛顿", "Washington")]
    answer = Answer("q", "extractive", "x", glosses=tuple(Gloss(*p) for p in pairs))
    lines = gloss_lines(answer)
    assert lines[0].startswith("names and numbers: 严长寿 Yan Changshou · 上海市 Shanghai")
    assert len(lines) == 2 and lines[1].startswith("  ")
    assert all(cell_len(line) <= 80 for line in lines)
    assert gloss_lines(Answer("q", "extractive", "x")) == []


def test_print_answer_shows_the_glosses_after_the_answer():
    sentences = (AnswerSentence("蓬佩奥在悉尼表示。", (1,)),)
    answer = Answer(
        "q", "extractive", "蓬佩奥在悉尼表示。[1]", sentences, glosses=(Gloss("蓬佩奥", "Pompeo"),)
    )
    console = Console(record=True, width=120)
    print_answer(console, answer)
    lines = console.export_text().splitlines()
    assert lines[1:3] == ["蓬佩奥在悉尼表示。[1]", "names and numbers: 蓬佩奥 Pompeo"]


def test_ask_json_text_and_mcp_text_carry_the_glosses(hash_index):
    settings, _ = hash_index
    base = ["ask", ENGLISH, "--index", str(settings.index_dir), "--min-score", "0"]
    result = runner.invoke(app, [*base, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    SearchResponse.model_validate(data)  # the HTTP API's schema describes the field
    glossed = data["answer"]["glosses"]
    assert glossed and all(set(g) == {"text", "english"} for g in glossed)
    assert f"{glossed[0]['text']} {glossed[0]['english']}" in ask_text(data)
    text = runner.invoke(app, base).stdout
    assert f"names and numbers: {glossed[0]['text']} {glossed[0]['english']}" in text
    chinese = runner.invoke(app, ["ask", CHINESE, "--index", str(settings.index_dir), "--json"])
    assert json.loads(chinese.stdout)["answer"]["glosses"] == []


def test_answer_json_lists_the_glosses_in_order():
    answer = Answer(
        "q", "extractive", "x", glosses=(Gloss("3万", "30,000"), Gloss("悉尼", "Sydney"))
    )
    assert answer_to_dict(answer)["glosses"] == [
        {"text": "3万", "english": "30,000"},
        {"text": "悉尼", "english": "Sydney"},
    ]


def test_the_glossary_is_written_once_under_the_model_cache(cache):
    path = glossary_path(cache)
    assert path.name == f"cedict-names-{TABLE_FORMAT}.sqlite" and path.exists()
    assert [p for p in cache.iterdir() if p.name.endswith(".tmp")] == []
