"""Other wordings of a question: CC-CEDICT read English to Chinese, the name table, and
what the query stage and the keyword side make of them (over test-hash indexes; how much
they help English questions is measured by ``rag eval``, docs/quality.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.archive import Archive
from rag.config import TEST_EMBEDDER, Settings
from rag.records import SearchOptions
from rag.search.glossed import glossed_as, name_before
from rag.search.query import understand
from rag.search.translate import latin_names, question_words, reword, translate_terms
from rag.text.cedict import english_keys, lexicon_path, open_lexicon
from rag.text.names import name_table, parse_names
from rag.text.pinyin import find_written, spell, split_syllables, wade_giles

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
    terms, gist = translate_terms(
        question_words("When was the university founded in the United States?"), lexicon
    )
    assert "大学" in terms and "美国" in terms
    assert {"建立", "创建"} & set(terms)  # "founded" looked up as "found"
    assert gist[0] == "大学" and gist[-1] == "美国"  # one sense per unit, in order
    # a word the dictionary lacks (a name, a number) is kept as written
    _, gist = translate_terms(question_words("Who is Pennetta?"), lexicon)
    assert gist == ["Pennetta"]
    assert (
        translate_terms(question_words("the leaves of yarrow"), lexicon)[1][0] == "叶子"
    )  # leaf, not leave


def test_a_pinyin_name_is_not_translated_as_an_english_word(lexicon_cache):
    lexicon = open_lexicon(lexicon_cache)
    assert lexicon.is_pinyin("jiancheng") and not lexicon.is_pinyin("thesis")
    terms, gist = translate_terms(question_words("What was Song Jiancheng's thesis?"), lexicon)
    assert gist[:2] == ["Song", "Jiancheng"]
    assert "歌曲" not in terms and "论文" in terms
    # a capitalised word that is a proper noun in the dictionary is still translated
    assert "天津" in translate_terms(question_words("Where in Tianjin?"), lexicon)[0]
    # as a common word at the start of a question it keeps its common senses
    assert "歌曲" in translate_terms(question_words("Song of the year"), lexicon)[0]


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
    assert plain.wording.keywords is None and plain.wording.translation is None
    assert named.wording.keywords is not None and "特朗普" in named.wording.keywords.split()
    assert named.wording.translation is None
    assert not lexicon_path(tmp_path).exists()


def test_an_english_question_is_translated_for_both_sides(lexicon_cache):
    query = understand(
        "When was the University of Sydney founded?",
        SearchOptions(),
        Settings(model_cache_dir=lexicon_cache),
    )
    assert query.language == "other"
    assert query.wording.keywords is not None and query.wording.translation is not None
    assert {"大学", "悉尼", "雪梨"} <= set(query.wording.keywords.split())
    assert "大学" in query.wording.translation and "悉尼" in query.wording.translation


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


def test_pinyin_and_wade_giles_names_are_read_as_syllables(lexicon_cache):
    syllables = open_lexicon(lexicon_cache).syllables
    assert split_syllables("changshou", syllables) == ["chang", "shou"]
    assert split_syllables("heilongjiang", syllables) == ["hei", "long", "jiang"]
    assert split_syllables("thesis", syllables) is None
    assert {"zhang", "chang"} <= wade_giles("chang") and "cai" in wade_giles("tsai")
    assert "xie" in wade_giles("hsieh") and "ying" in wade_giles("ing")
    name = spell(["Chang", "Yu-sheng"], syllables)
    assert name is not None and name.syllables[0] == ("chang", "zhang")
    assert spell(["Liu"], syllables) is None  # one syllable tells too little


def test_a_spelled_name_is_found_in_the_characters_of_a_passage(lexicon_cache):
    lexicon = open_lexicon(lexicon_cache)
    readings = lexicon.readings_of("长張，")
    assert {"zhang", "chang"} <= readings["长"] and "zhang" in readings["張"]  # either script
    assert "，" not in readings  # no reading: left out

    def found(words: list[str], text: str) -> list[str]:
        name = spell(words, lexicon.syllables)
        assert name is not None
        return find_written(name, [text], lexicon.readings_of(text))

    assert found(["Yan", "Changshou"], "严长寿，出生于上海市，严长寿是董事长") == ["严长寿"] * 2
    assert found(["Chang", "Yu-sheng"], "是張雨生發行的第六張國語專輯") == ["張雨生"]
    assert found(["Yelü", "Liuge"], "辽朝宗室耶律留哥、耶律耶的") == ["耶律留哥"]
    assert found(["Yan", "Changshou"], "严格说来长寿的人不多") == []


def test_names_in_pinyin_are_kept_out_of_the_dictionary(lexicon_cache):
    lexicon = open_lexicon(lexicon_cache)
    words = question_words("Where was Yan Changshou born, and what did Pan Jiali sing?")
    spelled = latin_names(words, lexicon)
    assert [name.written for _, name in spelled] == ["Yan Changshou", "Pan Jiali"]
    terms, gist = translate_terms(words, lexicon, spelled)
    assert "Yan Changshou" in gist and "Pan Jiali" in gist
    assert not {"燕国", "潘", "佳里"} & set(terms)  # no sense of the syllables as words
    # a name the dictionary knows, and an English word opening the question, are not spelled
    assert latin_names(question_words("What did Xi Jinping say in China?"), lexicon) == []
    assert latin_names(question_words("Song of the year"), lexicon) == []


def built_archive(root: Path, cache: Path, articles: dict[str, tuple[str, str]], day: str):
    """An archive of short articles (file name -> (title, text)), dated ``day`` and found
    at https://example.org/<file stem>, indexed with test-hash."""
    corpus = root / "corpus"
    corpus.mkdir()
    for name, (title, text) in articles.items():
        (corpus / name).write_text(
            f"---\ntitle: {title}\ndate: {day}\nfrom: https://example.org/{name[:-3]}\n"
            f"---\n\n{text}\n",
            encoding="utf-8",
        )
    settings = Settings(index_dir=root / "index", embedder=TEST_EMBEDDER, model_cache_dir=cache)
    archive = Archive(settings)
    archive.build([str(corpus)])
    return archive


