"""Time expressions resolved against a reference date: coverage of a list of 150+
Chinese (Simplified and Traditional) and English expressions, week and month edges."""

from __future__ import annotations

from datetime import date

import pytest
from support.sample import DATA

from rag.search.timeexpr import find_time_window, without_expression

CASES = DATA / "time_expressions.tsv"


def load_cases() -> list[tuple[date, str, date | None, date | None, str | None]]:
    out = []
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        as_of, question, start, end, expression = line.split("\t")
        if start == "-":
            out.append((date.fromisoformat(as_of), question, None, None, None))
        else:
            out.append(
                (
                    date.fromisoformat(as_of),
                    question,
                    date.fromisoformat(start),
                    date.fromisoformat(end),
                    expression,
                )
            )
    return out


ALL = load_cases()


def test_the_list_is_large_and_mixed():
    assert len(ALL) >= 150
    assert sum(1 for c in ALL if c[2] is None) >= 15  # questions that must not fire
    assert sum(1 for c in ALL if c[1].isascii()) >= 40  # English


@pytest.mark.parametrize(("as_of", "question", "start", "end", "expression"), ALL)
def test_each_expression(as_of, question, start, end, expression):
    window = find_time_window(question, as_of)
    if start is None:
        assert window is None, window
        return
    assert window is not None, question
    assert (window.start, window.end) == (start, end)
    assert window.expression == expression
    assert question[window.span[0] : window.span[1]].strip() == expression


def test_coverage_figure(capsys):
    """The share of the list resolved exactly (printed for the README)."""
    right = 0
    for as_of, question, start, end, expression in ALL:
        window = find_time_window(question, as_of)
        if start is None:
            right += window is None
        else:
            right += window is not None and (window.start, window.end, window.expression) == (
                start,
                end,
                expression,
            )
    with capsys.disabled():
        print(f"\ntime expressions: {right}/{len(ALL)} resolved exactly")
    assert right == len(ALL)


def test_the_expression_can_be_taken_out_of_the_question():
    window = find_time_window("上周中美谈了什么", date(2023, 11, 20))
    assert window is not None
    assert without_expression("上周中美谈了什么", window) == "中美谈了什么"
    english = "What did Kerry say last month?"
    window = find_time_window(english, date(2023, 11, 20))
    assert window is not None
    assert without_expression(english, window) == "What did Kerry say ?"
