"""Terminal output for answers: the answer with its ``[n]`` markers, streamed or whole."""

from __future__ import annotations

from typing import TextIO

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from rag.cli.render import print_wrapped
from rag.records import Answer


class TokenPrinter:
    """Writes LLM tokens to ``stream`` as they arrive, after a one-line header."""

    def __init__(self, stream: TextIO, header: str) -> None:
        self.stream = stream
        self.header = header
        self.started = False

    def __call__(self, piece: str) -> None:
        if not self.started:
            self.stream.write(self.header + "\n")
            self.started = True
        # Raw write, no markup: generated text may contain [brackets] or echo an article.
        self.stream.write(piece)
        self.stream.flush()

    def finish(self) -> None:
        if self.started:
            self.stream.write("\n")
            self.stream.flush()


# The glosses of an answer's names and numbers fit this many columns, or the terminal.
GLOSS_WIDTH = 80
GLOSS_INDENT = 2

# Below this calibrated confidence an answer is shown with a warning (at 0.5 and below
# the archive does not answer at all).
UNCERTAIN = 0.7

_CUT = {
    "repetition": "the model began repeating itself: the answer was cut where the repeat began",
    "length": "the answer reached the token limit (llm_max_tokens) and may stop mid-sentence",
}


def gloss_lines(answer: Answer, width: int = GLOSS_WIDTH) -> list[str]:
    """The English of the answer's names and numbers ("names and numbers: 蓬佩奥 Pompeo ·
    3万 30,000"), broken between glosses to fit ``width`` columns; none when it has none."""
    lines: list[str] = []
    line = "names and numbers:"
    for number, gloss in enumerate(answer.glosses):
        item = f"{gloss.text} {gloss.english}" + (" ·" if number < len(answer.glosses) - 1 else "")
        if cell_len(line) + 1 + cell_len(item) > width:
            lines.append(line)
            line = " " * GLOSS_INDENT + item
        else:
            line += " " + item
    return [*lines, line] if answer.glosses else []


def llm_header(model: str) -> str:
    return f"Answer ({model}; check it against the passages below):"


def _highlighted(answer: Answer) -> Text:
    """The answer text with each sentence's answer phrase in bold."""
    text = Text(answer.text)
    at = 0
    for sentence in answer.sentences:
        start = answer.text.find(sentence.text, at)
        if start < 0:
            continue
        if sentence.highlight is not None:
            a, b = sentence.highlight
            text.stylize("bold underline", start + a, start + b)
        at = start + len(sentence.text)
    return text


def print_answer(
    console: Console, answer: Answer, streamed: bool = False, passages: int = 0
) -> None:
    """The answer (unless it was already streamed), then its citation problems.

    ``passages`` is how many passages are listed after it.
    """
    if not answer.found:
        return  # print_hits says why and labels the closest passages
    if not streamed:
        header = (
            "Answer (quoted from the passages below):"
            if answer.mode == "extractive"
            else llm_header(answer.model or "LLM")
        )
        print_wrapped(console, Text(header, style="bold"))
        print_wrapped(console, _highlighted(answer))
    for line in gloss_lines(answer, min(console.width, GLOSS_WIDTH)):
        console.print(Text(line, style="dim"), soft_wrap=True)
    if answer.confidence is not None and answer.confidence < UNCERTAIN:
        print_wrapped(
            console,
            Text(
                f"! uncertain: confidence {answer.confidence:.2f} that these passages answer "
                "the question; check them",
                style="yellow",
            ),
        )
    if answer.mode == "llm":
        if answer.finish_reason in _CUT:
            print_wrapped(console, Text(f"! {_CUT[answer.finish_reason]}", style="yellow"))
        for number, sentence in enumerate(answer.sentences, 1):
            if sentence.invalid_citations:
                marks = " ".join(f"[{n}]" for n in sentence.invalid_citations)
                print_wrapped(
                    console,
                    Text(f"! sentence {number}: {marks} points at no passage", style="yellow"),
                )
            if sentence.unsupported:
                print_wrapped(
                    console,
                    Text(
                        f"! sentence {number} is unsupported (cites no passage): {sentence.text}",
                        style="yellow",
                    ),
                )
    console.print()
    console.print(Text("Passages:", style="bold"))