@pytest.fixture(scope="module")
def pinyin_archive(tmp_path_factory: pytest.TempPathFactory, lexicon_cache: Path):
    """Two people's short biographies, and a third article that matches every other
    word of the question ("born": 出生), indexed with test-hash."""
    articles = {
        "yan.md": ("严长寿", "严长寿，台湾企业家，亚都丽致饭店总裁，著有多本畅销书。"),
        "yang.md": ("杨丽音", "杨丽音，台湾女演员，曾走红于综艺节目。"),
        "born.md": ("名人", "出生于上海市的名人很多。"),
    }
    root = tmp_path_factory.mktemp("pinyin")
    with built_archive(root, lexicon_cache, articles, "2020-05-02") as archive:
        yield archive


def test_an_english_question_finds_the_person_its_pinyin_names(pinyin_archive):
    # the name is read in the passages the first ranking returns; hybrid's dense side
    # returns every passage of so small an archive
    options = SearchOptions(k=3, mode="hybrid", min_score=0.0)
    query = pinyin_archive.understand("Where was Yan Changshou born?", options)
    assert [name.written for name in query.wording.latin_names] == ["Yan Changshou"]
    hits = pinyin_archive.search("Where was Yan Changshou born?", options).hits
    assert hits[0].article.url == "https://example.org/yan"
    hits = pinyin_archive.search("What did Yang Liyin do?", options).hits
    assert hits[0].article.url == "https://example.org/yang"


def test_a_bracket_glosses_a_foreign_name():
    assert name_before("美国国务卿蓬佩奥") == "蓬佩奥"
    assert name_before("人类学教授莫妮卡·史密斯") == "莫妮卡·史密斯"
    assert name_before("际上是以其创始人高田贤三") == "高田贤三"  # a one-character last word
    assert name_before("较之后来成名的山本耀司", latin_words=2) == "山本耀司"
    texts = ["美国国务卿蓬佩奥（Mike Pompeo）周三表示", "分析家艾哈迈德·科杜达(Ahmed Kodouda)说"]
    assert glossed_as("Pompeo", texts) == ["蓬佩奥"]
    assert glossed_as("Ahmed Kodouda", texts) == ["艾哈迈德·科杜达"]
    assert glossed_as("Smith", texts) == []


@pytest.fixture(scope="module")
def glossed_archive(tmp_path_factory: pytest.TempPathFactory, lexicon_cache: Path):
    """A foreign analyst named with his spelling in brackets in one article, by the
    Chinese form alone in the one that answers, and a third article about the army."""
    articles = {
        "intro.md": ("苏丹局势", "政治分析家艾哈迈德·科杜达（Ahmed Kodouda）长期研究苏丹军队。"),
        "said.md": ("苏丹抗议", "科杜达认为，抗议者的要求是文官政府，军方不会轻易让步。"),
        "army.md": ("军队声明", "苏丹军队发表声明，说军队认为抗议者的要求无法满足。"),
    }
    root = tmp_path_factory.mktemp("glossed")
    with built_archive(root, lexicon_cache, articles, "2019-06-12") as archive:
        yield archive


