"""The keyword side: BM25 over normalised Chinese/Latin tokens, saved beside FAISS.

A version stores two things: each passage's token counts (``terms.*.npy``, one row per
passage) and the BM25 score matrix computed from them (bm25s's file layout and Lucene
formula, k1=1.5, b=0.75). An update tokenises only the passages that are new, takes the
counts of the others from the previous version, and recomputes the score matrix from
the counts with a few numpy passes: idf and the average length are corpus-wide, so
every score depends on every passage, and recomputing them from integer counts gives
exactly the scores of a rebuild. Queries read the score matrix directly (numpy only),
so answering a question never imports bm25s or scipy, and ``mmap`` leaves the matrix
in the page cache.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rag.index.tokenize import token_text, tokenize, tokenize_query
from rag.records import Article, Chunk

SPARSE_DIR = "bm25"
# bm25s file names (its ``save`` layout), read by queries
_ARRAYS = ("data", "indices", "indptr")
_VOCAB = "vocab.index.json"
# the same vocabulary as a SQLite table, so that a question looks up its few tokens
# instead of parsing the whole JSON (~0.1 s at 100k passages, ~0.5 s at 1M)
_VOCAB_TABLE = "vocab.sqlite"
_NONOCCURRENCE = "nonoccurrence_array.index.npy"
# per-passage token counts, read by the next update
_TERMS = ("indptr", "ids", "counts")  # their token ids are the score matrix's columns
# Up to this many texts are segmented with jieba's dictionary looked up in SQLite, as
# questions are (rag.index.tokenize._jieba_dict: the same tokens), instead of loading
# the whole dictionary (~0.6 s of CPU, most of an update that adds one article).
FEW_TEXTS = 200
# The score matrix is computed this many (row, token) pairs at a time (~50 bytes each):
# blocks that stay in the CPU caches made it 4x faster than one pass over 4M pairs.
BLOCK_PAIRS = 1 << 17
# document frequencies are counted in larger blocks (a vocabulary-sized count each)
COUNT_BLOCK_PAIRS = 1 << 22
# bm25s's defaults (method "lucene"), which the index was built with before
K1 = 1.5
B = 0.75
# What a passage's BM25 document holds, recorded in the manifest ("text": indexes built
# before the title was added). The title is the passage's context, as for the embedder:
# without it a question naming the story matches the lead passage, not the one that
# answers (README, "Search modes": keyword passage R@1 0.839 -> 0.865 on CMRC).
KEYWORD_FIELDS = "title+text"


def keyword_text(title: str, passage: str) -> str:
    """What BM25 indexes for a passage: its article's title and its own text."""
    return f"{title}\n{passage}" if title else passage


def keyword_texts(articles: Sequence[Article], chunks: Sequence[Chunk]) -> list[str]:
    """``keyword_text`` of each of ``chunks``, titled by its article in ``articles``."""
    titles = {a.id: a.title for a in articles}
    return [keyword_text(titles.get(c.article_id, ""), c.text) for c in chunks]


