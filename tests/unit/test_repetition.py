"""Where generated text starts repeating itself (rag.answer.repetition), fed as a stream would be."""

from __future__ import annotations

import pytest

from rag.answer.repetition import RepetitionGuard


def cut(text: str, step: int = 3) -> str | None:
    """The text kept when ``text`` arrives ``step`` characters at a time; None: no loop."""
    guard = RepetitionGuard()
    for i in range(0, len(text), step):
        at = guard.add(text[i : i + step])
        if at is not None:
            return guard.text[:at]
    return None


INSTRUCTION = "<question>请只依据上面的资料回答，并在每句话末尾标注资料编号 [n]。</question>\n\n"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # the prompt's instruction line, as Gemma 3 270M repeats it
        (INSTRUCTION * 3, INSTRUCTION),
        (
            "Answer only from the passages. [1]\nAnswer only from the passages. [2]\nAn",
            "Answer only from the passages. [1]\n",
        ),
        # the markers do not make a repeated sentence new
        (
            "两国承诺支持阿联酋成功举办COP28。[2] 两国承诺支持阿联酋成功举办COP28。[3] 另",
            "两国承诺支持阿联酋成功举办COP28。[2]",
        ),
        # a phrase back to back, with no sentence end
        ("中美承诺" + "持续、" * 30, "中美承诺持续、"),
        ("答案是" + "[1]" * 20, "答案是[1]"),
    ],
)
def test_a_loop_is_cut_after_its_first_copy(text, kept):
    for step in (1, 3, 7):
        assert cut(text, step) == kept


@pytest.mark.parametrize(
    "text",
    [
        "中美承诺以协商一致方式达成全球盘点决定。[1] 两国还承诺支持阿联酋成功举办COP28。[2]",
        "是的。是的。是的。",  # short sentences may recur
        "哈" * 60,  # one character over and over is not a phrase loop
        "-" * 80 + "\n" + "=" * 80,
        "China and the US promised to reach a decision [1]. The US and China promised it [2].",
    ],
)
def test_ordinary_text_is_not_cut(text):
    assert cut(text) is None


def test_real_articles_are_not_mistaken_for_loops(hash_archive):
    # The sample news articles (what answers quote) hold no verbatim repeated sentence.
    texts = {chunk.article_id for chunk in hash_archive.passages()}
    assert texts
    for article_id in texts:
        detail = hash_archive.article(article_id)
        assert detail is not None
        assert cut(detail.article.text, step=2) is None, detail.article.title
