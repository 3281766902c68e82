"""Question types and answer phrases located inside real CMRC 2018 sentences."""

from __future__ import annotations

import pytest

from rag.answer.span import answer_phrase, has_phrase_of_type, question_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("松平康忠什么时候被任命为知行？", "when"),
        ("When did Zbikowski retire from Microsoft?", "when"),
        ("佩内塔获得过几次WTA赛事女子单打冠军？", "number"),
        ("How many medieval towers has the old prison preserved?", "number"),
        ("成公英是谁的将领？", "who"),
        ("西贡商信银行的总部在哪里？", "where"),
        ("日本国铁设计211系的原因是什么？", "why"),
        ("其地理位置的重要性体现在哪些方面？", None),
        ("什么是放线菌酮？", None),
    ],
)
def test_question_type(question, kind):
    assert question_type(question) == kind


@pytest.mark.parametrize(
    ("question", "sentence", "phrase"),
    [
        (
            "佩内塔获得过几次WTA赛事女子单打冠军？",
            "佩内塔职业生涯共获得10次WTA赛事女子单打冠军。",
            "10次",
        ),
        (
            "淮海中路街道的人口密度是多少？",
            "淮海中路街道面积1.2平方公里，人口密度为每平方公里69670人。",
            "69670人",
        ),
        (
            "严长寿的出生地在哪里？",
            "严长寿，1931年出生于上海市，是一位画家。",
            "上海市",
        ),
        (
            "什么是放线菌酮？",
            "放线菌酮是一种具苦味的物质。",
            "一种具苦味的物质",
        ),
    ],
)
def test_answer_phrase_is_the_part_the_question_does_not_repeat(question, sentence, phrase):
    span = answer_phrase(question, sentence)
    assert span is not None
    assert sentence[span[0] : span[1]] == phrase


def test_no_phrase_when_the_sentence_shares_nothing_with_the_question():
    assert answer_phrase("What is cycloheximide?", "放线菌酮是一种具苦味的物质。") is None


def test_a_sentence_of_the_asked_type():
    assert has_phrase_of_type("when", "他于1998年退休。")
    assert not has_phrase_of_type("when", "他后来退休了。")
    assert not has_phrase_of_type(None, "他于1998年退休。")
