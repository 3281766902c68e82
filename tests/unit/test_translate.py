"""Other wordings of a question: CC-CEDICT read English to Chinese, the name table, and
what the query stage and the keyword side make of them (over test-hash indexes; how much
they help English questions is measured by ``rag eval``, docs/quality.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.archive import Archive
from rag.config import TEST_EMBEDDER, Settings
from rag.records import SearchOptions
from rag.search.query import understand
from rag.search.translate import translate_terms
from rag.text.cedict import english_keys, lexicon_path, open_lexicon
from rag.text.names import name_table, parse_names

ARTICLES = {
    "trump.md": (
        "---\ntitle: 白宫记者会\ndate: 2020-05-02\nfrom: https://example.org/trump\n---\n\n"
        "特朗普宣布加征关税，白宫发言人随后在记者会上详细说明了这项政策的细节。\n"
    ),
    "tokyo.md": (
        "---\ntitle: 东京记者会\ndate: 2020-05-03\nfrom: https://example.org/tokyo\n---\n\n"
        "东京宣布加征关税，关税上调。\n"
    ),
    "sydney.md": (
        "---\ntitle: 悉尼大学\ndate: 2020-05-04\nfrom: https://example.org/sydney\n---\n\n"
        "悉尼大学创建于1850年，是澳大利亚第一所大学。\n"
    ),
}


@pytest.fixture(scope="module")
def lexicon_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache whose English -> Chinese table is made once for the module."""
    cache = tmp_path_factory.mktemp("model-cache")
    open_lexicon(cache)
    return cache


@pytest.fixture(scope="module")
def names_archive(tmp_path_factory: pytest.TempPathFactory, lexicon_cache: Path):
    """Three short articles, one writing 特朗普 (never 川普), indexed with test-hash; the
    one from Tokyo matches every other word of the questions about him more often."""
    root = tmp_path_factory.mktemp("names")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(
        index_dir=root / "index", embedder=TEST_EMBEDDER, model_cache_dir=lexicon_cache
    )
    with Archive(settings) as archive:
        archive.build([str(corpus)])
        yield archive


def test_glosses_become_english_keys():
    assert english_keys("to found") == ["found"]
    assert english_keys("Sydney, capital of New South Wales, Australia") == ["sydney"]
    assert english_keys("president (of a country)") == ["president"]
    assert english_keys("CL:個|个[ge4]") == []
    assert english_keys("variant of 台[tai2]") == []
    # a foreign person's entry is also found by the family name alone
    assert "~trump" in english_keys("Donald Trump (1946-), US president 2017-2021")


def test_the_dictionary_translates_words_phrases_and_inflections(lexicon_cache):
    lexicon = open_lexicon(lexicon_cache)
    assert lexicon.senses("president")[0][0] == "总统"
    assert "美国" in [zh for zh, _ in lexicon.senses("united states")]
    terms, gist = translate_terms("When was the university founded in the United States?", lexicon)
    assert "大学" in terms and "美国" in terms
    assert {"建立", "创建"} & set(terms)  # "founded" looked up as "found"
    assert gist[0] == "大学" and gist[-1] == "美国"  # one sense per unit, in order
    # a word the dictionary lacks (a name, a number) is kept as written
    _, gist = translate_terms("Who is Pennetta?", lexicon)
    assert gist == ["Pennetta"]
    assert translate_terms("the leaves of yarrow", lexicon)[1][0] == "叶子"  # leaf, not leave


def test_a_pinyin_name_is_not_translated_as_an_english_word(lexicon_cache):
    lexicon = open_lexicon(lexicon_cache)
    assert lexicon.is_pinyin("jiancheng") and not lexicon.is_pinyin("thesis")
    terms, gist = translate_terms("What was Song Jiancheng's thesis?", lexicon)
    assert gist[:2] == ["Song", "Jiancheng"]
    assert "歌曲" not in terms and "论文" in terms
    # a capitalised word that is a proper noun in the dictionary is still translated
    assert "天津" in translate_terms("Where in Tianjin?", lexicon)[0]
    # as a common word at the start of a question it keeps its common senses
    assert "歌曲" in translate_terms("Song of the year", lexicon)[0]


def test_name_forms_match_in_either_script_and_latin_by_case():
    table = name_table()
    assert "特朗普" in table.variants("川普说了什么")
    assert "川普" in table.variants("特朗普说了什么")
    assert "蓬佩奥" in table.variants("龐皮歐訪問台灣")  # Traditional form of another spelling
    assert "非典" in table.variants("沙士疫情")
    assert "世卫组织" in table.variants("What did the WHO say?")
    assert table.variants("who said so?") == []
    assert table.variants("天气很好") == []
    custom = parse_names("# comment\n甲 | 乙 | Alpha\n丙\n")
    assert custom.groups == (("甲", "乙", "Alpha"),)  # a line of one form is no group


def test_a_chinese_question_gets_name_forms_and_never_the_dictionary(tmp_path):
    settings = Settings(model_cache_dir=tmp_path)
    plain = understand("中美在COP28上承诺了什么", SearchOptions(), settings)
    named = understand("川普对关税说了什么", SearchOptions(), settings)
    assert plain.keywords is None and plain.translation is None
    assert named.keywords is not None and "特朗普" in named.keywords.split()
    assert named.translation is None
    assert not lexicon_path(tmp_path).exists()


def test_an_english_question_is_translated_for_both_sides(lexicon_cache):
    query = understand(
        "When was the University of Sydney founded?",
        SearchOptions(),
        Settings(model_cache_dir=lexicon_cache),
    )
    assert query.language == "other"
    assert query.keywords is not None and query.translation is not None
    assert {"大学", "悉尼", "雪梨"} <= set(query.keywords.split())
    assert "大学" in query.translation and "悉尼" in query.translation


def test_either_name_finds_the_passage_that_writes_one_of_them(names_archive):
    options = SearchOptions(k=3, mode="keyword", min_score=0.0)
    asked_as_written = names_archive.search("特朗普宣布加征关税", options).hits
    asked_otherwise = names_archive.search("川普宣布加征关税", options).hits
    assert asked_as_written[0].article.url == "https://example.org/trump"
    assert asked_otherwise[0].chunk.id == asked_as_written[0].chunk.id


def test_an_english_question_finds_a_chinese_passage_by_keywords(names_archive):
    hits = names_archive.search(
        "When was the University of Sydney founded?",
        SearchOptions(k=3, mode="keyword", min_score=0.0),
    ).hits
    assert hits and hits[0].article.url == "https://example.org/sydney"