@dataclass(frozen=True)
class TermCounts:
    """Token counts of passage rows as a CSR matrix: row i holds ``ids``/``counts``
    between ``indptr[i]`` and ``indptr[i + 1]``; ``vocab[id]`` is the token."""

    vocab: tuple[str, ...]
    indptr: np.ndarray
    ids: np.ndarray
    counts: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def from_texts(
        cls, texts: Sequence[str], tokenizer: str, base: TermCounts | None = None
    ) -> TermCounts:
        """Counts of ``texts`` stacked under ``base``'s rows, its vocabulary extended."""
        vocab = list(base.vocab) if base else []
        ids_of = {token: i for i, token in enumerate(vocab)}
        # Typed arrays, not lists: 1M passages hold ~200M (token, count) pairs, 6 bytes
        # each here against ~16 in two lists of Python ints (counts are 16-bit: a token
        # repeats far fewer than 65,536 times in a passage; 32-bit from a passage where it
        # does not). A repeated passage (boilerplate, wire copies) is tokenised once and
        # its counts copied.
        ids, counts, lengths = array("i"), array("H"), array("q")
        first_row: dict[str, int] = {}
        starts = array("q")
        few = len(texts) <= FEW_TEXTS
        for text in texts:
            row = first_row.get(text)
            starts.append(len(ids))
            if row is not None:
                start, length = starts[row], lengths[row]
                ids.extend(ids[start : start + length])
                counts.extend(counts[start : start + length])
                lengths.append(length)
                continue
            first_row[text] = len(lengths)
            counted: dict[int, int] = {}
            for token in tokenize(text, tokenizer, query=few):
                tid = ids_of.get(token)
                if tid is None:
                    tid = ids_of[token] = len(vocab)
                    vocab.append(token)
                counted[tid] = counted.get(tid, 0) + 1
            ids.extend(counted)
            if counts.typecode == "H" and counted and max(counted.values()) > 0xFFFF:
                counts = array("i", counts)
            counts.extend(counted.values())
            lengths.append(len(counted))
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        if len(lengths):
            np.cumsum(np.frombuffer(lengths, dtype=np.int64), out=indptr[1:])
        new = cls(tuple(vocab), indptr, _numbers(ids), _numbers(counts))
        return new if base is None else base.stacked(new)

    def stacked(self, below: TermCounts) -> TermCounts:
        """These rows followed by ``below``'s, whose vocabulary extends this one's."""
        return TermCounts(
            below.vocab,
            np.concatenate([self.indptr, self.indptr[-1] + below.indptr[1:]]),
            np.concatenate([self.ids, below.ids]),
            np.concatenate([self.counts, below.counts]),
        )

    def take(self, rows: Sequence[int] | np.ndarray) -> TermCounts:
        """The counts of ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == self.rows and np.array_equal(rows, np.arange(self.rows)):
            return self  # every row in place: what an update that only adds takes
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        # position j of the result reads starts[row of j] + (j - indptr[row of j])
        picks = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        ids = self.ids[picks]
        used = np.bincount(ids, minlength=len(self.vocab)) > 0
        if used.all():
            return TermCounts(self.vocab, indptr, ids, self.counts[picks])
        # tokens only the dropped rows had leave the vocabulary, as in a rebuild
        new_id = np.cumsum(used, dtype=np.int32) - 1
        vocab = tuple(t for t, keep in zip(self.vocab, used, strict=True) if keep)
        return TermCounts(vocab, indptr, new_id[ids], self.counts[picks])

    def save(self, folder: Path) -> None:
        """Write the counts beside a score matrix saved from them (which has the vocabulary)."""
        for name in _TERMS:
            np.save(folder / f"terms.{name}.npy", getattr(self, name))

    @classmethod
    def load(cls, directory: Path) -> TermCounts | None:
        """The counts stored in a version, or None for a version written without them."""
        arrays = term_arrays(directory)
        if arrays is None:
            return None
        ids_of = json.loads((directory / SPARSE_DIR / _VOCAB).read_text(encoding="utf-8"))
        vocab = [""] * len(ids_of)
        for token, tid in ids_of.items():
            vocab[tid] = token
        indptr, ids, counts = (np.asarray(a) for a in arrays)
        return cls(tuple(vocab), indptr, ids, counts)

    def concatenated(self, below: TermCounts) -> TermCounts:
        """These rows followed by ``below``'s, its token ids mapped into this vocabulary
        (extended with the tokens only ``below`` has)."""
        vocab = list(self.vocab)
        ids_of = {token: i for i, token in enumerate(vocab)}
        mapping = np.empty(len(below.vocab), dtype=np.int32)
        for i, token in enumerate(below.vocab):
            tid = ids_of.get(token)
            if tid is None:
                tid = ids_of[token] = len(vocab)
                vocab.append(token)
            mapping[i] = tid
        moved = TermCounts(tuple(vocab), below.indptr, mapping[below.ids], below.counts)
        return TermCounts(tuple(vocab), self.indptr, self.ids, self.counts).stacked(moved)


def term_arrays(directory: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A version's stored (indptr, ids, counts), memory-mapped (no vocabulary), or None."""
    folder = directory / SPARSE_DIR
    if not (folder / "terms.counts.npy").exists():
        return None
    indptr, ids, counts = (np.load(folder / f"terms.{n}.npy", mmap_mode="r") for n in _TERMS)
    return indptr, ids, counts


