"""What ``rag ask`` and ``rag timeline`` print for a reader: on a terminal every line fits its
width (CJK text filled, passages indented, URLs decoded), the number beside a rank is
labelled for what it is; piped, each passage stays on one line. Over the ``test-hash``
sample index (plumbing only; the real engine's answer is checked in integration/test_cli.py,
help and exit codes in test_cli_conventions.py)."""

from __future__ import annotations

import itertools
import json
import re
from io import StringIO

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from support.sample import QUESTION
from support.terminal import on_a_terminal, widest_line
from typer.testing import CliRunner

from rag.cli import app
from rag.cli.render import display_url, line_starts, print_hits, print_wrapped
from rag.records import SearchOptions

ENCODED = "https://www.rfi.fr/cn/%E7%94%9F%E6%80%81/20231115-%E4%B8%AD%E7%BE%8E%E6%B0%94%E5%80%99"
# test-hash cosines mean nothing: the no-answer thresholds are off, so passages are shown
SHOW_ALL = {"RAG_MIN_SCORE_ZH": "0", "RAG_MIN_SCORE_OTHER": "0"}


@pytest.mark.parametrize("command", [["ask", QUESTION], ["timeline", "气候"]])
def test_every_line_fits_an_80_column_terminal(hash_index, command):
    settings, _ = hash_index
    shown = on_a_terminal(*command, "--index", str(settings.index_dir), env=SHOW_ALL)
    assert widest_line(shown) <= 80, shown
    assert "https://www.rfi.fr/cn/生态/" in shown and "%E" not in shown  # URLs decoded
    assert not [line for line in shown.splitlines() if line != line.rstrip()]


def test_ask_labels_the_score_beside_each_rank(hash_index):
    settings, _ = hash_index
    shown = on_a_terminal(
        "ask", QUESTION, "--index", str(settings.index_dir), "-k", "3", env=SHOW_ALL
    )
    assert "Ranked by meaning and keywords (hybrid); similarity: cosine with the question." in (
        shown
    )
    headers = [line for line in shown.splitlines() if re.match(r"\[\d\] ", line)]
    assert len(headers) == 3
    assert all(re.search(r"  similarity\s\d\.\d{3}$", line) for line in headers), headers
    assert " score " not in shown


def test_piped_each_passage_stays_on_one_line(hash_index):
    """Off a terminal nothing is wrapped: grep finds a passage whole (--json: every field)."""
    settings, _ = hash_index
    args = ["ask", QUESTION, "--index", str(settings.index_dir), "--min-score", "0"]
    runner = CliRunner()
    text = runner.invoke(app, args, env={"RAG_CONFIG": "", "COLUMNS": "80"})
    hits = json.loads(runner.invoke(app, [*args, "--json"], env={"RAG_CONFIG": ""}).stdout)
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    for hit in hits["hits"]:
        assert "    " + hit["text"].replace("\n", " ") in lines
        assert "    " + display_url(hit["url"]) in lines


def test_passages_are_filled_and_indented_at_the_terminal_width(hash_archive):
    result = hash_archive.search(QUESTION, SearchOptions(min_score=0))
    console = Console(file=StringIO(), width=50, force_terminal=True, color_system=None)
    print_hits(console, result)
    lines = console.file.getvalue().splitlines()
    assert max(cell_len(line) for line in lines) <= 50
    first_hit = next(i for i, line in enumerate(lines) if line.startswith("[1] "))
    legend = next(i for i, line in enumerate(lines) if line.startswith("Ranked by"))
    hits = lines[first_hit:legend]
    body = [line for line in hits if line and not re.match(r"\[\d\] ", line)]
    assert body and all(line.startswith("    ") for line in body)
    # the passage comes back whole when its lines are joined (CJK text has no spaces)
    first = result.hits[0].chunk.text.replace("\n", " ")
    start = next(i for i, line in enumerate(hits) if line.startswith("    " + first[:5]))
    joined = "".join(line[4:] for line in hits[start : hits.index("", start)])
    assert joined.replace(" ", "") == first.replace(" ", "")


def test_a_url_is_decoded_for_reading_only_when_that_is_safe():
    assert display_url(ENCODED) == "https://www.rfi.fr/cn/生态/20231115-中美气候"
    assert display_url("https://example.org/a%20b") == "https://example.org/a%20b"  # a space
    assert display_url("https://example.org/%1B%5B2J") == "https://example.org/%1B%5B2J"
    assert display_url("https://example.org/%E2%80%AEtxt") == "https://example.org/%E2%80%AEtxt"
    assert display_url("https://example.org/%FF") == "https://example.org/%FF"  # not UTF-8


def _lines(text: str, width: int) -> list[str]:
    starts = [0, *line_starts(text, width), len(text)]
    return [text[a:b].rstrip() for a, b in itertools.pairwise(starts)]


def test_lines_break_between_cjk_characters_and_at_spaces_only():
    text = "中美两国承诺将致力于进一步加强对话（COP28）、协作努力，支持 David Waskow 的说法。[1] 完"
    for width in range(12, 40):
        lines = _lines(text, width)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(cell_len(line) <= width for line in lines), (width, lines)
        assert not any(line.startswith(("，", "。", "、", "）", "[1]")) for line in lines)
        assert not any(line.endswith("（") for line in lines)
        assert all(word in " ".join(lines) for word in ("COP28", "David", "Waskow"))


def test_a_word_wider_than_the_line_is_folded():
    url = "https://www.rfi.fr/cn/" + "a" * 50
    lines = _lines(url, 20)
    assert "".join(lines) == url and all(len(line) <= 20 for line in lines)


def test_wrapped_text_keeps_its_paragraphs_and_trims_line_ends():
    console = Console(file=StringIO(), width=30, force_terminal=True, color_system=None)
    print_wrapped(console, Text("one two three four five six seven\n\n第二段"), indent=4)
    assert console.file.getvalue().splitlines() == [
        "    one two three four five",
        "    six seven",
        "",
        "    第二段",
    ]
