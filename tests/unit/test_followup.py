"""Follow-up questions completed by the rules (rag.search.followup) and through
``Archive.follow_up``; the LLM rewrite against a scripted server and the conversation
set's recall with e5 are in tests/integration/test_followup.py."""

from __future__ import annotations

from datetime import date

import pytest

from rag.archive import Archive
from rag.errors import RagError
from rag.records import FollowUp, Query, SearchFilters, SearchOptions, TimeWindow, Turn
from rag.search.followup import complete

COP28 = "中美在COP28上承诺了什么"
ASKED_ON = date(2023, 12, 10)
TODAY = date(2024, 3, 1)


def first_turn(question: str = COP28, **fields: object) -> Turn:
    understood = fields.pop("understood", Query(question, "zh", question))
    return Turn(question, question, understood, as_of=ASKED_ON, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("question", "kept"),
    [
        ("那甲烷呢？", "甲烷"),
        ("美国那边谁负责谈判？", "美国那边谁负责谈判"),
        ("他们上一次见面是什么时候？", "他们上一次见面是什么时候"),
        ("具体目标是多少？", "具体目标是多少"),
        ("該聲明有什麼新內容？", "該聲明有什麼新內容"),
    ],
)
def test_a_chinese_follow_up_carries_the_topic_words(question: str, kept: str) -> None:
    followup = complete(question, [first_turn()], TODAY)
    assert followup.completed and not followup.new_topic
    assert {"中美", "COP28"} <= set(followup.carried)
    assert followup.text.startswith("中美 COP28")
    assert kept in followup.text
    assert "呢" not in followup.text and not followup.text.startswith("那")


def test_the_elliptical_form_is_reduced_to_its_new_word() -> None:
    assert complete("那甲烷呢？", [first_turn()], TODAY).text == "中美 COP28 承诺 甲烷"


@pytest.mark.parametrize(
    "question",
    ["深圳最大的城中村在哪里？", "解振华是谁？", "格拉斯哥宣言的内容", "Who is John Kerry?"],
)
def test_a_question_with_its_own_subject_starts_a_new_topic(question: str) -> None:
    followup = complete(question, [first_turn()], TODAY)
    assert followup == FollowUp(question, question, completed=False, new_topic=True, as_of=TODAY)


def test_english_follow_ups_keep_names_written_in_capitals() -> None:
    asked = "What did the US and China promise at COP28?"
    turn = Turn(asked, asked, as_of=ASKED_ON)
    methane = complete("What about methane?", [turn], TODAY)
    assert methane.text == "US China promise COP28 methane"
    signed = complete("When was it signed?", [turn], TODAY)
    assert signed.completed and signed.text.endswith("When was it signed?")
    assert "US" in signed.carried


def test_the_first_question_of_a_conversation_is_asked_as_it_is() -> None:
    followup = complete("那甲烷呢？", [], TODAY)
    assert followup.text == "那甲烷呢？" and followup.new_topic and not followup.completed


def test_time_words_stay_anchored_to_the_turn_that_named_them() -> None:
    window = TimeWindow(date(2023, 11, 27), date(2023, 12, 3), "上周", (0, 2))
    understood = Query("上周中美在COP28上承诺了什么", "zh", COP28, time_window=window)
    turn = first_turn("上周中美在COP28上承诺了什么", understood=understood)
    followup = complete("那甲烷呢？", [turn], TODAY)
    assert followup.text == "上周 中美 COP28 承诺 甲烷"
    assert followup.as_of == ASKED_ON  # 上周 counted from the first turn, not from today
    own = complete("那去年的甲烷呢？", [turn], TODAY)
    assert not own.text.startswith("上周") and "去年" in own.text


def test_the_source_filter_of_the_topic_is_carried() -> None:
    rfi = SearchFilters(source="rfi")
    followup = complete("那甲烷呢？", [first_turn(filters=rfi)], TODAY)
    assert followup.filters == rfi
    options = followup.search_options(SearchOptions())
    assert options.filters == rfi and options.as_of == ASKED_ON
    voa = SearchFilters(source="voa")
    assert followup.search_options(SearchOptions(filters=voa)).filters == voa


def test_a_chain_of_follow_ups_keeps_the_topic_and_a_new_topic_drops_it() -> None:
    second = complete("那甲烷呢？", [first_turn()], TODAY)
    turn2 = Turn(
        second.question,
        second.text,
        Query(second.text, "zh", second.text),
        as_of=ASKED_ON,
        new_topic=False,
    )
    third = complete("有没有具体的时间表？", [first_turn(), turn2], TODAY)
    assert {"COP28", "甲烷"} <= set(third.carried)
    other = first_turn("深圳最大的城中村在哪里？")
    after = complete("那里住了多少人？", [first_turn(), turn2, other], TODAY)
    assert "深圳" in after.carried and "COP28" not in after.text


def test_archive_follow_up_searches_the_completed_question(hash_archive: Archive) -> None:
    first = hash_archive.follow_up(COP28, [])
    options = first.search_options(SearchOptions(k=3))
    result = hash_archive.search(first.text, options)
    turn = first.turn(result, options)
    assert turn.as_of == date.today() and turn.new_topic and turn.titles
    followup = hash_archive.follow_up("那甲烷呢？", [turn])
    assert followup.text == "中美 COP28 承诺 甲烷" and followup.method == "rules"
    with pytest.raises(RagError, match="empty"):
        hash_archive.follow_up("  ", [turn])


def test_a_conversation_replayed_from_its_questions_keeps_its_window(
    hash_archive: Archive,
) -> None:
    options = SearchOptions(as_of=ASKED_ON)
    turns = hash_archive.replay(
        ["上周中美在COP28上承诺了什么", "那甲烷呢？", "Tor是什么？"], options
    )
    first, second, third = turns
    assert first.new_topic and first.searched == "上周中美在COP28上承诺了什么"
    assert second.searched == "上周 中美 COP28 承诺 甲烷" and not second.new_topic
    assert first.understood is not None and second.understood is not None
    assert second.understood.time_window == first.understood.time_window
    assert second.understood.time_window is not None
    assert second.understood.time_window.end < ASKED_ON
    assert third.new_topic and third.searched == "Tor是什么？"
    later = hash_archive.follow_up("那甲烷呢？", turns[:2], SearchOptions(as_of=TODAY))
    assert later.as_of == ASKED_ON  # the conversation's own date, not the day it resumed