def average_length(terms: TermCounts) -> float:
    """The passages' average length in tokens (BM25's length normalisation)."""
    return _mean_length(terms.counts, terms.rows)


def stored_average_length(directory: Path) -> float:
    """``average_length`` of the token counts a version stored (1.0 without any)."""
    arrays = term_arrays(directory)
    return 1.0 if arrays is None else _mean_length(arrays[2], len(arrays[0]) - 1)


def _mean_length(counts: np.ndarray, rows: int) -> float:
    return float(np.sum(counts, dtype=np.int64)) / rows if rows else 1.0


def _numbers(values: array[int]) -> np.ndarray:
    """The typed array's numbers as a numpy array of the same type, without a copy."""
    dtype = np.uint16 if values.typecode == "H" else np.int32
    return np.frombuffer(values, dtype=dtype) if len(values) else np.zeros(0, dtype)


def bm25_matrix(
    terms: TermCounts, block_pairs: int = BLOCK_PAIRS, average: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The BM25 score of every (row, token) pair as CSC arrays (data, row indices, indptr).

    Lucene's BM25 as bm25s computes it: idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
    tf part = tf / (tf + k1 * (1 - b + b * length / average length)).

    Rows are scored a block of ``block_pairs`` pairs at a time and scattered into the
    preallocated columns (a counting sort: rows stay ascending within a column), so
    the memory beyond the result and the counts is one block's, whatever the archive's
    size: 1M passages hold ~100-200M pairs. ``average`` replaces the passages' own
    average length (a delta segment is normalised as its base is).
    """
    n, vocab = terms.rows, len(terms.vocab)
    nnz = len(terms.ids)
    per_row = np.diff(terms.indptr)
    lengths = np.zeros(n, dtype=np.int64)
    df = np.zeros(vocab, dtype=np.int64)
    for r0, r1 in _row_blocks(terms.indptr, max(block_pairs, COUNT_BLOCK_PAIRS)):
        p0, p1 = int(terms.indptr[r0]), int(terms.indptr[r1])
        # integer sums: the same counts give the same floats whatever the row order
        running = np.concatenate([[0], np.cumsum(terms.counts[p0:p1], dtype=np.int64)])
        lengths[r0:r1] = (
            running[terms.indptr[r0 + 1 : r1 + 1] - p0] - running[terms.indptr[r0:r1] - p0]
        )
        df += np.bincount(terms.ids[p0:p1], minlength=vocab)
    if average is None:
        average = float(lengths.sum()) / n if n else 1.0
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
    norm = (K1 * ((1 - B) + B * lengths / (average or 1.0))).astype(np.float32)
    indptr = np.concatenate([[0], np.cumsum(df, dtype=np.int64)])
    data = np.empty(nnz, dtype=np.float32)
    rows = np.empty(nnz, dtype=np.int32)
    cursor = indptr[:-1].copy()  # where each column's next entry goes
    for r0, r1 in _row_blocks(terms.indptr, block_pairs):
        p0, p1 = int(terms.indptr[r0]), int(terms.indptr[r1])
        ids = terms.ids[p0:p1]
        order = _stable_order(ids, vocab)
        sorted_ids = ids[order]
        # each entry's rank among the block's entries of its column (O(block), not O(vocab))
        position = np.arange(p1 - p0)
        starts = np.flatnonzero(np.diff(sorted_ids, prepend=-1))
        group_start = np.repeat(starts, np.diff(np.append(starts, p1 - p0)))
        at = cursor[sorted_ids] + (position - group_start)
        block_rows = np.repeat(np.arange(r0, r1, dtype=np.int32), per_row[r0:r1])[order]
        tf = terms.counts[p0:p1][order].astype(np.float32)
        data[at] = idf[sorted_ids] * (tf / (norm[block_rows] + tf))
        rows[at] = block_rows
        cursor[sorted_ids[starts]] += np.diff(np.append(starts, p1 - p0))
    return data, rows, indptr


def _row_blocks(indptr: np.ndarray, block_pairs: int) -> Iterator[tuple[int, int]]:
    """Consecutive row ranges holding about ``block_pairs`` pairs each (at least one row)."""
    n = len(indptr) - 1
    start = 0
    while start < n:
        end = int(np.searchsorted(indptr, indptr[start] + block_pairs, side="right")) - 1
        end = min(n, max(end, start + 1))
        yield start, end
        start = end


def _stable_order(ids: np.ndarray, bound: int) -> np.ndarray:
    """``np.argsort(ids, kind="stable")`` for ids below ``bound``: numpy radix-sorts
    16-bit keys in linear time, so ids are sorted by their low half, then their high half
    (4M ids: ~0.08 s instead of ~0.3 s)."""
    if bound <= 1 << 16:
        return np.argsort(ids.astype(np.uint16), kind="stable")
    order = np.argsort((ids & 0xFFFF).astype(np.uint16), kind="stable")
    high = (ids >> 16).astype(np.uint16)
    return order[np.argsort(high[order], kind="stable")]


@dataclass(frozen=True)
class Column:
    """One token's column of a score matrix: its id, document frequency, and the rows
    holding it with their scores."""

    id: int
    df: int
    rows: np.ndarray
    scores: np.ndarray


class KeywordIndex:
    """BM25 scores for every passage row; rows line up with the dense index.

    The precomputed scores are a CSC matrix (one column per token): a query's score
    for a row is the sum of its tokens' columns.
    """

    def __init__(
        self,
        tokenizer: str,
        size: int,
        vocab: Mapping[str, int],
        matrix: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        terms: TermCounts | None = None,
        average: float | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.size = size
        self.vocab = vocab
        self.matrix = matrix
        self.terms = terms  # only for an index built in this process
        self.average = average  # the length normalisation's average (built here only)

    @classmethod
    def build(cls, texts: Sequence[str], tokenizer: str) -> KeywordIndex:
        return cls.from_terms(TermCounts.from_texts(texts, tokenizer), tokenizer)

    @classmethod
    def from_terms(
        cls, terms: TermCounts, tokenizer: str, average: float | None = None
    ) -> KeywordIndex:
        """The index of ``terms``; ``average`` overrides their own average length."""
        average = average_length(terms) if average is None else average
        if not terms.rows:
            return cls(tokenizer, 0, {}, None, terms, average)
        vocab = {token: i for i, token in enumerate(terms.vocab)}
        matrix = bm25_matrix(terms, average=average)
        return cls(tokenizer, terms.rows, vocab, matrix, terms, average)

    def save(self, directory: Path) -> None:
        if not self.size or self.matrix is None or self.terms is None:
            return
        folder = directory / SPARSE_DIR
        folder.mkdir()
        for name, values in zip(_ARRAYS, self.matrix, strict=True):
            np.save(folder / f"{name}.csc.index.npy", values)
        (folder / _VOCAB).write_text(json.dumps(self.vocab, ensure_ascii=False), "utf-8")
        VocabularyTable.write(folder / _VOCAB_TABLE, self.vocab)
        self.terms.save(folder)

    @classmethod
    def load(cls, directory: Path, tokenizer: str, size: int, mmap: bool = False) -> KeywordIndex:
        if size == 0:
            return cls(tokenizer, 0, {}, None)
        folder = directory / SPARSE_DIR
        if (folder / _NONOCCURRENCE).exists():
            raise ValueError(
                f"{folder}: BM25 variants with non-occurrence scores are not supported"
            )
        mode: Literal["r"] | None = "r" if mmap else None
        data, indices, indptr = (
            np.load(folder / f"{name}.csc.index.npy", mmap_mode=mode) for name in _ARRAYS
        )
        vocab: Mapping[str, int]
        if (folder / _VOCAB_TABLE).exists():
            vocab = VocabularyTable(folder / _VOCAB_TABLE)
        else:  # a version written before the table
            vocab = json.loads((folder / _VOCAB).read_text(encoding="utf-8"))
        if not len(indptr) or len(indptr) > len(vocab) + 1:
            raise ValueError(f"{folder}: vocabulary and score matrix disagree")
        return cls(tokenizer, size, vocab, (data, indices, indptr))

    def column(self, token: str) -> Column | None:
        """The token's column of the score matrix; None if the index does not know it."""
        if self.matrix is None:
            return None
        data, indices, indptr = self.matrix
        column = self.vocab.get(token)
        # bm25s gives its empty-document placeholder a vocabulary id but no column
        if column is None or column + 1 >= len(indptr):
            return None
        start, end = int(indptr[column]), int(indptr[column + 1])
        return Column(column, end - start, indices[start:end], data[start:end])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for ``query`` (zeros when no query token is known)."""
        scores = np.zeros(self.size, dtype=np.float32)
        # a repeated query token counts once per occurrence, as in bm25s
        for token in tokenize_query(query, self.tokenizer):
            found = self.column(token)
            if found is not None:
                scores[found.rows] += found.scores
        return scores

    def term_weights(self, query: str) -> dict[str, float]:
        """BM25's idf of each distinct query token the index knows, keyed by the normalised
        text it stands for (a word and the same bigram keep the larger weight)."""
        weights: dict[str, float] = {}
        for token in tokenize_query(query, self.tokenizer):
            found = self.column(token)
            if found is not None:
                text = token_text(token)
                weights[text] = max(weights.get(text, 0.0), idf(self.size, found.df))
        return weights

    def search(
        self, query: str, k: int, allowed_rows: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the top ``k`` rows with a positive score, inside ``allowed_rows``."""
        return top_scores(self.scores(query), k, allowed_rows)


class VocabularyTable(Mapping[str, int]):
    """A saved vocabulary (token -> column), read from SQLite a token at a time."""

    def __init__(self, path: Path) -> None:
        # immutable: versions never change once published (and may be unlinked later)
        self._conn = sqlite3.connect(
            f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        self._size = int(self._query("SELECT n FROM size")[0][0])

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    @staticmethod
    def write(path: Path, vocab: Mapping[str, int]) -> None:
        conn = sqlite3.connect(path)
        try:
            conn.execute("CREATE TABLE vocab (token BLOB PRIMARY KEY, id INTEGER) WITHOUT ROWID")
            conn.execute("CREATE TABLE size (n INTEGER NOT NULL)")
            # bytes: a token with a lone surrogate (an undecodable byte) is stored as well
            conn.executemany(
                "INSERT INTO vocab VALUES (?, ?)",
                ((token.encode("utf-8", "surrogatepass"), i) for token, i in vocab.items()),
            )
            conn.execute("INSERT INTO size VALUES (?)", (len(vocab),))
            conn.commit()
        finally:
            conn.close()

    def __getitem__(self, token: str) -> int:
        key = token.encode("utf-8", "surrogatepass")
        found = self._query("SELECT id FROM vocab WHERE token = ?", (key,))
        if not found:
            raise KeyError(token)
        return int(found[0][0])

    def __iter__(self) -> Iterator[str]:
        rows = self._query("SELECT token FROM vocab ORDER BY id")
        return (bytes(row[0]).decode("utf-8", "surrogatepass") for row in rows)

    def __len__(self) -> int:
        return self._size


def idf(passages: int, df: int) -> float:
    """Lucene's BM25 idf of a token in ``df`` of ``passages`` passages."""
    return math.log(1 + (passages - df + 0.5) / (df + 0.5))


def top_scores(
    scores: np.ndarray, k: int, allowed_rows: Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the top ``k`` positive ``scores`` inside ``allowed_rows``, best
    first (ties by row)."""
    if allowed_rows is not None:
        masked = np.zeros_like(scores)
        idx = np.asarray(allowed_rows, dtype=np.int64)
        masked[idx] = scores[idx]
        scores = masked
    candidates = np.flatnonzero(scores > 0)
    k = min(k, len(candidates))
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    found = scores[candidates]
    top = np.argpartition(-found, k - 1)[:k]
    top = top[np.lexsort((candidates[top], -found[top]))]
    return found[top], candidates[top].astype(np.int64)
