"""Spotting generated text that has started to repeat itself, so the answer can end there.

Small local models fall into loops: the same sentence (often the prompt's own
instruction line) again and again, or one phrase back to back, until the token limit.
A real answer never states a whole sentence twice, so the second copy is where it ends.
"""

from __future__ import annotations

import re

from rag.answer.citations import MARKER_LIKE, leading
from rag.text.normalize import normalize_for_matching
from rag.text.sentences import sentence_spans

# A repeated sentence shorter than this (letters, digits, CJK characters) may be
# legitimate ("是的。", "Yes."); a longer one written twice is a loop.
MIN_SENTENCE_KEY = 8
# A phrase of 2..MAX_PERIOD characters written at least MIN_COPIES times back to back,
# spanning at least MIN_RUN characters, is a loop ("持续、持续、持续、持续", "[1][1][1]...");
# a run of one character ("哈哈哈哈", "-----") is not.
MAX_PERIOD = 40
MIN_COPIES = 4
MIN_RUN = 32
# markers at the start of a sentence span cite the sentence before it ("...。[2] 另...")
_LEADING_MARKERS = leading(MARKER_LIKE)
_NOT_WORD = re.compile(r"[\W_]+")


def _key(sentence: str) -> str:
    return _NOT_WORD.sub("", normalize_for_matching(MARKER_LIKE.sub("", sentence)))


class RepetitionGuard:
    """Fed an answer piece by piece; tells where the text began repeating itself."""

    def __init__(self) -> None:
        self.text = ""
        self._seen: set[str] = set()
        self._checked = 0  # sentences that end before this offset are in _seen

    def add(self, piece: str) -> int | None:
        """Append ``piece``; the offset to cut the text at once it loops, else None."""
        self.text += piece
        cut = self._repeated_sentence()
        return cut if cut is not None else self._repeated_run()

    def _repeated_sentence(self) -> int | None:
        base = self._checked
        spans = sentence_spans(self.text[base:])
        # The last sentence may still be growing; it is looked at once another follows.
        for start, end in spans[:-1]:
            sentence = self.text[base + start : base + end]
            key = _key(sentence)
            if len(key) >= MIN_SENTENCE_KEY and key in self._seen:
                leading = _LEADING_MARKERS.match(sentence)
                return base + start + (leading.end() if leading else 0)
            self._seen.add(key)
        if len(spans) > 1:
            self._checked = base + spans[-1][0]
        return None

    def _repeated_run(self) -> int | None:
        text = self.text
        for period in range(2, MAX_PERIOD + 1):
            span = max(period * MIN_COPIES, MIN_RUN)
            if len(text) < span:
                break
            window = text[-span:]
            if window[period:] != window[:-period]:
                continue
            if len({c for c in window[:period] if not c.isspace()}) < 2:
                continue
            start = len(text) - span
            while start > 0 and text[start - 1] == text[start - 1 + period]:
                start -= 1
            return start + period
        return None