def test_a_foreign_name_is_read_from_a_passage_that_glosses_it(glossed_archive):
    question = "What does Kodouda think the protesters demand?"
    query = glossed_archive.understand(question)
    assert [name.written for name in query.wording.latin_names] == ["Kodouda"]
    hits = glossed_archive.search(question, SearchOptions(k=3, min_score=0.0)).hits
    assert hits[0].article.url in ("https://example.org/said", "https://example.org/intro")
    assert "https://example.org/army" not in [hit.article.url for hit in hits[:2]]


@pytest.fixture(scope="module")
def both_spellings_archive(tmp_path_factory: pytest.TempPathFactory, lexicon_cache: Path):
    """A mainland outlet writing 特朗普 and a Taiwan one writing 川普 (in Traditional
    characters) about the same tariffs, and an unrelated article, indexed with test-hash."""
    articles = {
        "mainland.md": ("特朗普加征关税", "特朗普宣布对进口钢铁加征关税，白宫随后说明了细节。"),
        "taiwan.md": ("川普加徵關稅", "川普宣布對進口鋼鐵加徵關稅，白宮隨後說明細節。"),
        "other.md": ("天气", "台北今天下午有雷阵雨，气温三十度。"),
    }
    root = tmp_path_factory.mktemp("both")
    with built_archive(root, lexicon_cache, articles, "2018-03-02") as archive:
        yield archive


@pytest.mark.parametrize("mode", ["hybrid", "keyword"])
def test_both_spellings_of_a_name_find_the_same_passages(both_spellings_archive, mode):
    options = SearchOptions(k=2, mode=mode, min_score=0.0)
    mainland = both_spellings_archive.search("特朗普对钢铁关税说了什么", options).hits
    taiwan = both_spellings_archive.search("川普對鋼鐵關稅說了什麼", options).hits
    assert [hit.chunk.id for hit in mainland] == [hit.chunk.id for hit in taiwan]
    assert {hit.article.url for hit in mainland} == {
        "https://example.org/mainland",
        "https://example.org/taiwan",
    }


def test_a_traditional_question_is_also_read_in_mainland_wording(tmp_path):
    settings = Settings(model_cache_dir=tmp_path)
    query = understand("台灣的軟體工程師在網路上說了什麼", SearchOptions(), settings)
    assert query.wording.mainland == "台湾的软件工程师在网络上说了什么"
    assert query.wording.translation is None  # ranked as asked: the mainland wording is read only
    simplified = understand("台湾的软件工程师说了什么", SearchOptions(), settings)
    assert simplified.wording.mainland is None and simplified.wording.keywords is None
    assert not lexicon_path(tmp_path).exists()  # still no dictionary for a Chinese question


def test_acronyms_chinese_and_accents_in_an_english_question(lexicon_cache):
    def gist(question: str) -> str:
        wording = reword(question, "other", lexicon_cache)
        return wording.translation or ""

    assert gist("What did the US say about tariffs?") == "美国 关税"  # not the stop word "us"
    assert gist("What did the U.S. say?") == "美国"
    assert gist("AI chips").startswith("人工智能")  # "artificial intelligence (AI)"
    assert "信息技术" in gist("the IT ministry")
    assert gist("What did Trump say about 关税?") == "特朗普 关税"  # Chinese kept, name once
    assert gist("What did 习近平 say about COP28?") == "习近平 COP28"
    spelled = reword("What did Xí Jìnpíng say?", "other", lexicon_cache).latin_names
    assert [name.written for name in spelled] == ["Xí Jìnpíng"]
    assert spelled[0].syllables[0] == ("xi",) and "ping" in spelled[0].syllables[2]


def test_taiwan_spellings_of_names_are_read(lexicon_cache):
    lexicon = open_lexicon(lexicon_cache)
    for words, text, found in [
        (["Hou", "Yu-ih"], "新北市长侯友宜说", "侯友宜"),
        (["Lee", "Teng-hui"], "前总统李登辉", "李登辉"),
        (["Ma", "Ying-jeou"], "马英九表示", "马英九"),
    ]:
        name = spell(words, lexicon.syllables)
        readings = lexicon.readings_of(text)
        assert name is not None and find_written(name, [text], readings) == [found]


def test_names_are_read_once_and_a_few_per_question(lexicon_cache):
    assert len(reword("Who is Yan Changshou? " * 300, "other", lexicon_cache).latin_names) == 1
    many = "Did Yan Changshou, Pan Jiali, Liu Qi, Song Jiancheng and Yang Liyin meet?"
    assert len(reword(many, "other", lexicon_cache).latin_names) == 4
    # a bracket counts only when it holds the name's last word
    texts = ["教授莫妮卡·史密斯（Monica L. Smith）", "乔·拜登（Joe Biden）"]
    assert glossed_as("Joe Smith", texts) == ["莫妮卡·史密斯"]
    assert glossed_as("Trump", ["唐納‧川普（Donald Trump）"]) == ["唐納·川普"]
